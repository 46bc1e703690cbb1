/**
 * KMS-wrapped backups end to end, through the built CLI against the run's PostgreSQL and moto
 * (AWS KMS and DynamoDB): `--kms aws-kms:<arn>` beside an age recipient or alone, restores with
 * no identity (KMS unwraps), rotation to a second key with both generations restorable, the
 * real `age` CLI opening the same file with the X25519 identity, and the failures a user meets
 * (a key that does not exist, a restore from an account without access: exit 4, one line
 * naming the key). Runs are recorded in a DynamoDB catalog table. AWS settings reach the CLI
 * only through the environment, as they would in a container.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbCatalogTableSchema } from '../../core/adapters/catalog/dynamodb-table-schema.js';
import { formatIdentityFile, generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import type { BackupJson, ManifestJson, RestoreJson, RunJson } from '../support/cli-json.js';
import { runOk } from '../support/exec.js';
import { motoClientConfig, otherAccount } from '../support/moto-clients.js';
import { createDatabase, dropDatabase, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery, quoteLiteral } from '../support/psql.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

const FIXTURE_SQL = `
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2), tags text[], joined timestamptz);
INSERT INTO shop.customers SELECT i, 'customer ' || i || ' ✓', i * 1.25, ARRAY['t' || (i % 7)], timestamptz '2026-01-01 00:00:00+00' + i * interval '1 hour' FROM generate_series(1, 3000) i;
CREATE TABLE shop.orders (id bigserial PRIMARY KEY, customer int REFERENCES shop.customers, total numeric, note jsonb);
INSERT INTO shop.orders (customer, total, note) SELECT 1 + i % 3000, i / 3.0, jsonb_build_object('i', i, 'gift', i % 5 = 0) FROM generate_series(1, 6000) i;
`;

describe('KMS-wrapped backups through the CLI (AWS KMS on moto)', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd', 'age');
  if (!pg || !moto || !tools) return;

  const source = uniqueDatabaseName('kms_src');
  const databases = new Set<string>([source]);
  const kms = new KMSClient(motoClientConfig(moto));
  const table = `vaultra-runs-${randomBytes(4).toString('hex')}`;
  const catalog = `dynamodb://${table}`;
  let root = '';
  let keyA = '';
  let keyB = '';
  let sourcePrints: Awaited<ReturnType<typeof tableFingerprints>> = {};

  const urlOf = (database: string): string => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const newDatabase = (prefix: string): string => {
    const name = uniqueDatabaseName(prefix);
    databases.add(name);
    return name;
  };
  /** A workspace whose CLI reaches moto through AWS_* variables only, with no default identity. */
  const workspace = (name: string): Workspace => makeWorkspace(root, name, { ...pgEnv(pg, 'postgres'), ...moto.env });
  const vaultra = (ws: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): Promise<VaultraResult> => runVaultra(args, { env: { ...ws.env, ...env } });
  const errorLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('vaultra: error:'));

  const backup = async (ws: Workspace, extra: string[]): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', urlOf(source), '--to', ws.storeUrl, '--catalog', catalog, '--json', '--no-progress', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };
  const restore = (ws: Workspace, runId: string, target: string, env: NodeJS.ProcessEnv = {}): Promise<VaultraResult> =>
    vaultra(ws, ['restore', runId, '--from', ws.storeUrl, '--target', urlOf(target), '--catalog', catalog, '--json', '--no-progress'], env);
  const restoreEqual = async (ws: Workspace, runId: string): Promise<void> => {
    const target = newDatabase('kms_dst');
    const result = await restore(ws, runId, target);
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as RestoreJson).status).toBe('restored');
    expect(await tableFingerprints(pg, target)).toEqual(sourcePrints);
  };
  const runFolder = (ws: Workspace, runId: string): string => join(ws.store, source, runId.slice(0, 4), runId.slice(4, 6), runId.slice(6, 8), runId);
  const manifestOf = (ws: Workspace, runId: string): ManifestJson => JSON.parse(readFileSync(join(runFolder(ws, runId), 'manifest.json'), 'utf8')) as ManifestJson;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-kms-rt-'));
    await createDatabase(pg, source);
    await psqlQuery(pg, source, FIXTURE_SQL);
    sourcePrints = await tableFingerprints(pg, source);
    keyA = (await kms.send(new CreateKeyCommand({ Description: 'vaultra backups (2026)' }))).KeyMetadata!.Arn!;
    keyB = (await kms.send(new CreateKeyCommand({ Description: 'vaultra backups (2027)' }))).KeyMetadata!.Arn!;
    await new DynamoDBClient(motoClientConfig(moto)).send(new CreateTableCommand(dynamoDbCatalogTableSchema(table).createTable));
  });

  afterAll(async () => {
    for (const name of databases) await dropDatabase(pg, name);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('--kms beside --recipient: restores with no identity through KMS; age -d opens the same file with the X25519 identity', async () => {
    const ws = workspace('both');
    const { identity, recipient } = generateX25519Identity();
    const identityFile = join(ws.dir, 'offline.key');
    writeFileSync(identityFile, formatIdentityFile(identity), { mode: 0o600 });

    const taken = await backup(ws, ['--kms', `aws-kms:${keyA}`, '--recipient', recipient]);
    expect(taken.encryption?.recipients).toEqual([
      { type: 'x25519', recipient },
      { type: 'kms', service: 'aws-kms', keyId: keyA },
    ]);
    const manifest = manifestOf(ws, taken.runId);
    expect(manifest.encryption.recipients).toEqual(taken.encryption?.recipients);
    // The header carries the wrapped key; the manifest only names the key.
    const dataFile = join(runFolder(ws, taken.runId), manifest.objects[0]!.name);
    const header = readFileSync(dataFile).subarray(0, 1024).toString('latin1');
    expect(header).toContain(`\n-> vaultra-kms aws-kms ${keyA}\n`);
    const wrappedLine = header.split('\n')[header.split('\n').findIndex((line) => line.startsWith('-> vaultra-kms')) + 1]!;
    expect(JSON.stringify(manifest)).not.toContain(wrappedLine.slice(0, 32));

    await restoreEqual(ws, taken.runId);

    // The reference age CLI skips the unknown stanza and opens the X25519 one.
    const compressed = join(ws.dir, 'data.pgdump.zst');
    await runOk(tools.age, ['-d', '-i', identityFile, '-o', compressed, dataFile]);
    const dump = await runOk(tools.zstd, ['-d', '-c', compressed]);
    expect(dump.stdoutBytes.subarray(0, 5).toString('latin1')).toBe('PGDMP');
  });

  it('rotation: backups under key A, then under key B; both generations restore and verify with no identity', async () => {
    const ws = workspace('rotation');
    const before = await backup(ws, ['--kms', `aws-kms:${keyA}`]);
    const after = await backup(ws, ['--kms', `aws-kms:${keyB}`]);
    expect(manifestOf(ws, before.runId).encryption.recipients).toEqual([{ type: 'kms', service: 'aws-kms', keyId: keyA }]);
    expect(manifestOf(ws, after.runId).encryption.recipients).toEqual([{ type: 'kms', service: 'aws-kms', keyId: keyB }]);
    // KMS only: no default identity was created (only the signing key every backup is signed with).
    expect(readdirSync(join(ws.dir, 'config', 'vaultra'))).toEqual(['signing-key.pem']);

    for (const { runId } of [before, after]) {
      const verified = await vaultra(ws, ['verify', runId, '--from', ws.storeUrl, '--catalog', catalog]);
      expect(verified.code, verified.stderr).toBe(0);
      await restoreEqual(ws, runId);
    }

    const listed = await vaultra(ws, ['list', '--from', ws.storeUrl, '--catalog', catalog, '--job', source, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const runIds = (JSON.parse(listed.stdout) as RunJson[]).map((run) => run.runId);
    expect(runIds.indexOf(after.runId)).toBeLessThan(runIds.indexOf(before.runId));

    // A lost catalog table is rebuilt from the manifests, idempotently.
    const rebuiltTable = `vaultra-runs-${randomBytes(4).toString('hex')}`;
    await new DynamoDBClient(motoClientConfig(moto)).send(new CreateTableCommand(dynamoDbCatalogTableSchema(rebuiltTable).createTable));
    const rebuild = () => vaultra(ws, ['catalog', 'rebuild', '--from', ws.storeUrl, '--catalog', `dynamodb://${rebuiltTable}`, '--json']);
    const first = await rebuild();
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ recorded: 2, unchanged: 0 });
    expect(JSON.parse((await rebuild()).stdout)).toEqual({ recorded: 0, unchanged: 2 });
    const rebuilt = await vaultra(ws, ['list', '--from', ws.storeUrl, '--catalog', `dynamodb://${rebuiltTable}`, '--json']);
    expect((JSON.parse(rebuilt.stdout) as RunJson[]).map((run) => run.runId)).toEqual([after.runId, before.runId]);
  });

  it('an alias works as the key id and is recorded as written', async () => {
    const ws = workspace('alias');
    const alias = `alias/vaultra-${randomBytes(3).toString('hex')}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyB }));
    const taken = await backup(ws, ['--kms', `aws-kms:${alias}`]);
    expect(manifestOf(ws, taken.runId).encryption.recipients).toEqual([{ type: 'kms', service: 'aws-kms', keyId: alias }]);
    await restoreEqual(ws, taken.runId);
  });

  it('a key that does not exist: exit 4, one line naming the key, a failed run in the catalog, no file stored', async () => {
    const ws = workspace('missing-key');
    const missing = `arn:aws:kms:${moto.region}:123456789012:key/00000000-0000-4000-8000-00000000dead`;
    const job = `kms-missing-${randomBytes(3).toString('hex')}`;
    const result = await vaultra(ws, ['backup', urlOf(source), '--job', job, '--to', ws.storeUrl, '--catalog', catalog, '--no-progress', '--kms', `aws-kms:${missing}`]);
    expect(result.code, result.stderr).toBe(4);
    expect(errorLines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`AWS KMS key ${missing.replace(/[/]/g, '\\/')}: not found`))]);

    const runs = await vaultra(ws, ['list', '--from', ws.storeUrl, '--catalog', catalog, '--job', job, '--all', '--json']);
    expect(runs.code, runs.stderr).toBe(0);
    expect(JSON.parse(runs.stdout)).toEqual([expect.objectContaining({ job, status: 'failed', error: expect.objectContaining({ kind: 'key' }) })]);
    expect(readdirSync(ws.store, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile())).toEqual([]);
  });

  it('a restore from an account without access to the key: exit 4, one line naming the key, no database created', async () => {
    const ws = workspace('no-access');
    const taken = await backup(ws, ['--kms', `aws-kms:${keyA}`]);
    const outsider = await otherAccount(moto);
    const target = newDatabase('kms_denied');
    // The catalog lives in the first account: the outsider records into a local one.
    const result = await vaultra(ws, ['restore', taken.runId, '--from', ws.storeUrl, '--target', urlOf(target), '--catalog', join(ws.dir, 'catalog'), '--no-progress'], outsider.env);
    expect(result.code, result.stderr).toBe(4);
    expect(errorLines(result.stderr)).toEqual([expect.stringContaining(`AWS KMS key ${keyA}: access denied to kms:Decrypt`)]);
    expect(await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(target)}`)).toBe('0');
  });

  it('an altered wrapped key in a stored backup is reported as damage (exit 3), not as a key problem', async () => {
    const ws = workspace('altered');
    const taken = await backup(ws, ['--kms', `aws-kms:${keyA}`]);
    const dataFile = join(runFolder(ws, taken.runId), manifestOf(ws, taken.runId).objects[0]!.name);
    const bytes = readFileSync(dataFile);
    const bodyAt = bytes.indexOf('\n', bytes.indexOf('-> vaultra-kms')) + 1 + 10;
    bytes[bodyAt] = bytes[bodyAt] === 0x41 ? 0x42 : 0x41; // another base64 letter: still well-formed
    writeFileSync(dataFile, bytes);
    const target = newDatabase('kms_altered');
    const result = await restore(ws, taken.runId, target);
    expect(result.code, result.stderr).toBe(3);
    expect(errorLines(result.stderr)).toHaveLength(1);
  });

  it('flags: --kms needs <service>:<key id> and cannot go with --passphrase-env or --no-encryption (exit 2)', async () => {
    const ws = workspace('flags');
    for (const extra of [['--kms', keyA], ['--kms', 'aws-kms:'], ['--kms', `aws-kms:${keyA}`, '--no-encryption'], ['--kms', `aws-kms:${keyA}`, '--passphrase-env', 'PASS']]) {
      const result = await vaultra(ws, ['backup', urlOf(source), '--to', ws.storeUrl, ...extra], { PASS: 'correct horse battery' });
      expect(result.code, `${extra.join(' ')}: ${result.stderr}`).toBe(2);
      expect(errorLines(result.stderr)).toHaveLength(1);
    }
  });
});
