/**
 * Connection details from secret references, resolved in the runner only: `env://VAR` and
 * `secret+aws://` (Secrets Manager on moto), holding a URL or the JSON shape RDS rotation
 * keeps. The backup works, and the password appears in no output, stored file or catalog.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import type { BackupJson, RestoreJson } from '../support/cli-json.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { createDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { requireMoto, requirePostgres } from '../support/requirements.js';
import { makeWorkspace } from '../support/workspace.js';

/** Every file below `dir`, as text (the store and its catalog are small here). */
function everything(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: false })
    .map((name) => join(dir, String(name)))
    .filter((path) => statSync(path).isFile())
    .map((path) => readFileSync(path).toString('latin1'))
    .join('\n');
}

describe('connection details from secret references', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  if (!pg || !moto) return;
  let root = '';
  let database = '';
  const rds = () => JSON.stringify({ engine: 'postgres', host: pg.host, port: pg.port, username: pg.user, password: pg.password, dbname: database });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-secret-sources-'));
    database = uniqueDatabaseName('secretsrc');
    await createDatabase(pg, database);
    await loadVariedTypesFixture(pg, database);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const expectNoPassword = (where: string, text: string) => expect(text.includes(pg.password), `the password is in ${where}`).toBe(false);

  it('env:// holding RDS-style JSON: backs up and restores; the password is nowhere', async () => {
    const ws = makeWorkspace(root, 'env');
    const backup = await runVaultra(['backup', 'env://SHOP_DB_SECRET', '--to', ws.storeUrl, '--json'], { env: { ...ws.env, SHOP_DB_SECRET: rds(), PGPASSWORD: undefined } });
    expect(backup.code, backup.stderr).toBe(0);
    const taken = JSON.parse(backup.stdout) as BackupJson;
    expect(taken.job).toBe(database);
    const target = uniqueDatabaseName('secretdst');
    const targetSecret = JSON.stringify({ ...JSON.parse(rds()), dbname: target });
    const restore = await runVaultra(['restore', taken.runId, '--from', ws.storeUrl, '--target', 'env://TARGET_DB', '--json'], { env: { ...ws.env, TARGET_DB: targetSecret, PGPASSWORD: undefined } });
    expect(restore.code, restore.stderr).toBe(0);
    expect((JSON.parse(restore.stdout) as RestoreJson).target).toMatch(/^postgres:\/\/.*:\*\*\*@/);
    expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, database));
    for (const [where, text] of [['stdout', backup.stdout + restore.stdout], ['stderr', backup.stderr + restore.stderr], ['the store', everything(ws.dir)]] as const) expectNoPassword(where, text);
  });

  it('secret+aws:// (Secrets Manager) holding a URL, and a missing secret: exit 5, one line, nothing stored', async () => {
    const client = new SecretsManagerClient(motoClientConfig(moto));
    const name = `vaultra/${database}`;
    const url = `postgres://${encodeURIComponent(pg.user)}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${database}`;
    await client.send(new CreateSecretCommand({ Name: name, SecretString: url }));
    const ws = makeWorkspace(root, 'aws', moto.env);
    const backup = await runVaultra(['backup', `secret+aws://${name}`, '--to', ws.storeUrl, '--json'], { env: { ...ws.env, PGPASSWORD: undefined } });
    expect(backup.code, backup.stderr).toBe(0);
    expectNoPassword('stdout', backup.stdout);
    expectNoPassword('stderr', backup.stderr);

    const missing = await runVaultra(['backup', 'secret+aws://vaultra/no-such-secret', '--to', ws.storeUrl, '--job', 'missing'], { env: ws.env });
    expect(missing.code).toBe(5);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/vaultra\/no-such-secret/);
    expectNoPassword('the store', everything(ws.dir));
  });
});
