/**
 * Secrets never leak from a MongoDB backup or restore: not the database password (the test
 * server's password starts with `canary-`), not a wrong password, not an age passphrase given
 * with `--passphrase-env`. Every command runs under a {@link CanaryWitness}
 * (test/support/canary.ts): shims for mongodump, mongorestore, zstd and pigz log the argv and
 * environment they were started with, and a sampler reads the argv and environment of every
 * process vaultra starts. Then stdout, stderr, every byte of every file in the store (manifests,
 * `.vaultra` catalog records, data objects), both witnesses and vaultra's TMPDIR are searched for
 * each canary.
 *
 * The mongo tools get the connection in a 0600 config file (`--config <file>`, their first
 * argument) in vaultra's TMPDIR; the test checks every such file is gone once vaultra exited,
 * killed dump included. The password is inline in the source and target URLs: vaultra's own
 * argv holds what the user typed, which is the user's choice and not checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killWhen, plantCanaries, watchCanaries } from '../support/canary.js';
import { dropMongoDatabase, loadBulk, loadVariedFixture, mongoCollections, mongoFingerprints, mongoUrl, uniqueMongoDatabase } from '../support/mongo-fixtures.js';
import { isFerret } from '../support/mongo-server.js';
import { PASSWORD_CANARY_PREFIX } from '../support/postgres-server.js';
import { bytesWritten, type ProcessInfo } from '../support/processes.js';
import { requireMongo, requireTools } from '../support/requirements.js';

const MiB = 1024 * 1024;
const SHIMMED_TOOLS = ['mongodump', 'mongorestore', 'zstd', 'pigz'] as const;

describe('mongodb: canary secrets never leak', () => {
  const mongo = requireMongo();
  const tools = requireTools('mongodump', 'mongorestore', 'zstd');
  if (!mongo || !tools) return;

  const canaries = plantCanaries(decodeURIComponent(new URL(mongo.url).password));
  const { password, wrongPassword, passphrase, wrongPassphrase } = canaries;

  const smallDb = uniqueMongoDatabase('canary_small');
  /** ~20 MB of incompressible documents: a dump long enough to be seen, and killed, mid-stream. */
  const bigDb = uniqueMongoDatabase('canary_big');
  const databases = new Set([smallDb, bigDb]);

  const witness = watchCanaries({ prefix: 'vaultra-mongo-canary-', canaries, tools: SHIMMED_TOOLS, dropVariables: ['MONGO'], telemetry: true });
  const { vaultra } = witness;

  /** The URL of a database with the admin password inline, as a user may type it. */
  const inlineUrl = (db: string) => mongoUrl(mongo, db);
  const wrongUrl = (db: string) => {
    const url = new URL(inlineUrl(db));
    url.password = wrongPassword;
    return url.toString();
  };
  const newDatabase = (prefix: string) => {
    const name = uniqueMongoDatabase(prefix);
    databases.add(name);
    return name;
  };
  const runIdOf = (stdout: string) => (JSON.parse(stdout) as { runId: string }).runId;
  const passEnv = (secret: string) => ({ VAULTRA_CANARY_PASSPHRASE: secret });

  beforeAll(async () => {
    // Against a real MongoDB (VAULTRA_TEST_MONGODB_URI) the password is whatever it is; the
    // harness's FerretDB gets a canary.
    expect(password, 'the canary test needs a server with authentication').not.toBe('');
    if (isFerret(mongo)) expect(password.startsWith(PASSWORD_CANARY_PREFIX)).toBe(true);
    await Promise.all([loadVariedFixture(mongo, smallDb), loadBulk(mongo, bigDb, 'rows', 10_000, 2_000)]);
  });

  afterAll(async () => {
    for (const db of databases) await dropMongoDatabase(mongo, db).catch(() => undefined);
  });

  let smallRunId = '';

  it('backup with the password inline in the URL: not in any child argv or environment, output, stored file or TMPDIR', async () => {
    const result = await vaultra(['backup', inlineUrl(bigDb), '--to', witness.storeUrl, '--job', 'inline', '--recipient', witness.key.recipient, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded', engine: 'mongodb' });
    // The sampler really watched the dump: it saw mongodump (with its config file) and zstd at work.
    const seen = [...result.argvSeen].join('\n');
    expect(seen).toMatch(new RegExp(`mongodump: \\S*mongodump --config \\S+ --archive --db ${bigDb}`));
    expect(seen).toMatch(/zstd: \S*zstd /);
    expect(result.environSeen.size).toBeGreaterThan(0);
    expect(result.samples).toBeGreaterThan(10);
    await witness.expectStoreClean();
  });

  it('list, verify, restore and a dry run (target URL with the password inline): same', async () => {
    const made = await vaultra(['backup', inlineUrl(smallDb), '--to', witness.storeUrl, '--job', 'small', '--recipient', witness.key.recipient, '--json']);
    expect(made.code, made.stderr).toBe(0);
    smallRunId = runIdOf(made.stdout);

    await witness.expectListsClean();
    const verified = await vaultra(['verify', smallRunId, '--from', witness.storeUrl, '--identity', witness.key.path, '--json']);
    expect(verified.code, verified.stderr).toBe(0);

    const target = newDatabase('canary_restored');
    const restored = await vaultra(['restore', smallRunId, '--from', witness.storeUrl, '--identity', witness.key.path, '--target', inlineUrl(target), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ status: 'restored', target: expect.stringContaining(':***@') });
    expect([...restored.argvSeen].join('\n')).toMatch(/mongorestore: \S*mongorestore --config \S+ --archive/);
    expect(await mongoFingerprints(mongo, target)).toEqual(await mongoFingerprints(mongo, smallDb));

    const dryTarget = newDatabase('canary_dry');
    const dry = await vaultra(['restore', smallRunId, '--from', witness.storeUrl, '--identity', witness.key.path, '--target', inlineUrl(dryTarget), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await mongoCollections(mongo, dryTarget)).toEqual([]);
    await witness.expectStoreClean();
  });

  it('failures (mongodump killed mid-stream, a wrong password, a wrong key, a non-empty target, a login refused on restore): the error line carries no secret', async () => {
    const midStream = (p: ProcessInfo) => p.comm === 'mongodump' && p.argv.includes('--archive') && bytesWritten(p.pid) > MiB;
    const killed = await vaultra(['backup', inlineUrl(bigDb), '--to', witness.storeUrl, '--job', 'killed', '--recipient', witness.key.recipient, '--json'], {}, killWhen(midStream, 'mongodump mid-stream'));
    expect(killed.code, killed.stderr).toBe(1);
    expect(killed.stderr).toMatch(/^vaultra: error: mongodump of [^\n]* failed \(killed by SIGKILL[^\n]*\)\n$/);

    const refused = await vaultra(['backup', wrongUrl(smallDb), '--to', witness.storeUrl, '--job', 'wrong-password', '--recipient', witness.key.recipient]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^vaultra: error: cannot read MongoDB .*authentication failed/);

    const fresh = newDatabase('canary_fresh');
    await witness.expectRestoresRefused(smallRunId, { fresh: inlineUrl(fresh), nonEmpty: inlineUrl(smallDb) });

    const badLogin = await vaultra(['restore', smallRunId, '--from', witness.storeUrl, '--identity', witness.key.path, '--target', wrongUrl(fresh)]);
    expect(badLogin.code).toBe(1);
    expect(badLogin.stderr).toMatch(/authentication failed/);
    expect(await mongoCollections(mongo, fresh)).toEqual([]);
    await witness.expectStoreClean();
  });

  it('an age passphrase (--passphrase-env) with the MongoDB source: not in argv, environments, output or stored files, through backup, verify, restore and a wrong passphrase', async () => {
    const made = await vaultra(['backup', inlineUrl(smallDb), '--to', witness.storeUrl, '--job', 'passphrase', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], passEnv(passphrase));
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ engine: 'mongodb', encryption: { recipients: [{ type: 'scrypt', workFactor: 12 }] } });
    const runId = runIdOf(made.stdout);

    const verified = await vaultra(['verify', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], passEnv(passphrase));
    expect(verified.code, verified.stderr).toBe(0);

    const target = newDatabase('canary_pass');
    const restored = await vaultra(['restore', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', inlineUrl(target)], passEnv(passphrase));
    expect(restored.code, restored.stderr).toBe(0);
    expect(await mongoFingerprints(mongo, target)).toEqual(await mongoFingerprints(mongo, smallDb));

    const other = newDatabase('canary_pass_wrong');
    const refused = await vaultra(['restore', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', inlineUrl(other)], passEnv(wrongPassphrase));
    expect(refused.code).toBe(4);
    expect(await mongoCollections(mongo, other)).toEqual([]);
    const refusedVerify = await vaultra(['verify', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE'], passEnv(wrongPassphrase));
    expect(refusedVerify.code).toBe(4);
    await witness.expectStoreClean();
  });

  it('the final sweep: store and catalog, outputs, the argv and environment every tool was started with; the config files are gone', async () => {
    const calls = await witness.expectFinalSweepClean({ dataObject: /\/data\.mongoarchive\.zst\.age$/, tools: ['mongodump', 'mongorestore', 'zstd'] });
    expect(calls.some((call) => call.argv[0] === 'mongorestore' && call.argv.includes('--dryRun'))).toBe(true);
    // Every mongo tool got the connection as a config file, first argument, and that file is gone.
    const configFile = (argv: readonly string[]) => (argv[1] === '--config' ? argv[2] : undefined);
    const checked = await witness.expectCredentialsFilesGone(['mongodump', 'mongorestore'], configFile, /\/vaultra-mongo-[^/]+\/connection\.yaml$/);
    expect(checked).toBeGreaterThan(5);
    expect(witness.outputs.length).toBeGreaterThan(15);
    expect(witness.argvSeen.size).toBeGreaterThan(3);
  });
});
