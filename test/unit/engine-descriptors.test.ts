import { describe, expect, it } from 'vitest';
import { CONTENT_KINDS, ENGINE_DESCRIPTORS, ENGINE_IDS, engineIdForUrl, schemeForSecretEngine } from '../../core/adapters/engines/engine-descriptors.js';
import { engineById } from '../../core/adapters/engines/engines.js';
import { manifestSchema } from '../../core/domain/manifest.js';

describe('engine descriptors', () => {
  it('saved values never change: the engine ids and content kinds manifests already hold are all still there', () => {
    // Manifests written before the descriptors existed hold exactly these; only additions are allowed.
    expect(ENGINE_IDS).toEqual(expect.arrayContaining(['postgres', 'sqlite', 'mysql', 'mongodb', 'directory']));
    expect(CONTENT_KINDS).toEqual(expect.arrayContaining(['table', 'view', 'materialized-view', 'sequence', 'collection', 'routine', 'event', 'directory', 'file', 'symlink']));
    expect(manifestSchema.shape.source.shape.engine.options).toEqual(ENGINE_IDS);
  });

  it('every engine carries its own descriptor, under its id', () => {
    for (const descriptor of ENGINE_DESCRIPTORS) {
      const engine = engineById(descriptor.id);
      expect(engine.descriptor).toBe(descriptor);
      expect(engine.id).toBe(descriptor.id);
    }
  });

  it('no scheme belongs to two engines, and each picks its engine', () => {
    const schemes = ENGINE_DESCRIPTORS.flatMap((d) => d.schemes);
    expect(new Set(schemes).size).toBe(schemes.length);
    for (const d of ENGINE_DESCRIPTORS) for (const scheme of d.schemes) expect(engineIdForUrl(`${scheme.toUpperCase()}:x`)).toBe(d.id);
    expect(() => engineIdForUrl('oracle://h/db')).toThrow(/unsupported database URL scheme "oracle:" \(supported: postgres:\/\/…\/db, /);
  });

  it('RDS secret engine names map to URL schemes, prefixes included', () => {
    expect(schemeForSecretEngine('aurora-postgresql')).toBe('postgres');
    expect(schemeForSecretEngine('Aurora-MySQL')).toBe('mysql');
    expect(schemeForSecretEngine('mariadb')).toBe('mariadb');
    expect(schemeForSecretEngine('docdb')).toBe('mongodb');
    expect(schemeForSecretEngine('oracle-ee')).toBeUndefined();
  });
});
