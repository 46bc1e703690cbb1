/**
 * `vaultra drill --done-file` (VAULTRA_DRILL_DONE_FILE, set on a GCP drill job's runner, issue 20):
 * the drill writes its exit code there as it exits, and the scratch server beside it stops when
 * the file appears (infra/gcp/scripts/drill-scratch-server.sh, tested in
 * gcp-drill-scratch-server.test.ts). Through the built CLI (`npm run build` first), the three ways
 * a drill ends: passed (a SQLite backup), failed (no backup to drill), interrupted (SIGTERM while
 * it waits for a scratch server that never comes up, as a Cloud Run task being stopped).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import { createDatabase, dropDatabase, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { freePort } from '../support/postgres-server.js';
import { sleep } from '../support/processes.js';
import { pgEnv, psqlExec } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { createSqliteFixture } from '../support/sqlite-fixtures.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

describe('vaultra drill --done-file', () => {
  const tools = requireTools('sqlite3', 'zstd');
  if (!tools) return;

  let root = '';
  let ws: Workspace;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-drilltest-done-'));
    ws = makeWorkspace(root, 'ws', process.env);
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const doneFile = (name: string) => join(root, name);
  const vaultra = (args: string[], env: NodeJS.ProcessEnv = {}) => runVaultra(args, { env: { ...ws.env, ...env }, cwd: ws.dir, timeoutMs: 180_000 });

  it('holds 0 after a drill that passed', async () => {
    // Prepare
    const db = join(root, 'shop.db');
    await createSqliteFixture(db);
    const backup = await vaultra(['backup', `sqlite:${db}`, '--job', 'shop', '--to', ws.storeUrl, '--no-progress']);
    expect(backup.code, backup.stderr).toBe(0);
    const file = doneFile('passed');

    // Act
    const drill = await vaultra(['drill', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--no-progress'], { VAULTRA_DRILL_DONE_FILE: file });

    // Assess
    expect(drill.code, drill.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('0\n');
  });

  it('holds the exit code of a drill that failed (named by --done-file)', async () => {
    const file = doneFile('failed');
    const empty = join(root, 'empty-store');

    const drill = await vaultra(['drill', 'latest', '--job', 'shop', '--from', `file://${empty}`, '--no-progress', '--done-file', file]);

    expect(drill.code).not.toBe(0);
    expect(drill.stderr).toMatch(/^vaultra: error: /m);
    expect(readFileSync(file, 'utf8')).toBe(`${drill.code}\n`);
  });

  describe('interrupted', () => {
    const pg = requirePostgres();
    const pgTools = requireTools('pg_dump', 'pg_restore', 'psql', 'pg_isready');
    if (!pg || !pgTools) return;

    const database = uniqueDatabaseName('drill_done');
    beforeAll(async () => {
      await createDatabase(pg, database);
      await psqlExec(pg, database, 'create table orders (id int primary key, total numeric); insert into orders select n, n * 1.5 from generate_series(1, 100) n;');
    });
    afterAll(async () => {
      await dropDatabase(pg, database).catch(() => undefined);
    });

    it('holds 130 after SIGTERM, as a Cloud Run task stopped mid-drill', async () => {
      // Prepare: a PostgreSQL backup, and a scratch server that never comes up (the drill waits for it, up to 3 minutes).
      const env = { ...ws.env, ...pgEnv(pg, database), NO_COLOR: '1' };
      const backup = await runVaultra(['backup', `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`, '--job', 'orders', '--to', ws.storeUrl, '--no-progress'], { env, cwd: ws.dir });
      expect(backup.code, backup.stderr).toBe(0);
      const nowhere = await freePort();
      const file = doneFile('interrupted');

      // Act
      const started = startVaultra(['drill', 'latest', '--job', 'orders', '--from', ws.storeUrl, '--scratch', `postgres://postgres@127.0.0.1:${nowhere}/vaultra_drill`, '--no-progress'], { ...env, VAULTRA_DRILL_DONE_FILE: file });
      await sleep(3000);
      expect(existsSync(file)).toBe(false);
      process.kill(started.pid, 'SIGTERM');
      const { code, stderr } = await started.result;

      // Assess
      expect(code, stderr).toBe(130);
      expect(readFileSync(file, 'utf8')).toBe('130\n');
    });
  });
});
