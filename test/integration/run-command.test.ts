/**
 * `vaultra run <job>`: a job of a local environment of vaultra.config.yaml, through the built
 * CLI, against SQLite and a folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';
import { createSqliteFixture, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { makeWorkspace } from '../support/workspace.js';

describe('vaultra run <job> (CLI, local environment)', () => {
  const tools = requireTools('sqlite3', 'zstd', 'age-keygen');
  if (!tools) return;

  let root = '';
  let config = '';
  let database = '';
  let store = '';
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-run-'));
    database = join(root, 'app.db');
    store = join(root, 'backups');
    await createSqliteFixture(database);
    const ws = makeWorkspace(root, 'keys');
    const keygen = await runVaultra(['keygen', '--out', join(root, 'identity.txt')], { env: ws.env });
    const recipient = keygen.stdout.trim();
    config = join(root, 'vaultra.config.yaml');
    writeFileSync(
      config,
      `version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "${pathToFileURL(store).href}" }
    defaults:
      encryption: { kms: false, recipients: [${recipient}] }
    jobs:
      app:
        source: "sqlite:${database}"
        schedule: { cron: "0 * * * *" }
        compression: { id: gzip, level: 4 }
  prod:
    cloud: aws
    region: eu-west-1
    jobs:
      shop: { source: "secret+aws://prod/shop", schedule: { cron: "0 3 * * *" } }
`,
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('backs the job up with its own settings into its environment’s storage, and it restores', async () => {
    const ws = makeWorkspace(root, 'run');
    const result = await runVaultra(['run', 'app', '--config', config, '--json'], { env: ws.env });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { runId: string; job: string; status: string; location: string; compression: { id: string; level: number }; encryption: { recipients: string[] } };
    expect(summary).toMatchObject({ job: 'app', status: 'succeeded', compression: { id: 'gzip', level: 4 } });
    expect(summary.location.startsWith(pathToFileURL(store).href)).toBe(true);

    const restored = join(root, 'restored.db');
    const restore = await runVaultra(['restore', summary.runId, '--from', pathToFileURL(store).href, '--target', `sqlite:${restored}`, '--identity', join(root, 'identity.txt')], { env: ws.env });
    expect(restore.code, restore.stderr).toBe(0);
    expect(await sqliteFingerprints(restored)).toEqual(await sqliteFingerprints(database));
  });

  it('refuses a cloud environment, an unknown job and a missing config, each in one line', async () => {
    const ws = makeWorkspace(root, 'refusals');
    const cloud = await runVaultra(['run', 'shop', '--config', config, '--env', 'prod'], { env: ws.env });
    expect(cloud.code).toBe(2);
    expect(cloud.stderr.trim()).toBe('vaultra: error: environment prod runs in aws: start its jobs on demand through its api function, not on this machine');
    const unknown = await runVaultra(['run', 'ghost', '--config', config], { env: ws.env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('vaultra: error: environment laptop has no job "ghost": it has app');
    const missing = await runVaultra(['run', 'app', '--config', join(root, 'nope.yaml')], { env: ws.env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  });
});
