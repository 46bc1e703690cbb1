/**
 * Point-in-time restore of MariaDB through the built CLI, against a MariaDB server of its own
 * (binary log on, ROW format): a full backup, writes in three batches with the server's commit
 * times between them, `vaultra logs push` after each, then `restore --at` each of the three times
 * into a new database gives exactly the rows committed up to it. Then the server purges a binary
 * log before it was pushed: the next push warns of the gap, `logs verify` exits 9, and a time in
 * the gap is refused before any target is touched, naming the nearest reachable times.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { startMariadb, type MariadbServer } from '../support/mariadb-server.js';
import { mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import { requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

describe('point-in-time restore of MariaDB through the CLI', () => {
  const tools = requireTools('mariadb', 'mariadb-dump', 'mariadb-binlog', 'zstd');
  if (!tools) return;

  let server: MariadbServer;
  let root = '';
  let ws: Workspace;
  const source = 'shop';
  /** The server's time after each batch committed (the batches are > 1 s apart). */
  const after: string[] = [];

  const cli = (args: string[]) => runVaultra(args, { env: ws.env, timeoutMs: 180_000 });
  const push = () => cli(['logs', 'push', mysqlUrl(server, source), '--to', ws.storeUrl, '--job', source, '--json', '--no-progress']);
  /** `null`: no database (server-wide statements). */
  const sql = (statement: string, database: string | null = source) => mysqlQuery(server, database ?? undefined, statement);
  const serverNow = async () => new Date(`${await sql('SELECT DATE_FORMAT(UTC_TIMESTAMP(6), "%Y-%m-%dT%H:%i:%s.%fZ")')}`).toISOString();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const batch = async (n: number) => {
    await sql(`INSERT INTO orders (batch, note) VALUES ${[1, 2, 3].map((i) => `(${n}, 'batch ${n} row ${i}')`).join(', ')}`);
    await sql(`UPDATE orders SET note = CONCAT(note, ' seen by ${n}') WHERE id = 1`);
    after.push(await serverNow());
    // The binary log's times are seconds: the next batch commits in a later second.
    await sleep(1_300);
  };
  const rowsIn = async (database: string) => sql('SELECT GROUP_CONCAT(CONCAT(batch, ":", note) ORDER BY id SEPARATOR "|") FROM orders', database);

  beforeAll(async () => {
    server = await startMariadb();
    root = mkdtempSync(join(tmpdir(), 'vaultra-pitr-my-'));
    ws = makeWorkspace(root, 'ws');
    await sql(`CREATE DATABASE ${source}`, null);
    await sql('CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, batch INT NOT NULL, note VARCHAR(200) NOT NULL)');
    await sql("INSERT INTO orders (batch, note) VALUES (0, 'before the base')");
    await sleep(1_100);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('restores exactly the rows committed up to each of three times, into new databases', async () => {
    const base = await cli(['backup', mysqlUrl(server, source), '--to', ws.storeUrl, '--job', source, '--json', '--no-progress']);
    expect(base.code, base.stderr).toBe(0);
    expect(JSON.parse(base.stdout).status).toBe('succeeded');
    await sleep(1_100);

    await batch(1);
    await batch(2);
    const first = await push();
    expect(first.code, first.stderr).toBe(0);
    const firstRun = JSON.parse(first.stdout);
    expect(firstRun.kind).toBe('log');
    expect(firstRun.log.events).toBeGreaterThanOrEqual(4);
    await batch(3);
    const second = await push();
    expect(second.code, second.stderr).toBe(0);
    // The second push continues exactly where the first ended.
    expect(JSON.parse(second.stdout).log.start).toBe(firstRun.log.end);

    const expected = [
      '0:before the base seen by 1|1:batch 1 row 1|1:batch 1 row 2|1:batch 1 row 3',
      '0:before the base seen by 1 seen by 2|1:batch 1 row 1|1:batch 1 row 2|1:batch 1 row 3|2:batch 2 row 1|2:batch 2 row 2|2:batch 2 row 3',
      '0:before the base seen by 1 seen by 2 seen by 3|1:batch 1 row 1|1:batch 1 row 2|1:batch 1 row 3|2:batch 2 row 1|2:batch 2 row 2|2:batch 2 row 3|3:batch 3 row 1|3:batch 3 row 2|3:batch 3 row 3',
    ];
    for (const [i, at] of after.entries()) {
      const target = `shop_at_${i + 1}`;
      const restored = await cli(['restore', '--at', at, '--job', source, '--from', ws.storeUrl, '--target', mysqlUrl(server, target), '--json', '--no-progress']);
      expect(restored.code, restored.stderr).toBe(0);
      expect(JSON.parse(restored.stdout).status).toBe('restored');
      expect(await rowsIn(target)).toBe(expected[i]);
    }
  }, 300_000);

  it('plans with --dry-run and refuses a time before the first base, touching nothing', async () => {
    const plan = await cli(['restore', '--at', after[1]!, '--job', source, '--from', ws.storeUrl, '--target', mysqlUrl(server, 'shop_plan'), '--dry-run', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const planned = JSON.parse(plan.stdout);
    expect(planned.status).toBe('planned');
    expect(planned.logRuns.length).toBeGreaterThanOrEqual(1);
    expect(await sql("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop_plan'", null)).toBe('0');

    const early = await cli(['restore', '--at', '2001-01-01T00:00:00Z', '--job', source, '--from', ws.storeUrl, '--target', mysqlUrl(server, 'shop_early')]);
    expect(early.code).toBe(5);
    expect(early.stderr).toMatch(/before the first base; nearest reachable: \S+ after it/);
    expect(await sql("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop_early'", null)).toBe('0');
  }, 120_000);

  it('a binary log purged before it was pushed is a gap: the push warns, verify exits 9, a time in it is refused', async () => {
    const healthy = await cli(['logs', 'verify', '--from', ws.storeUrl, '--job', source, '--json']);
    expect(healthy.code, healthy.stderr).toBe(0);
    expect(JSON.parse(healthy.stdout).ok).toBe(true);

    await sql('FLUSH BINARY LOGS', null);
    await sql("INSERT INTO orders (batch, note) VALUES (4, 'lost with the purged log')");
    const lostAt = await serverNow();
    await sleep(1_300);
    await sql('FLUSH BINARY LOGS', null);
    const current = (await sql('SHOW MASTER STATUS', null)).split('\t')[0]!;
    await sql(`PURGE BINARY LOGS TO '${current}'`, null);
    await sql("INSERT INTO orders (batch, note) VALUES (5, 'after the gap')");

    const gapped = await push();
    expect(gapped.code, gapped.stderr).toBe(0);
    expect(JSON.parse(gapped.stdout).log.gapFrom).toBeDefined();
    expect(gapped.stderr).toMatch(/purged before it was archived/);

    const verify = await cli(['logs', 'verify', '--from', ws.storeUrl, '--job', source]);
    expect(verify.code).toBe(9);
    expect(verify.stdout).toMatch(/GAP/);

    const refused = await cli(['restore', '--at', lostAt, '--job', source, '--from', ws.storeUrl, '--target', mysqlUrl(server, 'shop_gap')]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/after the last archived log|falls in a gap/);
    expect(await sql("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop_gap'", null)).toBe('0');
  }, 180_000);

  it('a new full after the gap starts a new chain; retention keeps only the log the kept base needs', async () => {
    const fresh = await cli(['backup', mysqlUrl(server, source), '--to', ws.storeUrl, '--job', source, '--json', '--no-progress']);
    expect(fresh.code, fresh.stderr).toBe(0);
    await sleep(1_100);
    await sql("INSERT INTO orders (batch, note) VALUES (6, 'after the new base')");
    const pushed = await push();
    expect(pushed.code, pushed.stderr).toBe(0);

    const pruned = await cli(['prune', '--job', source, '--from', ws.storeUrl, '--keep-last', '1', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    const outcome = JSON.parse(pruned.stdout);
    // The three pushes before the new base go with the old base; the one after it stays.
    expect(outcome.logs).toEqual(expect.objectContaining({ pruned: 3, kept: 1, failed: [] }));

    const verify = await cli(['logs', 'verify', '--from', ws.storeUrl, '--job', source, '--json']);
    expect(verify.code, verify.stdout).toBe(0);
    const latest = await cli(['restore', '--at', 'latest', '--job', source, '--from', ws.storeUrl, '--target', mysqlUrl(server, 'shop_latest'), '--json', '--no-progress']);
    expect(latest.code, latest.stderr).toBe(0);
    expect(await sql("SELECT COUNT(*) FROM orders WHERE batch = 6", 'shop_latest')).toBe('1');
  }, 180_000);

  it('vaultra run <job> --logs pushes a config job\'s log, continuing the same archive', async () => {
    const keygen = await cli(['keygen', '--out', join(root, 'config-identity.txt')]);
    expect(keygen.code, keygen.stderr).toBe(0);
    const config = join(root, 'vaultra.config.yaml');
    writeFileSync(
      config,
      `version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "${ws.storeUrl}" }
    jobs:
      ${source}:
        source: "env://SHOP_URL"
        schedule: { cron: "0 3 * * *" }
        encryption: { kms: false, recipients: [${keygen.stdout.trim()}] }
        logs: { every: 5m }
`,
    );
    await sql("INSERT INTO orders (batch, note) VALUES (7, 'pushed by vaultra run')");
    const before = JSON.parse((await cli(['logs', 'verify', '--from', ws.storeUrl, '--job', source, '--json'])).stdout).coveredUntil as string;
    const run = await runVaultra(['run', source, '--logs', '--config', config, '--json', '--no-progress'], { env: { ...ws.env, SHOP_URL: mysqlUrl(server, source) }, timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    const pushed = JSON.parse(run.stdout);
    expect(pushed).toMatchObject({ kind: 'log', status: 'succeeded', job: source });
    expect(pushed.log.events).toBeGreaterThanOrEqual(1);
    const after = await cli(['logs', 'verify', '--from', ws.storeUrl, '--job', source, '--json']);
    expect(after.code, after.stdout).toBe(0);
    expect(new Date(JSON.parse(after.stdout).coveredUntil).getTime()).toBeGreaterThan(new Date(before).getTime());
  }, 120_000);
});
