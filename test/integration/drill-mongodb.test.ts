/**
 * Restore drills of MongoDB through the built CLI (`npm run build` first), with the real
 * mongodump/mongorestore, into a throwaway server the drill starts itself (mongod where one is
 * installed, else FerretDB 1.x: TESTING.md) on a socket in a private temp folder, or into a new
 * database on the test server (`--scratch`). A good backup passes with every collection and its
 * documents checked, the indexes counted and the job's Mongo checks run; a tampered backup, a
 * backup whose dump lost a collection its (re-signed) manifest lists, and a failing check each
 * fail with one line and an alert to the job's webhook. The scratch server is gone afterwards in
 * every case: no process, no folder.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { manifestKey } from '../../core/domain/object-layout.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import type { BackupJson } from '../support/cli-json.js';
import { dropMongoDatabase, loadVariedFixture, mongoCollections, mongoUrl, uniqueMongoDatabase, VARIED_COUNTS } from '../support/mongo-fixtures.js';
import { withTestClient } from '../support/mongo-server.js';
import { processTable, sleep } from '../support/processes.js';
import { requireMongo, requireTools } from '../support/requirements.js';
import { writeResignedManifest } from '../support/signing.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

interface DrillJson {
  drillRunId: string;
  backupRunId: string;
  status: 'passed' | 'failed';
  scratch: string | null;
  scratchRemoved: boolean;
  rto: { totalMs: number; phasesMs: Record<string, number>; budgetMs: number | null; withinBudget: boolean | null };
  checks: { kind: string; name: string; passed: boolean; detail: string }[];
}

const errorLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('vaultra: error:'));

/** Throwaway servers of the drills: their folders under the temp folders, and the processes started on them. */
function scratchLeftovers(): string[] {
  const folders = [...new Set(['/tmp', tmpdir()])].flatMap((dir) => readdirSync(dir).filter((name) => name.startsWith('vaultra-drill-mongo-')).map((name) => join(dir, name)));
  const servers = processTable().filter((p) => p.argv.some((arg) => arg.includes('vaultra-drill-mongo-'))).map((p) => `pid ${p.pid}: ${p.argv.join(' ')}`);
  return [...folders, ...servers];
}

function flipByte(path: string): void {
  const offset = Math.floor(statSync(path).size / 2);
  const fd = openSync(path, 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, offset);
  byte[0] = byte[0]! ^ 0xff;
  writeSync(fd, byte, 0, 1, offset);
  closeSync(fd);
}

describe('vaultra drill: MongoDB', () => {
  const mongo = requireMongo();
  const tools = requireTools('mongodump', 'mongorestore', 'zstd');
  if (!mongo || !tools) return;

  const job = 'events';
  const source = uniqueMongoDatabase('drill_src');
  const lostSource = uniqueMongoDatabase('drill_lost');
  let root = '';
  let ws: Workspace;
  let hook: WebhookReceiver;
  let good: BackupJson;
  const before = new Set<string>();

  const env = () => ({ ...ws.env, VAULTRA_TEST_MONGO_SOURCE: mongoUrl(mongo, source), VAULTRA_TEST_DRILL_HOOK: hook.url, VAULTRA_TEST_DRILL_HOOK_SECRET: 'drill-hook-secret' });
  const vaultra = (args: string[], workspace = ws): Promise<VaultraResult> => runVaultra(args, { env: { ...env(), ...workspace.env }, cwd: ws.dir, timeoutMs: 180_000 });
  const backup = async (database: string, workspace = ws): Promise<BackupJson> => {
    const result = await vaultra(['backup', mongoUrl(mongo, database), '--job', job, '--to', workspace.storeUrl, '--json', '--no-progress'], workspace);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };
  const drill = async (args: string[], workspace = ws) => {
    const result = await vaultra(['drill', 'latest', '--job', job, '--from', workspace.storeUrl, '--catalog', join(workspace.dir, 'catalog'), '--json', '--no-progress', ...args], workspace);
    return { result, json: JSON.parse(result.stdout || '{}') as DrillJson };
  };
  const expectNoLeftovers = () => expect(scratchLeftovers().filter((item) => !before.has(item))).toEqual([]);
  const alertTitles = () => hook.requests.map((request) => JSON.parse(request.body).title as string);

  beforeAll(async () => {
    for (const item of scratchLeftovers()) before.add(item);
    root = mkdtempSync(join(tmpdir(), 'vaultra-drilltest-mongo-'));
    ws = makeWorkspace(root, 'ws');
    hook = await startWebhookReceiver();
    writeFileSync(
      join(ws.dir, 'vaultra.config.yaml'),
      `version: 1
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
        source: "env://VAULTRA_TEST_MONGO_SOURCE"
        schedule: { cron: "0 3 * * *" }
        drill:
          rto: 30m
          checks:
            - name: paid orders
              query: '{"collection": "orders", "filter": {"paid": true}}'
              expect: "100"
            - name: no order placed after the backup
              query: '{"collection": "orders", "filter": {"placedAt": {"$gt": {"$date": "{{backupStartedAt}}"}}}}'
              expect: "0"
            - name: clicks
              query: '{"collection": "events", "pipeline": [{"$match": {"kind": "click"}}, {"$count": "n"}]}'
              expect: "100"
`,
    );
    await loadVariedFixture(mongo, source);
    good = await backup(source);
  }, 240_000);

  afterAll(async () => {
    await hook?.close();
    for (const database of [source, lostSource]) await dropMongoDatabase(mongo, database).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('drills a good backup into a throwaway server: every collection with its documents, the indexes, the job\'s Mongo checks, the RTO', async () => {
    const { result, json } = await drill([]);
    expect(result.code, result.stderr).toBe(0);
    expect(json).toMatchObject({ status: 'passed', backupRunId: good.runId, scratchRemoved: true });
    expect(json.scratch).toMatch(/^throwaway (FerretDB v?\d|mongod \d).* \(socket .*vaultra-drill-mongo-/);
    // The manifest's counts are collection metadata (estimates): the drill counts exactly and shows both.
    for (const [collection, documents] of Object.entries(VARIED_COUNTS)) {
      expect(json.checks).toContainEqual({ kind: 'contents', name: `collection ${source}.${collection}`, passed: true, detail: `${documents} rows (the backup estimated ${documents})` });
    }
    expect(json.checks.find((check) => check.kind === 'schema')).toEqual({ kind: 'schema', name: 'schema objects', passed: true, detail: '4 indexes restored' });
    expect(json.checks.filter((check) => check.kind === 'user')).toEqual([
      { kind: 'user', name: 'paid orders', passed: true, detail: 'returned "100"' },
      { kind: 'user', name: 'no order placed after the backup', passed: true, detail: 'returned "0"' },
      { kind: 'user', name: 'clicks', passed: true, detail: 'returned "100"' },
    ]);
    expect(json.rto).toMatchObject({ budgetMs: 30 * 60_000, withinBudget: true });
    expect(json.rto.totalMs).toBe(json.rto.phasesMs.fetch! + json.rto.phasesMs.restore! + json.rto.phasesMs.verify!);
    const recorded = await new LocalCatalog(join(ws.dir, 'catalog')).get(job, json.drillRunId);
    expect(recorded).toMatchObject({ kind: 'drill', status: 'succeeded', engine: 'mongodb', drill: { backupRunId: good.runId, rtoMs: json.rto.totalMs, failedChecks: 0 } });
    expect(hook.requests).toHaveLength(0);
    expectNoLeftovers();
  }, 180_000);

  it('fails when a Mongo check does not hold, with one line and an alert', async () => {
    const count = hook.requests.length;
    const { result, json } = await drill(['--check', '{"collection": "customers", "filter": {"country": "FR"}} => 41']);
    expect(result.code).toBe(3);
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(/^vaultra: error: 1 of \d+ drill checks failed: --check 1: returned "40", expected "41"$/)]);
    expect(json).toMatchObject({ status: 'failed', scratchRemoved: true });
    await hook.waitFor(count + 1);
    expect(alertTitles().at(-1)).toBe(`${job}: restore drill failed`);
    expectNoLeftovers();
  }, 180_000);

  it('fails a check that is not in the Mongo form, or would write, without running it', async () => {
    const { result, json } = await drill(['--check', 'select count(*) from orders => 300', '--check', '{"collection": "orders", "pipeline": [{"$out": "copy"}]} => 0']);
    expect(result.code).toBe(3);
    expect(json.checks.filter((check) => check.name.startsWith('--check'))).toEqual([
      { kind: 'user', name: '--check 1', passed: false, detail: expect.stringMatching(/^the check is not valid JSON .*: a MongoDB check is JSON: \{"collection"/) },
      { kind: 'user', name: '--check 2', passed: false, detail: 'a check only reads: its pipeline may not use $out' },
    ]);
    expectNoLeftovers();
  }, 180_000);

  it('fails a tampered backup with one line and an alert, and removes the scratch server', async () => {
    const tampered = makeWorkspace(root, 'tampered');
    const copy = await backup(source, tampered);
    const folder = fileURLToPath(copy.location);
    flipByte(join(folder, readdirSync(folder).find((name) => name.startsWith('data.'))!));
    const count = hook.requests.length;
    const { result, json } = await drill([], tampered);
    expect(result.code).toBe(3);
    // A small archive is hashed whole before age's authentication of the damaged chunk fails.
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(/^vaultra: error: data\.mongoarchive\.zst\.age fails its SHA-256 check .*: the stored object was altered$|^vaultra: error: age payload failed authentication/)]);
    expect(json).toMatchObject({ status: 'failed', scratchRemoved: true });
    await hook.waitFor(count + 1);
    expect(alertTitles().at(-1)).toBe(`${job}: restore drill failed`);
    expectNoLeftovers();
  }, 180_000);

  it('fails a backup whose dump lost a collection its (re-signed) manifest lists', async () => {
    // A real dump of the database without ledger; its manifest then lists ledger with the count it
    // had, signed again with the workspace's key (what a broken dump tool plus a trusted signer make).
    const lost = makeWorkspace(root, 'lost');
    await loadVariedFixture(mongo, lostSource);
    await withTestClient(mongo.url, (client) => client.db(lostSource).collection('ledger').drop());
    const run = await backup(lostSource, lost);
    const manifest = JSON.parse(readFileSync(join(fileURLToPath(run.location), 'manifest.json'), 'utf8')) as { contents: object[] };
    manifest.contents.push({ kind: 'collection', schema: lostSource, name: 'ledger', rows: VARIED_COUNTS.ledger, rowsExact: false });
    const store = { write: (key: string, bytes: Buffer | string) => writeFile(join(lost.store, key), bytes) };
    await writeResignedManifest(store, lost, manifestKey(job, run.runId), JSON.stringify(manifest, null, 2));

    const count = hook.requests.length;
    const { result, json } = await drill([], lost);
    expect(result.code).toBe(3);
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`^vaultra: error: 1 of \\d+ drill checks failed: collection ${lostSource}\\.ledger: missing from the restore: the backup lists it$`))]);
    expect(json).toMatchObject({ status: 'failed', scratchRemoved: true });
    await hook.waitFor(count + 1);
    expectNoLeftovers();
  }, 240_000);

  it('removes the throwaway server when the drill is interrupted (SIGINT)', async () => {
    const started = startVaultra(['drill', 'latest', '--job', job, '--from', ws.storeUrl, '--catalog', join(ws.dir, 'catalog'), '--no-progress'], { ...env(), NO_COLOR: '1' });
    const deadline = Date.now() + 60_000;
    while (!scratchLeftovers().some((item) => !before.has(item) && item.startsWith('pid')) && Date.now() < deadline) await sleep(50);
    process.kill(started.pid, 'SIGINT');
    const { code, stderr } = await started.result;
    expect(code).toBe(130);
    expect(errorLines(stderr)).toEqual([expect.stringMatching(/^vaultra: error: drill interrupted: the scratch target was removed/)]);
    expectNoLeftovers();
  }, 180_000);

  it('drills into a new database on a named server, drops it, and refuses a database that holds collections', async () => {
    const scratch = uniqueMongoDatabase('drill_scratch');
    const report = join(root, 'scratch-drill.md');
    const { result, json } = await drill(['--scratch', mongoUrl(mongo, scratch), '--report', report, '--check', '{"collection": "ledger", "pipeline": [{"$group": {"_id": null, "total": {"$sum": "$amount"}}}]} => -50']);
    expect(result.code, result.stderr).toBe(0);
    expect(json.scratch).toMatch(new RegExp(`^scratch database 127\\.0\\.0\\.1:\\d+/${scratch}$`));
    expect(json.checks).toContainEqual({ kind: 'contents', name: `collection ${source}.orders`, passed: true, detail: `${VARIED_COUNTS.orders} rows (the backup estimated ${VARIED_COUNTS.orders})` });
    expect(json.checks.at(-1)).toEqual({ kind: 'user', name: '--check 1', passed: true, detail: 'returned "-50"' });
    expect(await mongoCollections(mongo, scratch)).toEqual([]);
    // The drill's output, its report and its catalog record name the server, never its password.
    const password = decodeURIComponent(/\/\/[^:/]*:([^@]*)@/.exec(mongo.url)?.[1] ?? 'no-password');
    const recorded = JSON.stringify(await new LocalCatalog(join(ws.dir, 'catalog')).get(job, json.drillRunId));
    for (const [where, text] of [['output', result.stdout + result.stderr], ['report', readFileSync(report, 'utf8')], ['catalog', recorded]] as const) expect(text, where).not.toContain(password);
    expect(recorded).toContain(`scratch database 127.0.0.1`);

    const refused = await drill(['--scratch', mongoUrl(mongo, source)]);
    expect(refused.result.code).toBe(6);
    expect(errorLines(refused.result.stderr)).toEqual([expect.stringMatching(new RegExp(`^vaultra: error: scratch database 127\\.0\\.0\\.1:\\d+/${source} already holds 4 collection\\(s\\): name a database that does not exist`))]);
    expect(await mongoCollections(mongo, source)).toEqual(Object.keys(VARIED_COUNTS).sort());
  }, 180_000);
});
