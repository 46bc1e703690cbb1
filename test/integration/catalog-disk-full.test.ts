/**
 * The disk holding the catalog fills up while a backup runs, so only the final catalog write
 * fails. The backup itself is complete (its manifest is committed): it must stay, the error
 * line must say which run, which file and what to do, no half-written record may stay in the
 * catalog folder, and once there is room `vaultra catalog repair` records the backup.
 *
 * The catalog lives on a 1 MiB tmpfs filled to the last block mid-backup (needs root to mount;
 * skipped locally without it, failing under CI=true); the store is on the ordinary disk.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../core/domain/run.js';
import { manifestKey } from '../../core/domain/object-layout.js';
import { generateX25519Identity, formatIdentityFile } from '../../core/adapters/encryption/age/bech32-keys.js';
import type { RepairReport } from '../../core/usecases/repair-runs.js';
import { runVaultra, outcomeLines } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import { killTree } from '../support/exec.js';
import { filesUnder } from '../support/file-tree.js';
import { createDatabase, dropDatabase, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { databaseUrl, psqlQuery } from '../support/psql.js';
import { requirePostgres, requireTools, unmet } from '../support/requirements.js';

const MiB = 1024 * 1024;

/** Mounts a tmpfs of `sizeBytes` at `dir` (root only). */
function mountTmpfs(dir: string, sizeBytes: number): void {
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
}

/** Writes zeros into `path` until the file system is full, to the last block. */
async function fillUp(path: string): Promise<void> {
  const file = await open(path, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) await file.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await file.close().catch(() => undefined);
  }
}

describe('the final catalog write fails (disk full): context, no temp record, the backup kept and recorded later', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'psql', 'zstd', 'mount', 'umount');
  if (!pg || !tools) return;
  if (process.getuid?.() !== 0) {
    unmet('root (to mount a tmpfs for the catalog)', 'mounting a tmpfs needs root');
    return;
  }
  const root = join(tmpdir(), `vaultra-disk-full-${process.pid}`);
  const catalogFs = join(root, 'catalog-fs');
  let mounted = false;

  const db = uniqueDatabaseName('full');
  const key = generateX25519Identity();
  const store = join(root, 'store');
  const catalog = join(catalogFs, 'catalog');
  const filler = join(catalogFs, 'filler');
  let env: NodeJS.ProcessEnv = {};
  let identity = '';

  beforeAll(async () => {
    mountTmpfs(catalogFs, MiB);
    mounted = true;
    env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state'), VAULTRA_STORAGE: undefined, VAULTRA_CATALOG: undefined, VAULTRA_IDENTITY: undefined };
    identity = join(await mkdtemp(join(root, 'keys-')), 'a.key');
    await writeFile(identity, formatIdentityFile(key.identity), { mode: 0o600 });
    await mkdir(store, { recursive: true });
    await createDatabase(pg, db);
    // Enough that the upload takes a few seconds: time to fill the disk before the run ends.
    await psqlQuery(pg, db, `CREATE TABLE t AS SELECT i, md5(i::text) AS a, md5((i * 7)::text) AS b FROM generate_series(1, 600000) AS s(i)`, { timeoutMs: 120_000 });
  });

  afterAll(async () => {
    await dropDatabase(pg, db).catch(() => undefined);
    if (mounted) {
      try {
        execFileSync('umount', [catalogFs], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', catalogFs], { stdio: 'pipe' });
      }
    }
    await rm(root, { recursive: true, force: true });
  });

  it('exit 1 with one line naming the run, the record file and the fix; no .tmp- file; the backup verifies; `catalog repair` then records it as succeeded', async () => {
    const storeUrl = pathToFileURL(store).href;
    const started = startVaultra(['backup', databaseUrl(pg, db), '--to', storeUrl, '--catalog', catalog, '--job', 'full', '--recipient', key.recipient, '--no-progress'], { ...process.env, NO_COLOR: '1', ...env });
    let runId = '';
    try {
      await waitFor(
        async () => {
          if (started.child.exitCode !== null) throw new Error(`the backup ended before the disk filled: ${(await started.result).stderr}`);
          const records = (await readdir(join(catalog, 'full')).catch(() => [] as string[])).filter((name) => name.endsWith('.json'));
          const temps = (await filesUnder(store)).filter((name) => name.includes('.vaultra-tmp-'));
          const uploaded = temps.length === 1 ? ((await stat(join(store, temps[0]!)).catch(() => undefined))?.size ?? 0) : 0;
          runId = records[0]?.slice(0, -'.json'.length) ?? '';
          return records.length === 1 && uploaded > MiB;
        },
        60_000,
        'the run to be recorded and its upload under way',
      );
    } catch (error) {
      killTree(started.child, 'SIGKILL');
      throw error;
    }
    await fillUp(filler);
    const result = await started.result;

    const recordPath = join(catalog, 'full', `${runId}.json`);
    const manifestUrl = `${storeUrl}/${manifestKey('full', runId)}`;
    expect(result.code, result.stderr).toBe(1);
    expect(outcomeLines(result.stderr)).toBe(
      `vaultra: error: backup ${runId} of job full is complete (${manifestUrl}) but the catalog could not record it: recording run ${runId} of job full in ${recordPath} failed: ENOSPC: no space left on device, write; once the catalog can be written, run 'vaultra catalog repair' (the next backup of the job does it too)\n`,
    );
    // The run's log beside its record is appended line by line, never through a temp file.
    expect((await readdir(join(catalog, 'full'))).filter((name) => !name.endsWith('.log')).sort(), 'a half-written record stayed in the catalog folder').toEqual([`${runId}.json`]);
    expect(existsSync(join(store, manifestKey('full', runId))), 'the complete backup was removed').toBe(true);

    await rm(filler);
    const verified = await runVaultra(['verify', runId, '--from', storeUrl, '--catalog', catalog, '--identity', identity], { env });
    expect(verified.code, verified.stderr).toBe(0);
    const repaired = await runVaultra(['catalog', 'repair', '--from', storeUrl, '--catalog', catalog, '--json'], { env });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect((JSON.parse(repaired.stdout) as RepairReport).settled).toEqual([
      expect.objectContaining({ runId, status: 'succeeded', reason: expect.stringMatching(/ ended without recording its outcome, after its manifest was written: recorded from the manifest$/) }),
    ]);
    const listed = await runVaultra(['list', '--json', '--from', storeUrl, '--catalog', catalog], { env });
    expect((JSON.parse(listed.stdout) as RunRecord[]).map((run) => [run.runId, run.status])).toEqual([[runId, 'succeeded']]);
  });
});
