import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { environmentOf, jobOf, parseConfig } from '../../core/config/load-config.js';
import { readYaml } from '../../core/config/read-yaml.js';
import { jobProvenance, layeredSetting } from '../../core/config/config-provenance.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const TEXT = readFileSync('vaultra.config.yaml', 'utf8');
const RAW = readYaml(TEXT, 'vaultra.config.yaml') as { environments: Record<string, unknown> };

describe('config provenance', () => {
  it('a job field replaces the whole default object: its missing leaves are built-in defaults, not the defaults’', () => {
    // Prepare: example's defaults give compression { id: zstd, level: 3 }; the job gives its own compression
    const text = TEXT.replace('        rpo: 26h\n      billing-mariadb:', '        rpo: 26h\n        compression: { id: gzip }\n      billing-mariadb:');
    const raw = readYaml(text, 'vaultra.config.yaml') as { environments: Record<string, unknown> };
    const job = jobOf(environmentOf(parseConfig(text), 'example'), 'shop-postgres');

    // Act
    const { fields } = jobProvenance(job, raw.environments.example, NOW);

    // Assess
    const byField = Object.fromEntries(fields.map((f) => [f.field, [f.value, f.source]]));
    expect(byField['compression.id']).toEqual(['gzip', 'job']);
    expect(byField['compression.level']).toBeUndefined(); // not inherited: the merge is per top-level field
    expect(byField.timeout).toEqual(['2h', 'defaults']);
  });

  it('an rpo left out is computed from the schedule measured from the given time', () => {
    // Prepare: every six hours in UTC, 2h timeout from defaults
    const job = jobOf(environmentOf(parseConfig(TEXT), 'example'), 'billing-mariadb');

    // Act
    const { fields } = jobProvenance(job, RAW.environments.example, NOW);

    // Assess
    expect(fields.find((f) => f.field === 'rpo')).toEqual({ field: 'rpo', value: '8h (longest gap 6h + timeout 2h)', source: 'computed' });
    expect(fields.find((f) => f.field === 'runtime.cpu')).toEqual({ field: 'runtime.cpu', value: '2048', source: 'job' });
  });

  it('a layered setting is the first layer that gives a value: CLI > VAULTRA_* > file > default', () => {
    // Act
    const fromFile = layeredSetting('storage', [
      { source: 'env', name: 'VAULTRA_STORAGE', value: undefined },
      { source: 'file', name: 'storage.url', value: 'file:///data' },
      { source: 'default', name: 'default', value: 'file://./vaultra-backups' },
    ]);
    const unset = layeredSetting('catalog', [{ source: 'env', name: 'VAULTRA_CATALOG', value: '' }]);

    // Assess
    expect(fromFile).toMatchObject({ value: 'file:///data', source: 'file' });
    expect(fromFile.layers.map((l) => l.source)).toEqual(['file', 'default']);
    expect(unset).toEqual({ setting: 'catalog', value: undefined, source: 'unset', layers: [] });
  });
});
