/**
 * No false success for chunked snapshots: a chunked backup (the real directory engine, age, zstd
 * chunks, file storage behind the faulty-storage fake) that fails — a pack upload dying half-way,
 * the manifest refused, the run interrupted — is recorded as failed in one line, leaves no
 * manifest and none of the packs it wrote, and leaves the chain before it whole and restorable.
 * Also: a prune that removed a pack a running incremental reuses fails that incremental
 * instead of letting it reference what is gone.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupDependencies } from '../../core/usecases/backup.js';
import { runVerify } from '../../core/usecases/verify.js';
import { listBackupKeys } from '../../core/usecases/locate-backup.js';
import { AgeDecryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { AgeRandomAccessDecryptor } from '../../core/adapters/encryption/age-random-access.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import type { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';
import { FaultyStorageBackend } from '../fakes/faulty-storage.js';
import { testSigning } from '../support/signing.js';
import { chunkedDirectoryBackupDeps } from '../support/chunked-fixtures.js';
import { requireTools } from '../support/requirements.js';

const MiB = 1024 * 1024;

describe('chunked backups that fail leave nothing and break nothing (faulty storage fake over file storage)', () => {
  const tools = requireTools('tar', 'zstd');
  if (!tools) return;
  let dir = '';
  let source = '';
  const key = generateX25519Identity();
  const signing = testSigning();
  const { trust } = signing;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-chunked-fail-'));
    source = join(dir, 'source');
    await mkdir(source);
    // ~24 MiB that does not compress: a chunked full of it is one pack of that size.
    for (let i = 0; i < 12; i++) await writeFile(join(source, `part-${i}.bin`), randomBytes(2 * MiB));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const depsFor = (storage: FileStorageBackend | FaultyStorageBackend, name: string): Promise<BackupDependencies> =>
    chunkedDirectoryBackupDeps({ storage, catalogDir: join(dir, `catalog-${name}`), recipient: key.recipient, signing });
  const packsIn = async (store: string) => (await readdir(join(store, 'job', 'shared')).catch(() => [] as string[])).sort();
  const verify = (storage: FileStorageBackend, catalog: LocalCatalog, runId: string) =>
    runVerify(
      { storage, catalog, decryptor: new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]), randomAccess: new AgeRandomAccessDecryptor([{ kind: 'x25519', identity: key.identity }]), trust, ...backupAdapters },
      { ref: runId, job: 'job' },
      { record: false },
    );

  /** A chunked full that succeeded, in a fresh store: the chain the failing run builds on. */
  const withFull = async (name: string) => {
    const store = join(dir, name);
    const files = new FileStorageBackend(store);
    const deps = await depsFor(files, name);
    const full = await runBackup(deps, { source: `dir:${source}`, job: 'job', chunked: true });
    expect(full.error).toBeUndefined();
    // The next run must store new chunks: change a file.
    await writeFile(join(source, 'part-0.bin'), randomBytes(2 * MiB));
    return { store, files, deps, full, packs: await packsIn(store) };
  };

  it('a pack upload dying half-way: failed run, no manifest, no new pack, the full still verifies', async () => {
    const { store, files, deps, full, packs } = await withFull('pack-fails');
    const faulty = new FaultyStorageBackend(files).failPutAfterBytes(1 * MiB, { keys: (k) => k.includes('/shared/pack-') });
    const result = await runBackup({ ...deps, storage: faulty }, { source: `dir:${source}`, job: 'job', type: 'incremental' });
    expect(result.run.status).toBe('failed');
    expect(result.run.error?.message).not.toContain('\n');
    expect(await packsIn(store)).toEqual(packs);
    expect((await listBackupKeys(files, 'job')).map((b) => b.runId)).toEqual([full.run.runId]);
    await verify(files, deps.catalog as LocalCatalog, full.run.runId);
  }, 120_000);

  it('the manifest refused: failed run, its new packs removed again', async () => {
    const { store, files, deps, full, packs } = await withFull('manifest-fails');
    const faulty = new FaultyStorageBackend(files).failPutOfKey((k) => k.endsWith('/manifest.json'));
    const result = await runBackup({ ...deps, storage: faulty }, { source: `dir:${source}`, job: 'job', type: 'incremental' });
    expect(result.run.status).toBe('failed');
    expect(await packsIn(store)).toEqual(packs);
    expect((await listBackupKeys(files, 'job')).map((b) => b.runId)).toEqual([full.run.runId]);
  }, 120_000);

  it('interrupted: recorded as interrupted, nothing of it left', async () => {
    const { store, files, deps, packs } = await withFull('interrupted');
    const controller = new AbortController();
    // Interrupted the moment its first new pack starts uploading: mid-run, whatever the machine's pace.
    const interrupting: FileStorageBackend = Object.assign(Object.create(files) as FileStorageBackend, {
      put(key: string, body: Readable, options?: { signal?: AbortSignal }) {
        if (key.includes('/shared/pack-')) controller.abort();
        return files.put(key, body, options);
      },
    });
    const result = await runBackup({ ...deps, storage: interrupting }, { source: `dir:${source}`, job: 'job', type: 'incremental', signal: controller.signal });
    expect(result.run.status).toBe('failed');
    expect(result.run.error?.kind).toBe('aborted');
    expect(await packsIn(store), `left after ${result.run.error?.message}`).toEqual(packs);
    expect(await listBackupKeys(files, 'job')).toHaveLength(1);
  }, 120_000);

  it('a pack it reuses removed while it runs (a racing prune): the incremental fails and says why', async () => {
    const { store, files, deps, packs } = await withFull('raced');
    // The listing the final check makes no longer shows the full's first pack.
    const faulty = new FaultyStorageBackend(files);
    const hidden = new Set([`job/shared/${packs[0]}`]);
    const racing: FileStorageBackend = Object.assign(Object.create(faulty) as FileStorageBackend, {
      async *list(prefix: string, options?: { signal?: AbortSignal }) {
        for await (const object of faulty.list(prefix, options)) if (!hidden.has(object.key)) yield object;
      },
    });
    const result = await runBackup({ ...deps, storage: racing }, { source: `dir:${source}`, job: 'job', type: 'incremental' });
    expect(result.run.status).toBe('failed');
    expect(result.run.error?.message).toMatch(/reuses from run .* is missing .* run the backup again/);
    expect(await listBackupKeys(files, 'job')).toHaveLength(1);
    expect(await packsIn(store)).toEqual(packs);
  }, 120_000);
});
