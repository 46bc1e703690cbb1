/**
 * One backup to several destinations from one dump (`--to` repeated): every destination gets
 * the same bytes and its own manifest, or — when any destination fails — none keeps anything
 * of the run, and earlier backups stay as they were.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { NoEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { SqliteEngine } from '../../core/adapters/engines/sqlite/sqlite-engine.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { runBackup, type BackupDependencies } from '../../core/usecases/backup.js';
import { FaultyStorageBackend } from '../fakes/faulty-storage.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';
import { runVaultra } from '../support/cli.js';
import type { BackupJson } from '../support/cli-json.js';
import { requireTools } from '../support/requirements.js';
import { createSqliteFixture, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { makeWorkspace } from '../support/workspace.js';
import { hashTree } from '../support/file-tree.js';
import { testSigning } from '../support/signing.js';

describe('one backup, several destinations', () => {
  const tools = requireTools('sqlite3', 'zstd');
  if (!tools) return;
  let root = '';
  let source = '';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-fan-out-'));
    source = join(root, 'app.db');
    await createSqliteFixture(source);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const deps = async (storage: BackupDependencies['storage'], alsoTo: BackupDependencies['alsoTo']): Promise<BackupDependencies> => ({
    engine: new SqliteEngine(),
    storage,
    alsoTo,
    compressor: await createCompressor('zstd'),
    encryptor: new NoEncryptor(),
    signer: testSigning().signer,
    catalog: new LocalCatalog(mkdtempSync(join(root, 'catalog-'))),
  });

  it('through the CLI: both folders hold the same data object and manifest, and each restores', async () => {
    const ws = makeWorkspace(root, 'cli');
    const second = join(ws.dir, 'second');
    const taken = await runVaultra(['backup', `sqlite:${source}`, '--to', ws.storeUrl, '--to', `file://${second}`, '--json'], { env: ws.env });
    expect(taken.code, taken.stderr).toBe(0);
    const run = JSON.parse(taken.stdout) as BackupJson;
    const first = fileURLToPath(run.location);
    const copy = join(second, first.slice(fileURLToPath(ws.storeUrl).length));
    expect(await hashTree(copy)).toEqual(await hashTree(first));
    expect(readFileSync(join(copy, 'manifest.json'), 'utf8')).toBe(readFileSync(join(first, 'manifest.json'), 'utf8'));

    for (const from of [ws.storeUrl, `file://${second}`]) {
      const target = join(ws.dir, `restored-${from === ws.storeUrl ? 'a' : 'b'}.db`);
      const restored = await runVaultra(['restore', run.runId, '--from', from, '--target', `sqlite:${target}`], { env: ws.env });
      expect(restored.code, restored.stderr).toBe(0);
      expect(await sqliteFingerprints(target)).toEqual(await sqliteFingerprints(source));
    }
  });

  it('the same destination twice is a usage error (exit 2) before anything runs', async () => {
    const ws = makeWorkspace(root, 'twice');
    const result = await runVaultra(['backup', `sqlite:${source}`, '--to', ws.storeUrl, '--to', ws.storeUrl], { env: ws.env });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/the same destination is named twice/);
  });

  it('a destination failing mid-upload fails the run and leaves nothing of it anywhere; earlier backups stay', async () => {
    const healthy = new MemoryStorageBackend('healthy');
    const flaky = new FaultyStorageBackend(new MemoryStorageBackend('flaky'));
    const earlier = await runBackup(await deps(healthy, [flaky]), { source: `sqlite:${source}`, job: 'app' });
    expect(earlier.run.status, String(earlier.error)).toBe('succeeded');
    const before = { healthy: healthy.keys(), flaky: flaky.inner instanceof MemoryStorageBackend ? flaky.inner.keys() : [] };
    expect(before.healthy).toEqual(before.flaky);

    flaky.failPutAfterBytes(64 * 1024, { keys: (key) => key.includes('/data.') });
    const failed = await runBackup(await deps(healthy, [flaky]), { source: `sqlite:${source}`, job: 'app' });
    expect(failed.run.status).toBe('failed');
    expect(failed.run.error?.kind).toBe('storage');
    expect(healthy.keys()).toEqual(before.healthy);
    expect((flaky.inner as MemoryStorageBackend).keys()).toEqual(before.flaky);
  });

  it('a manifest failing in one destination removes the run from the others too', async () => {
    const healthy = new MemoryStorageBackend('healthy');
    const flaky = new FaultyStorageBackend(new MemoryStorageBackend('flaky')).failPutOfKey((key) => key.endsWith('/manifest.json'));
    const failed = await runBackup(await deps(flaky, [healthy]), { source: `sqlite:${source}`, job: 'app' });
    expect(failed.run.status).toBe('failed');
    expect(failed.run.error?.kind).toBe('storage');
    // The healthy destination had the data and its manifest; both are gone again.
    expect(healthy.keys()).toEqual([]);
    expect((flaky.inner as MemoryStorageBackend).keys()).toEqual([]);
  });
});
