/**
 * A run's timings per phase and its log, end to end through the built CLI (`npm run build`
 * first) on a real SQLite database and a local store: what the backup records in the catalog,
 * what it leaves beside the record as its log, and what `vaultra show` (with `--log`) prints of
 * them; the same for the restores, verifies and drills the CLI records. Times are compared only
 * with each other and with the run's own record, never with the clock the test runs under.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';
import { createSqliteFixture } from '../support/sqlite-fixtures.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import type { RunRecord } from '../../core/domain/run.js';
import type { RunLogLine } from '../../core/ports/run-log.js';

/** The phases of a single-object backup the runner and the use case trace, in the order they run. */
const BACKUP_PHASES = ['resolve secrets', 'open tools', 'claim', 'start dump', 'dump, compress, encrypt, upload', 'manifest', 'sign', 'commit'];

describe('run timings and the local run log (the built CLI, SQLite)', () => {
  const tools = requireTools('sqlite3', 'zstd');
  if (!tools) return;

  let root = '';
  let ws: Workspace;
  let source = '';
  const vaultra = (args: readonly string[]) => runVaultra(args, { env: ws.env });
  const recordOf = (job: string, runId: string) => JSON.parse(readFileSync(join(ws.store, '.vaultra', 'catalog', job, `${runId}.json`), 'utf8')) as RunRecord;
  const shownLog = async (ref: string, job: string) => {
    const shown = await vaultra(['show', ref, '--job', job, '--log', '--json', '--from', ws.storeUrl]);
    expect(shown.code, shown.stderr).toBe(0);
    return JSON.parse(shown.stdout) as { run: RunRecord; log: RunLogLine[] | null };
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-run-log-'));
    ws = makeWorkspace(root, 'ws');
    source = join(root, 'shop.db');
    await createSqliteFixture(source);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a backup records how long each phase took, in its record and its --json result, and keeps its log beside the record', async () => {
    // Act
    const made = await vaultra(['backup', `sqlite:${source}`, '--to', ws.storeUrl, '--job', 'shop', '--json', '--no-progress']);
    // Assess
    expect(made.code, made.stderr).toBe(0);
    const result = JSON.parse(made.stdout) as { runId: string; phasesMs: Record<string, number> };
    const record = recordOf('shop', result.runId);
    expect(Object.keys(record.phasesMs!)).toEqual(BACKUP_PHASES);
    expect(result.phasesMs).toEqual(record.phasesMs);
    for (const ms of Object.values(record.phasesMs!)) expect(Number.isInteger(ms) && ms >= 0).toBe(true);

    const { run, log } = await shownLog(result.runId, 'shop');
    expect(run).toEqual(record);
    const texts = log!.map((line) => line.text);
    // Each phase as it started and ended, then the outcome in words (the JSON itself is for programs, not the log).
    for (const phase of BACKUP_PHASES) {
      expect(texts).toContain(`${phase} …`);
      expect(texts).toContainEqual(expect.stringMatching(new RegExp(`^${phase}: done in \\d+(\\.\\d)? m?s$`)));
    }
    expect(texts.at(-1)).toBe(`backup ${result.runId} of job shop succeeded`);
    expect(texts.join('\n')).not.toContain('"runId"');
    // Written while the run ran: every line's time lies between the run's start and the moment it was shown, in order.
    const times = log!.map((line) => Date.parse(line.at!));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(Date.parse(record.startedAt) - 5_000);
  });

  it('a backup printed for people logs its result lines, and vaultra show prints its timings under the manifest', async () => {
    const made = await vaultra(['backup', `sqlite:${source}`, '--to', ws.storeUrl, '--job', 'shop', '--no-progress']);
    expect(made.code, made.stderr).toBe(0);
    const runId = /^backup (\S+) of job shop succeeded$/m.exec(made.stdout)![1]!;

    const { log } = await shownLog(runId, 'shop');
    const texts = log!.map((line) => line.text);
    // The lines the user saw, as printed: the title and its fields.
    for (const printed of made.stdout.trim().split('\n')) expect(texts).toContain(printed.trimEnd());

    const shown = await vaultra(['show', runId, '--job', 'shop', '--from', ws.storeUrl]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/\ntimings:\n {2}resolve secrets\s+\d/);
    expect(shown.stdout).toMatch(/^ {2}dump, compress, encrypt, upload\s+\d+(\.\d)? m?s\s+\d+ %$/m);
  });

  it('a failed backup keeps its timings up to the failure and a log that ends with its error line; show --log prints both', async () => {
    const failed = await vaultra(['backup', `sqlite:${join(root, 'missing.db')}`, '--to', ws.storeUrl, '--job', 'missing', '--no-progress']);
    expect(failed.code).not.toBe(0);
    const errorLine = failed.stderr.trim().split('\n').pop()!;
    expect(errorLine).toMatch(/^vaultra: error: .*missing\.db/);

    const { run, log } = await shownLog('latest', 'missing');
    expect(run.status).toBe('failed');
    expect(Object.keys(run.phasesMs!)).toEqual(['resolve secrets', 'open tools', 'claim', 'start dump']);
    expect(log!.at(-1)!.text).toBe(errorLine);
    expect(log!.map((line) => line.text)).toContainEqual(expect.stringMatching(/^start dump: failed after \d/));

    const shown = await vaultra(['show', 'latest', '--job', 'missing', '--log', '--lines', '2', '--from', ws.storeUrl]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`backup ${run.runId} of job missing failed`);
    expect(shown.stdout).toMatch(/\ntimings:\n {2}resolve secrets\s+\d+ m?s/);
    expect(shown.stdout).toMatch(new RegExp(`\\nlog \\(last 2 line\\(s\\)\\):\\n.*\\n {2}\\d{2}:\\d{2}:\\d{2}\\.\\d{3} {2}${errorLine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`));
  });

  it('a verify and a restore record their phases and keep their logs too, each under the run id it prints', async () => {
    // Act
    const verified = await vaultra(['verify', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--no-progress']);
    const restored = await vaultra(['restore', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--target', `sqlite:${join(root, 'restored.db')}`, '--no-progress']);
    // Assess
    expect(verified.code, verified.stderr).toBe(0);
    const verifyRunId = /^ {2}run +(\S+)$/m.exec(verified.stdout)![1]!;
    const verify = await shownLog(verifyRunId, 'shop');
    expect(verify.run.kind).toBe('verify');
    expect(Object.keys(verify.run.phasesMs!)).toEqual(['locate', 'authenticate', 'fetch, decrypt, decompress, verify']);
    const verifyTexts = verify.log!.map((line) => line.text);
    expect(verifyTexts).toContain('authenticate …');
    expect(verifyTexts).toContainEqual(expect.stringMatching(/^fetch, decrypt, decompress, verify: done in \d/));
    for (const printed of verified.stdout.trim().split('\n')) expect(verifyTexts).toContain(printed.trimEnd());

    expect(restored.code, restored.stderr).toBe(0);
    const restoreRunId = /^ {2}run +(\S+)$/m.exec(restored.stdout)![1]!;
    const restore = await shownLog(restoreRunId, 'shop');
    expect(restore.run.kind).toBe('restore');
    expect(Object.keys(restore.run.phasesMs!)).toEqual(['locate', 'authenticate', 'check objects', 'fetch, decrypt, decompress, restore']);
    expect(restore.log!.at(-1)!.text).toMatch(new RegExp(`^ {2}run +${restoreRunId}$`));
    // Lines printed before the run was recorded (its locate phase) keep the time they were printed, in order.
    const times = restore.log!.map((line) => Date.parse(line.at!));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(restore.log![0]!.text).toBe('locate …');
  });

  it('a verify with --json logs its outcome in words, and a failed restore keeps a log ending with its error line', async () => {
    const verified = await vaultra(['verify', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--json', '--no-progress']);
    expect(verified.code, verified.stderr).toBe(0);
    const result = JSON.parse(verified.stdout) as { runId: string; verifyRunId: string };
    const { log } = await shownLog(result.verifyRunId, 'shop');
    expect(log!.at(-1)!.text).toBe(`backup ${result.runId} of job shop verified`);
    expect(log!.map((line) => line.text).join('\n')).not.toContain('"runId"');

    // A target that exists and holds tables: refused without --force, after the run was recorded.
    const failed = await vaultra(['restore', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--target', `sqlite:${source}`, '--no-progress']);
    expect(failed.code).toBe(6);
    const errorLine = failed.stderr.trim().split('\n').pop()!;
    const restore = await shownLog('latest', 'shop');
    expect(restore.run).toMatchObject({ kind: 'restore', status: 'failed' });
    expect(restore.log!.at(-1)!.text).toBe(errorLine);
  });

  it('a run that ends before it is recorded (no such backup) leaves no log behind', async () => {
    const entries = () => readdirSync(join(ws.store, '.vaultra', 'catalog', 'shop')).sort();
    const before = entries();
    const missing = await vaultra(['verify', '20200101T000000.000Z-000000', '--job', 'shop', '--from', ws.storeUrl, '--no-progress']);
    expect(missing.code).toBe(5);
    expect(entries()).toEqual(before);
  });

  it('a drill (SQLite scratch file) keeps its log under its run id', async () => {
    const drilled = await vaultra(['drill', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--no-progress']);
    expect(drilled.code, drilled.stderr).toBe(0);
    const runId = /^drill (\S+) of backup/m.exec(drilled.stdout)![1]!;
    const { run, log } = await shownLog(runId, 'shop');
    expect(run).toMatchObject({ kind: 'drill', status: 'succeeded' });
    const texts = log!.map((line) => line.text);
    for (const printed of drilled.stdout.trim().split('\n')) expect(texts).toContain(printed.trimEnd());
  });

  it('show --log of a run the catalog does not hold: not found, and what to do', async () => {
    const shown = await vaultra(['show', '20200101T000000.000Z-000000', '--job', 'shop', '--log', '--from', ws.storeUrl]);
    expect(shown.code).toBe(5);
    expect(shown.stderr.trim()).toBe('vaultra: error: no run 20200101T000000.000Z-000000 of job shop in the catalog: vaultra list --all shows the runs it holds (with --catalog, if it is not beside the storage)');
  });
});
