/**
 * `vaultra backup --run-id`: how a launched runner takes over the run a scheduler recorded as
 * pending, and why a run id can never run twice. Through the built CLI, with SQLite and the
 * local catalog beside the backups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { runVaultra } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';
import { createSqliteFixture } from '../support/sqlite-fixtures.js';
import { makeWorkspace } from '../support/workspace.js';

describe('backup --run-id (CLI)', () => {
  const tools = requireTools('sqlite3', 'zstd');
  if (!tools) return;

  let root = '';
  let database = '';
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-runid-'));
    database = join(root, 'app.db');
    await createSqliteFixture(database);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('claims a pending run recorded by a scheduler, and refuses the same run id a second time (exit 6)', async () => {
    const ws = makeWorkspace(root, 'claim');
    const catalog = new LocalCatalog(join(ws.store, '.vaultra', 'catalog'));
    const runId = '20261122T020000.000Z-c1a1e0';
    await catalog.create({ runId, job: 'app', kind: 'backup', status: 'pending', startedAt: '2026-11-22T02:00:00.000Z' });

    const first = await runVaultra(['backup', `sqlite:${database}`, '--to', ws.storeUrl, '--job', 'app', '--run-id', runId, '--json'], { env: ws.env });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ runId, status: 'succeeded' });
    expect(await catalog.get('app', runId)).toMatchObject({ status: 'succeeded', manifestKey: expect.stringContaining(runId) });

    const again = await runVaultra(['backup', `sqlite:${database}`, '--to', ws.storeUrl, '--job', 'app', '--run-id', runId], { env: ws.env });
    expect(again.code).toBe(6);
    expect(again.stderr.trim()).toBe(`vaultra: error: run ${runId} of job app is already succeeded: a run id is used once; omit --run-id for a new run`);
    expect(await catalog.get('app', runId)).toMatchObject({ status: 'succeeded' });
  });

  it('refuses a malformed run id before anything starts (exit 2)', async () => {
    const ws = makeWorkspace(root, 'bad');
    const result = await runVaultra(['backup', `sqlite:${database}`, '--to', ws.storeUrl, '--run-id', 'tomorrow'], { env: ws.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--run-id: run ids look like 20261122T031502.123Z-3f9c2a');
  });
});
