/**
 * A chunked snapshot extends the lock of every pack it reuses (core/usecases/chunked-snapshot.ts,
 * docs/chunked-snapshots.md "Retention and deletion"): the real directory engine, age, zstd chunks,
 * and file storage given the `extendRetention` capability by a subclass that records each call
 * (or refuses one). A refusal fails the run in one line naming the pack, and leaves no manifest.
 * The S3 implementation itself is tested on moto (s3-extend-retention.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupDependencies } from '../../core/usecases/backup.js';
import { listBackupKeys } from '../../core/usecases/locate-backup.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import type { IoOptions, RetentionExtender } from '../../core/ports/storage-backend.js';
import { StorageError } from '../../core/errors.js';
import { testSigning } from '../support/signing.js';
import { chunkedDirectoryBackupDeps } from '../support/chunked-fixtures.js';
import { requireTools } from '../support/requirements.js';

/** File storage that "locks": it records which keys had their lock extended, and may refuse one. */
class LockingFileStorage extends FileStorageBackend implements RetentionExtender {
  readonly extended: string[] = [];
  refuse?: (key: string) => boolean;

  extendRetention(key: string, _options?: IoOptions): Promise<void> {
    if (this.refuse?.(key)) return Promise.reject(new StorageError(`extending the Object Lock of ${this.location}/${key} failed: AccessDenied (HTTP 403)`, false));
    this.extended.push(key);
    return Promise.resolve();
  }
}

describe('a chunked snapshot extends the lock of the packs it reuses', () => {
  const tools = requireTools('tar', 'zstd');
  if (!tools) return;
  let dir = '';
  let source = '';
  const key = generateX25519Identity();
  const signing = testSigning();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-reused-lock-'));
    source = join(dir, 'source');
    await mkdir(source);
    for (let i = 0; i < 4; i++) await writeFile(join(source, `part-${i}.bin`), randomBytes(1024 * 1024));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const depsFor = (storage: LockingFileStorage, name: string): Promise<BackupDependencies> =>
    chunkedDirectoryBackupDeps({ storage, catalogDir: join(dir, `catalog-${name}`), recipient: key.recipient, signing });
  const packKeys = async (storage: LockingFileStorage) => {
    const keys: string[] = [];
    for await (const object of storage.list('job/shared/')) keys.push(object.key);
    return keys.sort();
  };

  it('a full extends nothing; an incremental extends each pack it reuses, once', async () => {
    const storage = new LockingFileStorage(join(dir, 'extends'));
    const deps = await depsFor(storage, 'extends');
    const full = await runBackup(deps, { source: `dir:${source}`, job: 'job', chunked: true });
    expect(full.run.status).toBe('succeeded');
    expect(storage.extended).toEqual([]);
    const fullPacks = await packKeys(storage);

    const incremental = await runBackup(deps, { source: `dir:${source}`, job: 'job', type: 'incremental' });
    expect(incremental.run.status).toBe('succeeded');
    // Nothing changed: every pack of the full is reused, and none is new.
    expect(await packKeys(storage)).toEqual(fullPacks);
    expect(storage.extended.sort()).toEqual(fullPacks);
  });

  it('a refused extension fails the run in one line naming the pack, and leaves no manifest', async () => {
    const storage = new LockingFileStorage(join(dir, 'refuses'));
    const deps = await depsFor(storage, 'refuses');
    const full = await runBackup(deps, { source: `dir:${source}`, job: 'job', chunked: true });
    expect(full.run.status).toBe('succeeded');
    const [refused] = await packKeys(storage);
    storage.refuse = (k) => k === refused;

    const incremental = await runBackup(deps, { source: `dir:${source}`, job: 'job', type: 'incremental' });
    expect(incremental.run.status).toBe('failed');
    const message = incremental.run.error?.message ?? '';
    expect(message).not.toContain('\n');
    expect(message).toContain(refused!.slice('job/shared/'.length));
    expect(message).toMatch(/could not extend the lock of pack .* run the backup again/);
    expect((await listBackupKeys(storage, 'job')).map((b) => b.runId)).toEqual([full.run.runId]);
  });
});
