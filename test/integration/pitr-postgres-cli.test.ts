/**
 * Point-in-time restore of PostgreSQL 15 through the built CLI, against a server of its own
 * (replication on, 1 MB WAL segments): `backup --method physical`, writes in batches with the
 * server's commit times between them, `vaultra logs push` after each, then `restore --at T
 * --target pgdata:<dir> --start` for two times, and a server started on each data directory holds
 * exactly the rows committed up to T. A physical base restored on its own (no --at) recovers to
 * its consistent point. `vaultra wal push <segment>` (archive_command mode) stores a finished
 * segment as a log run.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, pgEnv, runVaultra } from '../support/cli.js';
import { ADMIN_USER, startPostgres, startPostgresOn, type PostgresServer } from '../support/postgres-server.js';
import { psqlQuery } from '../support/psql.js';
import { requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

describe('point-in-time restore of PostgreSQL through the CLI', () => {
  const tools = requireTools('pg_basebackup', 'pg_receivewal', 'zstd');
  if (!tools) return;

  let server: PostgresServer;
  let root = '';
  let ws: Workspace;
  const job = 'pg';
  /** The server's time after each batch committed (the batches are > 1 s apart). */
  const after: string[] = [];

  const sql = (text: string) => psqlQuery(server, 'postgres', text);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const cli = (args: string[]) => runVaultra(args, { env: { ...ws.env, ...pgEnv(server) }, timeoutMs: 180_000 });
  const sourceUrl = () => databaseUrl({ ...server, url: server.url.replace(/:[^:@/]*@/, '@') }, 'postgres');
  const push = () => cli(['logs', 'push', sourceUrl(), '--to', ws.storeUrl, '--job', job, '--json', '--no-progress']);
  const batch = async (n: number, rows: number) => {
    await sql(`INSERT INTO orders (batch) SELECT ${n} FROM generate_series(1, ${rows})`);
    after.push(await sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"));
    await sleep(1_200);
  };
  /** Rows per batch in a server started on a recovered data directory. */
  const rowsIn = async (dataDir: string) => {
    const restored = await startPostgresOn(dataDir, { user: ADMIN_USER, password: server.password });
    try {
      return await psqlQuery(restored, 'postgres', "SELECT string_agg(batch || ':' || n, ',' ORDER BY batch) FROM (SELECT batch, count(*) AS n FROM orders GROUP BY batch) c");
    } finally {
      await restored.stop();
    }
  };
  const dataDir = (name: string) => `pgdata:${join(root, name)}`;

  beforeAll(async () => {
    server = await startPostgres({ replication: true, walSegmentSizeMb: 1 });
    root = mkdtempSync(join(tmpdir(), 'vaultra-pitr-pg-'));
    // Run as root, the recovery server (the postgres user) must pass through to its data directory.
    chmodSync(root, 0o711);
    ws = makeWorkspace(root, 'ws');
    await sql('CREATE TABLE orders (id bigserial PRIMARY KEY, batch int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
    await sql('INSERT INTO orders (batch) SELECT 0 FROM generate_series(1, 5)');
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a physical base, pushed WAL, and restores --at two times into data directories hold exactly the rows up to each', async () => {
    const base = await cli(['backup', sourceUrl(), '--method', 'physical', '--to', ws.storeUrl, '--job', job, '--json', '--no-progress']);
    expect(base.code, base.stderr).toBe(0);
    const taken = JSON.parse(base.stdout);
    expect(taken.status).toBe('succeeded');

    await sleep(1_100);
    await batch(1, 3);
    const first = await push();
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).log.kind).toBe('wal');
    await batch(2, 4);
    const second = await push();
    expect(second.code, second.stderr).toBe(0);
    await batch(3, 6);
    const third = await push();
    expect(third.code, third.stderr).toBe(0);

    const verify = await cli(['logs', 'verify', '--from', ws.storeUrl, '--job', job, '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    const expected = ['0:5,1:3', '0:5,1:3,2:4'];
    for (const [i, at] of after.slice(0, 2).entries()) {
      const target = dataDir(`at-${i + 1}`);
      const restored = await cli(['restore', '--at', at, '--job', job, '--from', ws.storeUrl, '--target', target, '--start', '--json', '--no-progress']);
      expect(restored.code, restored.stderr).toBe(0);
      expect(JSON.parse(restored.stdout).status).toBe('restored');
      expect(await rowsIn(target.slice('pgdata:'.length))).toBe(expected[i]);
    }
  }, 300_000);

  it('a physical base restored on its own recovers to its consistent point', async () => {
    const target = dataDir('base-only');
    const restored = await cli(['restore', 'latest', '--job', job, '--from', ws.storeUrl, '--target', target, '--start', '--json', '--no-progress']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await rowsIn(target.slice('pgdata:'.length))).toBe('0:5');
  }, 180_000);

  it('refuses a time after the archive, and a logical restore into a data directory', async () => {
    const late = await cli(['restore', '--at', '2100-01-01T00:00:00Z', '--job', job, '--from', ws.storeUrl, '--target', dataDir('late')]);
    expect(late.code).toBe(5);
    expect(late.stderr).toMatch(/after the last archived log; nearest reachable: \S+ before it/);
  }, 60_000);

  it('vaultra wal push stores a finished segment as a log run (archive_command mode)', async () => {
    const segment = await sql('SELECT pg_walfile_name(pg_current_wal_lsn())');
    await sql('SELECT pg_switch_wal()');
    await sql('INSERT INTO orders (batch) VALUES (9)');
    await sql('CHECKPOINT');
    const pushed = await cli(['wal', 'push', join(server.dataDir, 'pg_wal', segment), '--job', 'pg-archive', '--to', ws.storeUrl, '--json']);
    expect(pushed.code, pushed.stderr).toBe(0);
    const run = JSON.parse(pushed.stdout);
    expect(run.kind).toBe('log');
    expect(run.log.files).toEqual([segment]);
    const listed = await cli(['list', '--from', ws.storeUrl, '--job', 'pg-archive', '--logs']);
    expect(listed.stdout).toContain(run.runId);
  }, 120_000);
});
