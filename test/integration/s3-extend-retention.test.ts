/**
 * Reused packs keep their Object Lock as long as the newest snapshot using them (issue 14,
 * docs/chunked-snapshots.md "Retention and deletion"), on moto with Object Lock buckets:
 * the S3 adapter's `extendRetention` (moves a lock later, never earlier, never weakens its mode),
 * then a chunked full and an incremental through the built CLI: the incremental moves the lock of
 * the full's pack it reuses to its own date.
 *
 * moto (5.1) applies PutObjectRetention and HEAD shows it to the millisecond, but it also accepts
 * a shorter GOVERNANCE date without the bypass header (S3 refuses): "never earlier" is the
 * adapter's own check, which these tests see because moto would otherwise shorten the lock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3StorageBackend } from '../../core/adapters/storage/s3/s3-storage.js';
import { canExtendRetention } from '../../core/ports/storage-backend.js';
import { runFolder, sharedFolder } from '../../core/domain/object-layout.js';
import { INDEX_OBJECT_NAME } from '../../core/domain/snapshot-format.js';
import { NotFoundError } from '../../core/errors.js';
import { runVaultra } from '../support/cli.js';
import { makeWorkspace } from '../support/workspace.js';
import { requireMoto, requireTools } from '../support/requirements.js';
import { sqliteExec } from '../support/sqlite-fixtures.js';

const DAY_MS = 86_400_000;
const FAST_RETRY = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 40 } as const;

describe('extending the Object Lock of reused packs (moto)', () => {
  const moto = requireMoto();
  if (!moto) return;

  const credentials = { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! };
  const admin = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials });
  let buckets = 0;
  afterAll(() => admin.destroy());

  const lockedBucket = async (): Promise<string> => {
    const bucket = `vt-extend-${process.pid}-${Date.now().toString(36)}-${(buckets++).toString(36)}`;
    await admin.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    return bucket;
  };
  const backend = (bucket: string, query = '') =>
    S3StorageBackend.fromUrl(`s3://${bucket}/vaultra?endpoint=${encodeURIComponent(moto.endpoint)}${query ? `&${query}` : ''}`, { credentials, retry: FAST_RETRY, env: {} });
  /**
   * The lock of the current version of `key`, as HEAD reports it. Not GetObjectRetention: moto
   * (5.1) ignores `?retention` on GET and answers the object's bytes.
   */
  const lockOf = async (bucket: string, key: string) => {
    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { mode: head.ObjectLockMode, until: head.ObjectLockRetainUntilDate?.getTime() ?? 0 };
  };

  describe('S3StorageBackend.extendRetention', () => {
    it('moves a lock to retentionDays from now, and never earlier', async () => {
      const bucket = await lockedBucket();
      const oneDay = backend(bucket, 'retentionDays=1&objectLockMode=GOVERNANCE');
      await oneDay.put('job/shared/pack', Readable.from([Buffer.from('pack bytes')]));
      const written = await lockOf(bucket, 'vaultra/job/shared/pack');

      const before = Date.now();
      const threeDays = backend(bucket, 'retentionDays=3&objectLockMode=GOVERNANCE');
      expect(canExtendRetention(threeDays)).toBe(true);
      await threeDays.extendRetention('job/shared/pack');
      const extended = await lockOf(bucket, 'vaultra/job/shared/pack');
      expect(extended.mode).toBe('GOVERNANCE');
      expect(extended.until).toBeGreaterThanOrEqual(before + 3 * DAY_MS - 1_000);
      expect(extended.until).toBeLessThanOrEqual(Date.now() + 3 * DAY_MS + 1_000);
      expect(extended.until).toBeGreaterThan(written.until + DAY_MS);

      // A store that would lock for less leaves the longer lock as it is.
      await oneDay.extendRetention('job/shared/pack');
      expect(await lockOf(bucket, 'vaultra/job/shared/pack')).toEqual(extended);
      // The content is untouched: one object, the bytes written.
      const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(listed.Contents?.map((object) => object.Key)).toEqual(['vaultra/job/shared/pack']);
    });

    it('keeps a COMPLIANCE lock COMPLIANCE when the store writes GOVERNANCE', async () => {
      const bucket = await lockedBucket();
      await backend(bucket, 'retentionDays=1&objectLockMode=COMPLIANCE').put('pack', Readable.from([Buffer.from('x')]));
      await backend(bucket, 'retentionDays=2&objectLockMode=GOVERNANCE').extendRetention('pack');
      const lock = await lockOf(bucket, 'vaultra/pack');
      expect(lock.mode).toBe('COMPLIANCE');
      expect(lock.until).toBeGreaterThan(Date.now() + DAY_MS + DAY_MS / 2);
    });

    it('locks an object written without a lock (in a locked bucket)', async () => {
      const bucket = await lockedBucket();
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'vaultra/plain', Body: 'x' }));
      await backend(bucket, 'retentionDays=1').extendRetention('plain');
      const lock = await lockOf(bucket, 'vaultra/plain');
      expect(lock.mode).toBe('GOVERNANCE');
      expect(lock.until).toBeGreaterThan(Date.now() + DAY_MS - 60_000);
    });

    it('does nothing without retentionDays, and rejects a missing object with NotFoundError', async () => {
      const bucket = await lockedBucket();
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'vaultra/plain', Body: 'x' }));
      await backend(bucket).extendRetention('plain');
      const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: 'vaultra/plain' }));
      expect(head.ObjectLockRetainUntilDate).toBeUndefined();
      await expect(backend(bucket, 'retentionDays=1').extendRetention('missing')).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('a chunked incremental through the CLI', () => {
    const tools = requireTools('sqlite3', 'zstd');
    if (!tools) return;
    const root = mkdtempSync(join(tmpdir(), 'vaultra-extend-lock-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it("moves the lock of every pack it reuses to its own objects' date", async () => {
      const bucket = await lockedBucket();
      const database = join(root, 'source.db');
      await sqliteExec(database, `CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT); WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 5000) INSERT INTO items SELECT i, hex(randomblob(64)) FROM g;`);
      const ws = makeWorkspace(root, 'cli');
      const env = { ...ws.env, ...moto.env, AWS_ENDPOINT_URL_S3: moto.endpoint, AWS_PROFILE: undefined, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
      const store = (days: number) => `s3://${bucket}/backups?retentionDays=${days}&objectLockMode=GOVERNANCE`;
      const backup = async (days: number, flags: string[]) => {
        const result = await runVaultra(['backup', `sqlite:${database}`, '--to', store(days), '--job', 'locked', '--json', ...flags], { env, timeoutMs: 180_000 });
        expect(result.code, result.stderr).toBe(0);
        return JSON.parse(result.stdout) as { runId: string; type: string; baseRunId?: string };
      };
      const packLocks = async () => {
        const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `backups/${sharedFolder('locked')}/` }));
        const locks = new Map<string, number>();
        for (const object of listed.Contents ?? []) locks.set(object.Key!, (await lockOf(bucket, object.Key!)).until);
        return locks;
      };

      const full = await backup(1, ['--chunked']);
      const afterFull = await packLocks();
      expect(afterFull.size).toBeGreaterThan(0);
      // Kept a day longer than the full: its reused packs must be held a day longer too. (Runs
      // seconds apart change nothing: a lock within RETENTION_SLACK_MS of the goal is held.)
      const incremental = await backup(2, ['--type', 'incremental']);
      expect(incremental).toMatchObject({ type: 'incremental', baseRunId: full.runId });
      const afterIncremental = await packLocks();

      const own = await lockOf(bucket, `backups/${runFolder('locked', incremental.runId)}/${INDEX_OBJECT_NAME}`);
      // The source did not change: the incremental reuses every pack of the full.
      for (const [key, until] of afterFull) {
        const now = afterIncremental.get(key)!;
        expect(now, key).toBeGreaterThan(until);
        expect(now, key).toBeGreaterThanOrEqual(own.until - 1_000);
      }
    }, 300_000);
  });
});
