/**
 * Restore drills of PostgreSQL through the built CLI (`npm run build` first), on a Pagila-like
 * database (partitions, views, a materialized view, functions, a procedure, triggers): a good
 * backup passes with every table checked; a tampered backup, a backup whose dump lost a table's
 * rows (a real dump of the table emptied, its manifest saying otherwise and re-signed), and a
 * failing check of the job's config each fail with one clear line and an alert to the job's
 * webhook. The throwaway server is gone afterwards in every case, an interrupted drill included.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, readSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import type { BackupJson } from '../support/cli-json.js';
import { createDatabase, dropDatabase, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { loadPagilaFixture, PAGILA_ROWS } from '../support/pagila-fixture.js';
import { pgEnv, psqlQuery } from '../support/psql.js';
import { processTable, sleep } from '../support/processes.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

interface DrillJson {
  drillRunId: string;
  backupRunId: string;
  status: 'passed' | 'failed';
  error?: string;
  scratch: string | null;
  scratchRemoved: boolean;
  rto: { totalMs: number; phasesMs: Record<string, number>; budgetMs: number | null; withinBudget: boolean | null };
  checks: { kind: string; name: string; passed: boolean; detail: string }[];
}

const RECIPIENT_NOTE = 'the config is read for drill settings only: its recipient is never used';
const errorLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('vaultra: error:'));

/** Throwaway clusters of the drills: their folders under /tmp (or TMPDIR), and postgres processes started on them. */
function scratchLeftovers(): string[] {
  const folders = [...new Set(['/tmp', tmpdir()])].flatMap((dir) => readdirSync(dir).filter((name) => name.startsWith('vaultra-drill-pg-')).map((name) => join(dir, name)));
  const servers = processTable().filter((p) => p.argv.some((arg) => arg.includes('vaultra-drill-pg-'))).map((p) => `pid ${p.pid}: ${p.argv.join(' ')}`);
  return [...folders, ...servers];
}

describe('vaultra drill: PostgreSQL (Pagila-like)', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !tools) return;

  let root = '';
  let ws: Workspace;
  let hook: WebhookReceiver;
  let good: BackupJson;
  const source = uniqueDatabaseName('drill_src');
  const emptied = uniqueDatabaseName('drill_lost');
  const job = 'pagila';
  const leftoversBefore = new Set<string>();

  const env = () => ({ ...pgEnv(pg, 'postgres'), ...ws.env, VAULTRA_TEST_DRILL_HOOK: hook.url, VAULTRA_TEST_DRILL_HOOK_SECRET: 'drill-hook-secret' });
  const vaultra = (args: string[], cwd = ws.dir): Promise<VaultraResult> => runVaultra(args, { env: env(), cwd, timeoutMs: 180_000 });
  const sourceUrl = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const backup = async (database: string, store: string): Promise<BackupJson> => {
    const result = await vaultra(['backup', sourceUrl(database), '--job', job, '--to', store, '--json', '--no-progress']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };
  const drill = async (args: string[], cwd?: string): Promise<{ result: VaultraResult; json: DrillJson }> => {
    const result = await vaultra(['drill', '--from', ws.storeUrl, ...args, '--job', job, '--json', '--no-progress'], cwd);
    return { result, json: JSON.parse(result.stdout || '{}') as DrillJson };
  };
  const expectNoLeftovers = () => expect(scratchLeftovers().filter((item) => !leftoversBefore.has(item))).toEqual([]);
  const alertsFor = (title: RegExp) => hook.requests.filter((request) => title.test(JSON.parse(request.body).title as string));

  beforeAll(async () => {
    for (const item of scratchLeftovers()) leftoversBefore.add(item);
    root = mkdtempSync(join(tmpdir(), 'vaultra-drilltest-pg-'));
    ws = makeWorkspace(root, 'ws');
    hook = await startWebhookReceiver();
    // The job's drill settings and its environment's webhook, read from vaultra.config.yaml in the working folder.
    writeFileSync(
      join(ws.dir, 'vaultra.config.yaml'),
      `# ${RECIPIENT_NOTE}
version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "${ws.storeUrl}" }
    notifications:
      webhooks: [{ kind: generic, url: "env://VAULTRA_TEST_DRILL_HOOK", signingSecret: "env://VAULTRA_TEST_DRILL_HOOK_SECRET" }]
    defaults:
      encryption: { kms: false, recipients: [age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40] }
    jobs:
      ${job}:
        source: "${sourceUrl(source)}"
        schedule: { cron: "0 3 * * *" }
        drill:
          rto: 30m
          checks:
            - name: every film has a title
              query: select count(*) from film where title is null
              expect: "0"
            - name: rentals reach the backup's last day
              query: select max(rental_date) <= timestamptz '{{backupStartedAt}}' from rental
              expect: t
            - name: the procedure runs
              query: call rewards_report(10)
              expect: "599"
`,
    );
    await createDatabase(pg, source);
    await loadPagilaFixture(pg, source);
    good = await backup(source, ws.storeUrl);
  }, 240_000);

  afterAll(async () => {
    await hook?.close();
    await dropDatabase(pg, source).catch(() => undefined);
    await dropDatabase(pg, emptied).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('restores a good backup into a throwaway server and proves every table, its rows, schema objects and the job\'s checks', async () => {
    const report = join(root, 'drill.md');
    const { result, json } = await drill(['latest', '--report', report]);
    expect(result.code, result.stderr).toBe(0);
    expect(json).toMatchObject({ status: 'passed', backupRunId: good.runId, scratchRemoved: true });
    expect(json.scratch).toMatch(/^throwaway PostgreSQL \d+/);
    for (const [table, rows] of Object.entries(PAGILA_ROWS)) {
      expect(json.checks).toContainEqual({ kind: 'contents', name: `table ${table}`, passed: true, detail: `${rows} rows, as recorded` });
    }
    expect(json.checks.filter((check) => check.kind === 'contents').map((check) => check.name)).toEqual(
      expect.arrayContaining(['view public.actor_info', 'view public.customer_list', 'materialized-view public.rental_by_month', 'sequence public.actor_actor_id_seq']),
    );
    const schema = json.checks.find((check) => check.kind === 'schema')!;
    expect(schema.detail).toMatch(/2 views, 1 materialized views, \d+ sequences, 3 routines, 2 triggers, \d+ indexes restored/);
    expect(json.checks.filter((check) => check.kind === 'user')).toEqual([
      { kind: 'user', name: 'every film has a title', passed: true, detail: 'returned "0"' },
      { kind: 'user', name: "rentals reach the backup's last day", passed: true, detail: 'returned "t"' },
      { kind: 'user', name: 'the procedure runs', passed: true, detail: 'returned "599"' },
    ]);
    expect(json.checks.every((check) => check.passed)).toBe(true);
    expect(json.rto).toMatchObject({ budgetMs: 30 * 60_000, withinBudget: true });
    expect(Object.keys(json.rto.phasesMs)).toEqual(['fetch', 'restore', 'verify']);
    expect(json.rto.totalMs).toBe(json.rto.phasesMs.fetch! + json.rto.phasesMs.restore! + json.rto.phasesMs.verify!);

    // The catalog holds the drill as a run of kind drill, which no backup listing takes for a backup.
    const catalog = new LocalCatalog(join(fileURLToPath(ws.storeUrl), '.vaultra', 'catalog'));
    const recorded = await catalog.get(job, json.drillRunId);
    expect(recorded).toMatchObject({ kind: 'drill', status: 'succeeded', drill: { backupRunId: good.runId, checks: json.checks.length, failedChecks: 0 } });
    expect((await catalog.latestSuccessful(job))?.runId).toBe(good.runId);

    const markdown = readFileSync(report, 'utf8');
    expect(markdown).toMatch(new RegExp(`^# Restore drill ${json.drillRunId}: PASSED`));
    expect(markdown).toContain(`| pass | contents | table public.rental | ${PAGILA_ROWS['public.rental']} rows, as recorded |`);
    expect(markdown).toContain(good.sha256!);
    expect(hook.requests).toHaveLength(0);
    expectNoLeftovers();
  }, 180_000);

  it('fails a tampered backup with one line and an alert, and removes the scratch server', async () => {
    const tampered = makeWorkspace(root, 'tampered');
    const copy = await backup(source, tampered.storeUrl);
    const folder = fileURLToPath(copy.location);
    const data = readdirSync(folder).find((name) => name.startsWith('data.'))!;
    flipByte(join(folder, data), Math.floor(statSync(join(folder, data)).size / 2));
    const before = hook.requests.length;
    const { result, json } = await drill(['latest', '--from', tampered.storeUrl, '--catalog', join(tampered.dir, 'catalog')]);
    expect(result.code).toBe(3);
    // The first damaged chunk fails age's authentication before the object's SHA-256 is complete.
    expect(errorLines(result.stderr)).toEqual(['vaultra: error: age payload failed authentication: the backup object was altered or truncated']);
    expect(json).toMatchObject({ status: 'failed', scratchRemoved: true });
    await hook.waitFor(before + 1);
    expect(alertsFor(/pagila: restore drill failed/)).toHaveLength(1);
    expectNoLeftovers();
  }, 180_000);

  it('fails a backup whose dump lost a table\'s rows while its (re-signed) manifest lists them', async () => {
    // A real dump of the database with film_actor emptied, its manifest then edited to the rows the
    // table had and signed again with the workspace's key (what a broken dump tool plus a trusted signer make).
    await createDatabase(pg, emptied);
    await loadPagilaFixture(pg, emptied);
    await psqlQuery(pg, emptied, 'truncate film_actor');
    const lost = makeWorkspace(root, 'lost', { XDG_CONFIG_HOME: join(ws.dir, 'config') });
    const copy = await runVaultra(['backup', sourceUrl(emptied), '--job', job, '--to', lost.storeUrl, '--json', '--no-progress'], { env: { ...env(), ...lost.env, XDG_CONFIG_HOME: join(ws.dir, 'config'), VAULTRA_IDENTITY: ws.identity } });
    expect(copy.code, copy.stderr).toBe(0);
    const run = JSON.parse(copy.stdout) as BackupJson;
    const folder = fileURLToPath(run.location);
    const manifestPath = join(folder, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { contents: { schema?: string; name: string; rows?: number }[] };
    manifest.contents.find((entry) => entry.name === 'film_actor')!.rows = PAGILA_ROWS['public.film_actor'];
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    rmSync(join(folder, 'manifest.json.sig'));
    const resigned = await runVaultra(['verify', 'latest', '--job', job, '--from', lost.storeUrl, '--trust-unsigned', '--no-progress'], { env: { ...env(), XDG_CONFIG_HOME: join(ws.dir, 'config'), VAULTRA_IDENTITY: ws.identity } });
    expect(resigned.code, resigned.stderr).toBe(0);

    const before = hook.requests.length;
    const result = await runVaultra(['drill', 'latest', '--job', job, '--from', lost.storeUrl, '--catalog', join(lost.dir, 'catalog'), '--no-progress'], { env: { ...env(), XDG_CONFIG_HOME: join(ws.dir, 'config'), VAULTRA_IDENTITY: ws.identity }, cwd: ws.dir, timeoutMs: 180_000 });
    expect(result.code).toBe(3);
    expect(errorLines(result.stderr)).toEqual([`vaultra: error: 1 of ${result.stdout.split('\n').filter((line) => /^ {2}[✔✘] /.test(line)).length} drill checks failed: table public.film_actor: 0 rows restored; the backup counted ${PAGILA_ROWS['public.film_actor']}`]);
    expect(result.stdout).toContain(`✘ table public.film_actor: 0 rows restored; the backup counted ${PAGILA_ROWS['public.film_actor']}`);
    await hook.waitFor(before + 1);
    expectNoLeftovers();
  }, 240_000);

  it('fails when a check of the command line (or the job) does not hold', async () => {
    const before = hook.requests.length;
    const { result, json } = await drill(['latest', '--check', 'select count(*) from actor => 201']);
    expect(result.code).toBe(3);
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(/^vaultra: error: 1 of \d+ drill checks failed: --check 1: returned "200", expected "201"$/)]);
    expect(json.checks.at(-1)).toEqual({ kind: 'user', name: '--check 1', passed: false, detail: 'returned "200", expected "201"' });
    await hook.waitFor(before + 1);
    const alert = JSON.parse(hook.requests.at(-1)!.body) as { title: string; facts: Record<string, string> };
    expect(alert.title).toBe('pagila: restore drill failed');
    expect(alert.facts.backup).toBe(good.runId);
    expectNoLeftovers();
  }, 180_000);

  it('alerts when the drill passes but takes longer than its RTO budget', async () => {
    const before = hook.requests.length;
    const { result, json } = await drill(['latest', '--rto', '1ms']);
    expect(result.code, result.stderr).toBe(0);
    expect(json.rto).toMatchObject({ budgetMs: 1, withinBudget: false });
    await hook.waitFor(before + 1);
    expect(JSON.parse(hook.requests.at(-1)!.body).title).toMatch(/^pagila: restore drill took .*, past its RTO of /);
    expectNoLeftovers();
  }, 180_000);

  it('removes the throwaway server when the drill is interrupted (SIGINT)', async () => {
    const started = startVaultra(['drill', 'latest', '--job', job, '--from', ws.storeUrl, '--no-progress'], { ...env(), NO_COLOR: '1' });
    const deadline = Date.now() + 60_000;
    while (!scratchLeftovers().some((item) => !leftoversBefore.has(item) && item.startsWith('pid')) && Date.now() < deadline) await sleep(50);
    process.kill(started.pid, 'SIGINT');
    const { code, stderr } = await started.result;
    expect(code).toBe(130);
    expect(errorLines(stderr)).toEqual([expect.stringMatching(/^vaultra: error: drill interrupted: the scratch target was removed/)]);
    expectNoLeftovers();
  }, 180_000);

  it('drills into a scratch database on a named server, drops it, and refuses a database that exists', async () => {
    const scratch = uniqueDatabaseName('drill_scratch');
    const { result, json } = await drill(['latest', '--scratch', sourceUrl(scratch)]);
    expect(result.code, result.stderr).toBe(0);
    expect(json.scratch).toBe(`scratch database ${pg.host}:${pg.port}/${scratch}`);
    expect(await psqlQuery(pg, 'postgres', `select count(*) from pg_database where datname = '${scratch}'`)).toBe('0');

    const refused = await drill(['latest', '--scratch', sourceUrl(source)]);
    expect(refused.result.code).toBe(6);
    expect(errorLines(refused.result.stderr)).toEqual([expect.stringMatching(new RegExp(`^vaultra: error: scratch database ${pg.host}:${pg.port}/${source} already exists and no drill made it`))]);
    expect(await psqlQuery(pg, source, 'select count(*) from actor')).toBe('200');
  }, 180_000);

  it('never prints, files or records the password of a scratch server named through a secret (canary)', async () => {
    const scratch = uniqueDatabaseName('drill_canary');
    const withPassword = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${scratch}`;
    const report = join(root, 'canary.md');
    const result = await runVaultra(['drill', 'latest', '--job', job, '--from', ws.storeUrl, '--scratch', 'env://VAULTRA_TEST_DRILL_SCRATCH', '--report', report, '--no-progress', '--check', 'select current_user => nobody'], {
      env: { ...env(), PGPASSWORD: undefined, VAULTRA_TEST_DRILL_SCRATCH: withPassword },
      cwd: ws.dir,
      timeoutMs: 180_000,
    });
    expect(result.code).toBe(3);
    expect(pg.password.startsWith('canary-')).toBe(true);
    const catalogFiles = readdirSync(join(fileURLToPath(ws.storeUrl), '.vaultra', 'catalog'), { recursive: true }).map(String);
    const recorded = catalogFiles.filter((name) => name.endsWith('.json')).map((name) => readFileSync(join(fileURLToPath(ws.storeUrl), '.vaultra', 'catalog', name), 'utf8'));
    for (const text of [result.stdout, result.stderr, readFileSync(report, 'utf8'), ...recorded, ...hook.requests.map((r) => r.body)]) expect(text).not.toContain(pg.password);
  }, 180_000);
});

function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, offset);
  byte[0] = byte[0]! ^ 0xff;
  writeSync(fd, byte, 0, 1, offset);
  closeSync(fd);
}

