/**
 * `vaultra backup --spec <json>`: how a launched runner receives its run as data, checked by the
 * schema every spec passes. Through the built CLI, with SQLite and the local catalog beside the
 * backups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { runVaultra } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';
import { createSqliteFixture } from '../support/sqlite-fixtures.js';
import { makeWorkspace } from '../support/workspace.js';

describe('backup --spec (CLI)', () => {
  const tools = requireTools('sqlite3', 'zstd');
  if (!tools) return;

  let root = '';
  let database = '';
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-spec-'));
    database = join(root, 'app.db');
    await createSqliteFixture(database);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs the spec a scheduler launched: claims its pending run, with the spec\'s compression and source reference', async () => {
    const ws = makeWorkspace(root, 'run');
    const catalog = new LocalCatalog(join(ws.store, '.vaultra', 'catalog'));
    const runId = '20261122T020000.000Z-5bec00';
    await catalog.create({ runId, job: 'app', kind: 'backup', status: 'pending', startedAt: '2026-11-22T02:00:00.000Z' });
    const spec = { type: 'full', job: 'app', runId, source: 'env://APP_DB', destinations: [ws.storeUrl], compression: { id: 'gzip', level: 6 }, timeoutMs: 600_000 };

    const result = await runVaultra(['backup', '--spec', JSON.stringify(spec), '--json', '--no-progress'], { env: { ...ws.env, APP_DB: `sqlite:${database}` } });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ runId, job: 'app', status: 'succeeded', engine: 'sqlite', compression: { id: 'gzip' } });
    expect(await catalog.get('app', runId)).toMatchObject({ status: 'succeeded', timeoutMs: 600_000 });
  });

  it('signs with the spec\'s signing key, else with $VAULTRA_SIGNING_KEY as without --spec', async () => {
    const ws = makeWorkspace(root, 'signing');
    const keyFile = (name: string) => join(ws.dir, `${name}.pem`);
    for (const name of ['spec-key', 'env-key']) expect((await runVaultra(['keygen', '--signing-only', '--signing-key-out', keyFile(name)], { env: ws.env })).code).toBe(0);
    const signedBy = async (spec: object, env: NodeJS.ProcessEnv) => {
      const result = await runVaultra(['backup', '--spec', JSON.stringify({ job: 'app', source: `sqlite:${database}`, destinations: [ws.storeUrl], ...spec }), '--json', '--no-progress'], { env: { ...ws.env, ...env } });
      expect(result.code, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as { signedBy: string }).signedBy;
    };
    const byFlag = async (name: string) => {
      const result = await runVaultra(['backup', `sqlite:${database}`, '--to', ws.storeUrl, '--signing-key', keyFile(name), '--json', '--no-progress'], { env: ws.env });
      return (JSON.parse(result.stdout) as { signedBy: string }).signedBy;
    };

    expect(await signedBy({ signingKey: keyFile('spec-key') }, { VAULTRA_SIGNING_KEY: keyFile('env-key') })).toBe(await byFlag('spec-key'));
    expect(await signedBy({}, { VAULTRA_SIGNING_KEY: keyFile('env-key') })).toBe(await byFlag('env-key'));
  });

  it.each([
    ['a field the schema refuses', JSON.stringify({ job: 'app', source: 'sqlite:/x.db', destinations: ['file:///tmp/x'], compression: { id: 'lz4' } }), /^vaultra: error: spec\.compression\.id: .*\(got "lz4"\)$/],
    ['a missing field', JSON.stringify({ job: 'app', destinations: ['file:///tmp/x'] }), /^vaultra: error: spec\.source: /],
    ['text that is not JSON', '{job: app}', /^vaultra: error: --spec: not valid JSON/],
  ])('refuses %s: exit 2, one line naming the field', async (_what, text, message) => {
    const ws = makeWorkspace(root, `bad-${_what.length}`);
    const result = await runVaultra(['backup', '--spec', text], { env: ws.env });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(message);
  });

  it('refuses a source argument or run flags beside --spec (exit 2): the spec describes the whole run', async () => {
    const ws = makeWorkspace(root, 'mixed');
    const spec = JSON.stringify({ job: 'app', source: `sqlite:${database}`, destinations: [ws.storeUrl] });
    const withSource = await runVaultra(['backup', `sqlite:${database}`, '--spec', spec], { env: ws.env });
    expect(withSource.code).toBe(2);
    expect(withSource.stderr.trim()).toBe('vaultra: error: --spec describes the whole run: remove a source argument, or put it in the spec');
    const withFlag = await runVaultra(['backup', '--spec', spec, '--passphrase-env', 'PASS'], { env: ws.env });
    expect(withFlag.code).toBe(2);
    expect(withFlag.stderr.trim()).toBe('vaultra: error: --spec describes the whole run: remove --passphrase-env, or put it in the spec');
    const withNegated = await runVaultra(['backup', '--spec', spec, '--no-encryption'], { env: ws.env });
    expect(withNegated.stderr.trim()).toBe('vaultra: error: --spec describes the whole run: remove --no-encryption, or put it in the spec');
  });
});
