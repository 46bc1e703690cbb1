/**
 * GcsStorageBackend.extendRetention on fake-gcs-server: a reused pack's object retention moves to
 * `retentionDays` from now, never earlier (docs/chunked-snapshots.md, "Retention and deletion"). fake-gcs-server keeps the retention it is
 * given but enforces nothing, so "never earlier" is the adapter's own check, seen here because the
 * emulator would otherwise store the earlier date.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GcsStorageBackend } from '../../core/adapters/storage/gcs/gcs-storage.js';
import { canExtendRetention } from '../../core/ports/storage-backend.js';
import { NotFoundError, StorageError } from '../../core/errors.js';
import { createBucket } from '../support/fake-gcs-server.js';
import { requireFakeGcs } from '../support/requirements.js';

const DAY_MS = 86_400_000;

describe('GcsStorageBackend.extendRetention (fake-gcs-server)', () => {
  const gcs = requireFakeGcs();
  if (!gcs) return;

  const freshBucket = async () => {
    const bucket = `vaultra-${randomBytes(6).toString('hex')}`;
    await createBucket(gcs.endpoint, bucket);
    return bucket;
  };
  const backend = (bucket: string, query = '') => GcsStorageBackend.fromUrl(`gs://${bucket}/p?endpoint=${gcs.endpoint}${query ? `&${query}` : ''}`, {});
  /** The object's retention, read straight from the emulator. */
  const retentionOf = async (bucket: string, name: string) => {
    const response = await fetch(`${gcs.endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`);
    const object = (await response.json()) as { retention?: { mode: string; retainUntilTime: string } };
    return { mode: object.retention?.mode, until: Date.parse(object.retention?.retainUntilTime ?? '') };
  };

  it('moves the retention to retentionDays from now, and never earlier', async () => {
    const bucket = await freshBucket();
    await backend(bucket, 'retentionDays=1').put('job/shared/pack', Readable.from([Buffer.from('pack')]));
    const written = await retentionOf(bucket, 'p/job/shared/pack');

    const before = Date.now();
    const threeDays = backend(bucket, 'retentionDays=3');
    expect(canExtendRetention(threeDays)).toBe(true);
    await threeDays.extendRetention('job/shared/pack');
    const extended = await retentionOf(bucket, 'p/job/shared/pack');
    expect(extended.mode).toBe('Unlocked');
    expect(extended.until).toBeGreaterThanOrEqual(before + 3 * DAY_MS - 1_000);
    expect(extended.until).toBeGreaterThan(written.until + DAY_MS);

    await backend(bucket, 'retentionDays=1').extendRetention('job/shared/pack');
    expect(await retentionOf(bucket, 'p/job/shared/pack')).toEqual(extended);
  });

  it('does nothing without retentionDays, and rejects a missing object with NotFoundError', async () => {
    const bucket = await freshBucket();
    await backend(bucket, 'retentionDays=1').put('pack', Readable.from([Buffer.from('x')]));
    const written = await retentionOf(bucket, 'p/pack');
    await backend(bucket).extendRetention('pack');
    expect(await retentionOf(bucket, 'p/pack')).toEqual(written);
    await expect(backend(bucket, 'retentionDays=1').extendRetention('missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  // Cloud Storage lets a Locked retention be extended (only shortening is refused); fake-gcs-server
  // refuses any change to it. What is checked here: the refusal is one StorageError naming the
  // object (it fails the backup), and the retention is left as it was.
  it('a refused extension (fake-gcs-server on a Locked retention) is one StorageError and changes nothing', async () => {
    const bucket = await freshBucket();
    await backend(bucket, 'retentionDays=1&retentionMode=Locked').put('pack', Readable.from([Buffer.from('x')]));
    const written = await retentionOf(bucket, 'p/pack');
    const error = await backend(bucket, 'retentionDays=2').extendRetention('pack').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).message).toMatch(/^extending the retention of gs:\/\/\S+\/p\/pack failed: [^\n]+$/);
    expect(await retentionOf(bucket, 'p/pack')).toEqual(written);
    expect(written.mode).toBe('Locked');
  });
});
