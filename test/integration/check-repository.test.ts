/**
 * `vaultra check` (core/usecases/check-repository.ts, runner/commands/check-command.ts) on file://
 * storage holding hand-made chunked snapshots (test/support/chunked-fixtures.ts): a clean
 * repository, a missing pack, a truncated pack, a missing index, an orphan pack, an unreadable
 * manifest, and a damaged pack only --read-data finds; then the built CLI's output and exit codes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { manifestKey, runFolder, sharedFolder } from '../../core/domain/object-layout.js';
import { INDEX_OBJECT_NAME } from '../../core/domain/snapshot-format.js';
import { newRunId } from '../../core/domain/run.js';
import { checkRepository } from '../../core/usecases/check-repository.js';
import { newPackName, writeChunkedRun } from '../support/chunked-fixtures.js';
import { runVaultra, vaultraBin } from '../support/cli.js';

const DAY = 86_400_000;
const T0 = new Date('2026-11-20T03:00:00Z');
const JOB = 'shop';

describe('checkRepository', () => {
  let dir: string;
  let store: string;
  let storage: FileStorageBackend;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-check-'));
    store = join(dir, 'store');
    storage = new FileStorageBackend(store);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Two snapshots sharing a pack: packs p1, p2 (first), p2, p3 (second). */
  async function seed() {
    const [p1, p2, p3] = [newPackName(), newPackName(), newPackName()];
    const bytes = { [p1]: randomBytes(1000), [p2]: randomBytes(2000), [p3]: randomBytes(3000) };
    const first = await writeChunkedRun(storage, JOB, { [p1]: bytes[p1]!, [p2]: bytes[p2]! }, T0);
    const second = await writeChunkedRun(storage, JOB, { [p2]: bytes[p2]!, [p3]: bytes[p3]! }, new Date(T0.getTime() + DAY), { type: 'incremental', baseRunId: first.runId });
    const file = (name: string) => join(store, sharedFolder(JOB), name);
    return { p1, p2, p3, first, second, file };
  }

  it('finds nothing wrong in a clean repository, with or without reading the data', async () => {
    await seed();

    const report = await checkRepository(storage, { readData: true });

    expect(report.problems).toBe(0);
    expect(report.jobs).toEqual([
      { job: JOB, manifests: 2, packsReferenced: 3, packsStored: 3, badPacks: [], badIndexes: [], unreadableManifests: [], conflictingPacks: [], orphans: { count: 0, bytes: 0, names: [] }, data: { packsRead: 3, bytesRead: 6000, damaged: [] } },
    ]);
  });

  it('reports a missing pack, a truncated pack and a missing index, naming the runs that need them', async () => {
    const { p1, p2, first, second, file } = await seed();
    await unlink(file(p1));
    await truncate(file(p2), 1500);
    await unlink(join(store, runFolder(JOB, second.runId), INDEX_OBJECT_NAME));

    const report = await checkRepository(storage, { job: JOB });

    const [check] = report.jobs;
    expect(report.problems).toBe(3);
    expect(check!.badPacks).toEqual(
      expect.arrayContaining([
        { key: `${sharedFolder(JOB)}/${p1}`, runs: [first.runId], expectedBytes: 1000 },
        { key: `${sharedFolder(JOB)}/${p2}`, runs: [second.runId, first.runId], expectedBytes: 2000, storedBytes: 1500 },
      ]),
    );
    expect(check!.badIndexes).toEqual([{ key: `${runFolder(JOB, second.runId)}/${INDEX_OBJECT_NAME}`, runs: [second.runId], expectedBytes: expect.any(Number) }]);
  });

  it('reports an orphan pack (count and bytes) without calling it a problem', async () => {
    await seed();
    const orphan = newPackName(true);
    await storage.put(`${sharedFolder(JOB)}/${orphan}`, Readable.from([randomBytes(777)]));

    const report = await checkRepository(storage);

    expect(report.problems).toBe(0);
    expect(report.jobs[0]!.orphans).toEqual({ count: 1, bytes: 777, names: [orphan] });
  });

  it('reports a manifest it cannot read', async () => {
    await seed();
    const damaged = manifestKey(JOB, newRunId(new Date(T0.getTime() + 2 * DAY)));
    await storage.put(damaged, Readable.from([Buffer.from('{ "schema": ')]));

    const report = await checkRepository(storage);

    expect(report.problems).toBe(1);
    expect(report.jobs[0]!.unreadableManifests).toEqual([{ key: damaged, reason: expect.stringContaining('not valid JSON') }]);
  });

  it('finds a pack damaged in place (same size) only with --read-data, and --sample reads a share of the packs', async () => {
    const { p1, p2, p3, second, file } = await seed();
    await writeFile(file(p3), randomBytes(3000));

    expect((await checkRepository(storage)).problems).toBe(0);
    const report = await checkRepository(storage, { readData: true });
    expect(report.problems).toBe(1);
    expect(report.jobs[0]!.data!.damaged).toEqual([{ key: `${sharedFolder(JOB)}/${p3}`, runs: [second.runId], reason: expect.stringContaining('the pack was altered or damaged') }]);

    // A third of three packs is one, picked from the packs in name order.
    const byName = [p1, p2, p3].sort();
    const sampled = await checkRepository(storage, { readData: true, samplePercent: 34, randomInt: () => byName.indexOf(p3) });
    expect(sampled.jobs[0]!.data).toMatchObject({ packsRead: 1, bytesRead: 3000, damaged: [{ key: `${sharedFolder(JOB)}/${p3}` }] });
    const other = await checkRepository(storage, { readData: true, samplePercent: 34, randomInt: () => byName.indexOf(p1) });
    expect(other.jobs[0]!.data).toEqual({ packsRead: 1, bytesRead: 1000, damaged: [] });
  });

  it('refuses a sample that is not a percentage', async () => {
    await expect(checkRepository(storage, { readData: true, samplePercent: 0 })).rejects.toThrow('--sample is a percentage');
    await expect(checkRepository(storage, { readData: true, samplePercent: 150 })).rejects.toThrow('--sample is a percentage');
  });
});

describe('vaultra check (built CLI)', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-check-cli-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!existsSync(vaultraBin) && process.env.CI !== 'true')('exits 0 on a clean repository and 9 with a line per problem, and prints --json', async () => {
    const store = join(dir, 'store');
    const storage = new FileStorageBackend(store);
    const pack = newPackName(true);
    const run = await writeChunkedRun(storage, JOB, { [pack]: randomBytes(4096) }, T0);
    const from = pathToFileURL(store).href;

    const clean = await runVaultra(['check', '--from', from, '--read-data']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain(`job ${JOB}: 1 manifest, 1 packs referenced, 1 stored`);
    expect(clean.stdout).toContain('no problems found');

    await unlink(join(store, sharedFolder(JOB), pack));
    const broken = await runVaultra(['check', '--from', from, '--job', JOB]);
    expect(broken.code).toBe(9);
    expect(broken.stdout).toContain(`problem: pack ${sharedFolder(JOB)}/${pack} missing (listed by run ${run.runId})`);

    const json = await runVaultra(['check', '--from', from, '--json']);
    expect(json.code).toBe(9);
    expect(JSON.parse(json.stdout)).toMatchObject({ problems: 1, jobs: [{ job: JOB, badPacks: [{ key: `${sharedFolder(JOB)}/${pack}`, expectedBytes: 4096 }] }] });

    const usage = await runVaultra(['check', '--from', from, '--sample', '10']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('add --read-data');
  });
});
