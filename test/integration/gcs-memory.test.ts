/**
 * Memory of GcsStorageBackend's streamed upload and parallel ranged read, on fake-gcs-server:
 * peak RSS must not grow with the object (live memory is two upload chunks, or the ranges in
 * flight, plus stream buffers).
 *
 * Each measurement runs in a fresh Node process (the adapter bundled by esbuild) that reads its
 * own peak RSS (VmHWM, kept by the kernel: nothing is missed between samples) after the upload
 * and after the read. Sizes stay in the hundreds of MiB: fake-gcs-server keeps objects in memory
 * and re-hashes the whole object on every chunk (quadratic), so multi-GiB objects are for a real
 * bucket, not this emulator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket } from '../support/fake-gcs-server.js';
import { buildStorageMemoryProbe, measureStorageMemory } from '../support/storage-memory-probe.js';
import { requireFakeGcs } from '../support/requirements.js';


describe('GcsStorageBackend memory (fake-gcs-server)', () => {
  const gcs = requireFakeGcs();
  if (!gcs) return;
  let dir = '';
  let script = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vaultra-gcs-memory-'));
    script = await buildStorageMemoryProbe(dir);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const measure = (url: string, sizeMiB: number) => measureStorageMemory(script, url, sizeMiB, gcs.env);

  it('uploads and reads back with flat memory: peak RSS of 64 MiB and 384 MiB objects differ by little', async () => {
    const bucket = `vaultra-mem-${randomBytes(4).toString('hex')}`;
    await createBucket(gcs.endpoint, bucket);
    const url = `gs://${bucket}/memory`;
    const small = await measure(url, 64);
    const large = await measure(url, 384);
    console.log(
      `gcs, peak RSS over a ${small.baselineMiB} MiB baseline (upload / read) and throughput on fake-gcs-server: ` +
        `64 MiB ${small.uploadPeakMiB} / ${small.readPeakMiB} MiB, ${small.uploadMiBps} / ${small.readMiBps} MiB/s; ` +
        `384 MiB ${large.uploadPeakMiB} / ${large.readPeakMiB} MiB, ${large.uploadMiBps} / ${large.readMiBps} MiB/s`,
    );
    // Live: two 16 MiB upload chunks, or four 8 MiB ranges in flight, plus stream buffers; the
    // rest of a peak is garbage waiting for V8's next collection. Measured here: 69 / 84 MiB
    // (upload, 64 / 384 MiB objects) and 90 / 126 MiB (read); with fetch instead of node:http,
    // 161 / 190 MiB (upload) and 180 / 190 MiB (read). The read's peak moves with V8's collections:
    // 113–143 MiB on a quiet machine, 164 MiB once in a loaded CI run (before and after issue 13
    // alike); the bound still refuses what fetch costs.
    expect(large.uploadPeakMiB).toBeLessThan(128);
    expect(large.readPeakMiB).toBeLessThan(176);
    expect(large.uploadPeakMiB - small.uploadPeakMiB).toBeLessThan(64);
    expect(large.readPeakMiB - small.readPeakMiB).toBeLessThan(64);
  }, 300_000);
});
