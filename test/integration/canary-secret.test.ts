/**
 * Secrets never reach logs, error messages, argv, tool environments or stored files. The
 * harness's PostgreSQL password starts with `canary-`; an age passphrase and a wrong password
 * get canaries of their own. Every command runs under a {@link CanaryWitness} (test/support/canary.ts):
 * a sampler of the argv and environment of every process vaultra starts, and shims for the
 * native tools that log the argv and environment they were given. Then stdout, stderr (including
 * the JSON outputs), every byte of every file in the store (manifests, catalog records, data
 * objects, the run logs of backups, restores and verifies), both witnesses and vaultra's TMPDIR
 * are searched for each canary. The pg tools get
 * the password in `PGPASSWORD` by design: that one variable is not searched. vaultra itself also
 * holds cloud credentials (an Azure connection string with an account key, AWS secret key and
 * session token, GOOGLE_APPLICATION_CREDENTIALS), which no tool it starts may inherit. Every
 * command exports its OpenTelemetry to a real collector (when one is installed): the spans (their
 * error messages included), metrics and the collector's log are searched too.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteExec } from '../support/sqlite-fixtures.js';
import { killWhen, plantCanaries, watchCanaries } from '../support/canary.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { PASSWORD_CANARY_PREFIX } from '../support/postgres-server.js';
import { databaseUrl, psqlQuery } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { isRunningDump } from '../support/processes.js';
import { METRICS } from '../../core/domain/telemetry-metrics.js';
import type { RunRecord } from '../../core/domain/run.js';

/** Rows of md5 text in the big database: long enough a dump for the sampler to see it at work. */
const BIG_ROWS = 1_500_000;
/** The tools Vaultra may start, shimmed to log their argv and environment. */
const SHIMMED_TOOLS = ['pg_dump', 'pg_restore', 'psql', 'zstd', 'sqlite3', 'pigz'] as const;

describe('canary secrets never leak', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !tools) return;

  const canaries = plantCanaries(pg.password);
  const { password, wrongPassword, passphrase, wrongPassphrase } = canaries;

  const bigDb = uniqueDatabaseName('canary_big');
  const smallDb = uniqueDatabaseName('canary_small');
  const droppable = [bigDb, smallDb];

  // Telemetry on for every command: a failed run's span carries its error message, a secret's likeliest way out.
  const witness = watchCanaries({ prefix: 'vaultra-canary-', canaries, tools: SHIMMED_TOOLS, dropVariables: ['PG'], toolPasswordVariables: ['PGPASSWORD'], telemetry: true });
  const { vaultra } = witness;

  /** A URL with the admin password inline (what a user may type) … */
  const inlineUrl = (db: string) => databaseUrl(pg, db);
  /** … and without it (the password in PGPASSWORD). */
  const bareUrl = (db: string) => {
    const url = new URL(databaseUrl(pg, db));
    url.password = '';
    return url.toString();
  };

  beforeAll(async () => {
    expect(password.startsWith(PASSWORD_CANARY_PREFIX)).toBe(true);
    await Promise.all([createDatabase(pg, bigDb), createDatabase(pg, smallDb)]);
    await Promise.all([
      psqlQuery(pg, bigDb, `CREATE TABLE big AS SELECT i, md5(i::text) AS a, md5((i * 3)::text) AS b FROM generate_series(1, ${BIG_ROWS}) AS s(i)`, { timeoutMs: 120_000 }),
      loadVariedTypesFixture(pg, smallDb),
    ]);
  });

  afterAll(async () => {
    for (const db of droppable) await dropDatabase(pg, db).catch(() => undefined);
  });

  let smallRunId = '';
  let passRunId = '';

  it('backup with the password inline in the URL: not in any child argv, output or stored file', async () => {
    const result = await vaultra(['backup', inlineUrl(bigDb), '--to', witness.storeUrl, '--job', 'inline', '--recipient', witness.key.recipient, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
    // The sampler really watched the dump: it saw pg_dump and zstd at work.
    const seen = [...result.argvSeen].join('\n');
    expect(seen).toMatch(/pg_dump: \S*pg_dump --format=custom/);
    expect(seen).toMatch(/zstd: \S*zstd .*-3 -T0/);
    expect(result.samples).toBeGreaterThan(10);
    await witness.expectStoreClean();
  });

  it('backup with the password in PGPASSWORD: same', async () => {
    const result = await vaultra(['backup', bareUrl(bigDb), '--to', witness.storeUrl, '--job', 'env', '--recipient', witness.key.recipient, '--json'], { PGPASSWORD: password });
    expect(result.code, result.stderr).toBe(0);
    expect([...result.argvSeen].join('\n')).toMatch(/pg_dump: /);
    await witness.expectStoreClean();
  });

  it('list, verify and restore (target URL with the password inline): same', async () => {
    const made = await vaultra(['backup', inlineUrl(smallDb), '--to', witness.storeUrl, '--job', 'small', '--recipient', witness.key.recipient, '--json']);
    expect(made.code, made.stderr).toBe(0);
    smallRunId = (JSON.parse(made.stdout) as { runId: string }).runId;

    await witness.expectListsClean();
    const verified = await vaultra(['verify', smallRunId, '--from', witness.storeUrl, '--identity', witness.key.path, '--json']);
    expect(verified.code, verified.stderr).toBe(0);

    const target = uniqueDatabaseName('canary_restored');
    droppable.push(target);
    const restored = await vaultra(['restore', smallRunId, '--from', witness.storeUrl, '--identity', witness.key.path, '--target', inlineUrl(target), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ status: 'restored', target: expect.stringContaining(':***@') });
    expect([...restored.argvSeen].join('\n')).toMatch(/pg_restore: /);
    expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, smallDb));

    const dry = await vaultra(['restore', smallRunId, '--from', witness.storeUrl, '--identity', witness.key.path, '--target', inlineUrl(target), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    await witness.expectStoreClean();
  });

  it('failing backups (pg_dump killed, a wrong password, a malformed URL): the error line carries no secret', async () => {
    const killed = await vaultra(['backup', inlineUrl(bigDb), '--to', witness.storeUrl, '--job', 'killed', '--recipient', witness.key.recipient, '--json'], {}, killWhen(isRunningDump, 'pg_dump', 200));
    expect(killed.code, killed.stderr).toBe(1);
    expect(killed.stderr).toMatch(/^vaultra: error: pg_dump of [^\n]* failed \(killed by SIGKILL\)\n$/);

    const wrong = new URL(inlineUrl(bigDb));
    wrong.password = wrongPassword;
    const refused = await vaultra(['backup', wrong.toString(), '--to', witness.storeUrl, '--job', 'wrong-password', '--recipient', witness.key.recipient]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^vaultra: error: cannot read PostgreSQL database .*password authentication failed/);

    const fromEnv = await vaultra(['backup', bareUrl(bigDb), '--to', witness.storeUrl, '--job', 'wrong-password', '--recipient', witness.key.recipient], { PGPASSWORD: wrongPassword });
    expect(fromEnv.code).toBe(1);

    const malformed = await vaultra(['backup', `postgres://${pg.user}:${password}@127.0.0.1:notaport/${bigDb}`, '--to', witness.storeUrl, '--job', 'malformed', '--recipient', witness.key.recipient]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/^vaultra: error: malformed PostgreSQL URL/);

    const unknownParameter = await vaultra(['backup', `${inlineUrl(bigDb)}?password=${password}&bogus=1`, '--to', witness.storeUrl, '--job', 'param', '--recipient', witness.key.recipient]);
    expect(unknownParameter.code).toBe(2);
    await witness.expectStoreClean();
  });

  it('failing restores (wrong identity, a non-empty target, a target refusing the login): the error line carries no secret', async () => {
    const fresh = uniqueDatabaseName('canary_fresh');
    droppable.push(fresh);
    await witness.expectRestoresRefused(smallRunId, { fresh: inlineUrl(fresh), nonEmpty: inlineUrl(smallDb) });

    const wrong = new URL(inlineUrl(fresh));
    wrong.password = wrongPassword;
    const badLogin = await vaultra(['restore', smallRunId, '--from', witness.storeUrl, '--identity', witness.key.path, '--target', wrong.toString()]);
    expect(badLogin.code).toBe(1);
    expect(badLogin.stderr).toMatch(/password authentication failed/);
    expect(Number(await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = '${fresh}'`))).toBe(0);
    await witness.expectStoreClean();
  });

  it('the run logs of those restores and verifies (a failed login among them) are kept beside their records and hold no secret', async () => {
    // Act: the store, run logs included, searched for every canary.
    const files = await witness.expectStoreClean();
    // Assess: the logs searched were really there: one per restore and verify the catalog recorded.
    const records = await Promise.all(files.filter((f) => f.includes('/.vaultra/catalog/') && f.endsWith('.json')).map(async (f) => ({ path: f, run: JSON.parse(await readFile(f, 'utf8')) as RunRecord })));
    const restoresAndVerifies = records.filter(({ run }) => run.kind === 'restore' || run.kind === 'verify');
    expect(restoresAndVerifies.map(({ run }) => run.kind)).toEqual(expect.arrayContaining(['restore', 'verify']));
    for (const { path } of restoresAndVerifies) expect(files, `no log beside ${path}`).toContain(path.replace(/\.json$/, '.log'));
    const logs = await Promise.all(restoresAndVerifies.map(({ path }) => readFile(path.replace(/\.json$/, '.log'), 'utf8')));
    // The restore into a URL with the password inline, and the refused login's error line.
    expect(logs.join('\n')).toContain(`Z  restored backup ${smallRunId} of job small`);
    expect(logs.join('\n')).toMatch(/Z {2}vaultra: error: .*password authentication failed/);
  });

  it('an age passphrase (--passphrase-env): not in argv, output or stored files, through backup, verify, restore and a wrong passphrase', async () => {
    const env = { VAULTRA_CANARY_PASSPHRASE: passphrase };
    const made = await vaultra(['backup', bareUrl(bigDb), '--to', witness.storeUrl, '--job', 'passphrase', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], { ...env, PGPASSWORD: password });
    expect(made.code, made.stderr).toBe(0);
    passRunId = (JSON.parse(made.stdout) as { runId: string }).runId;
    expect(JSON.parse(made.stdout)).toMatchObject({ encryption: { recipients: [{ type: 'scrypt', workFactor: 12 }] } });

    const verified = await vaultra(['verify', passRunId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], env);
    expect(verified.code, verified.stderr).toBe(0);

    const small = await vaultra(['backup', inlineUrl(smallDb), '--to', witness.storeUrl, '--job', 'small-passphrase', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], env);
    expect(small.code, small.stderr).toBe(0);
    const smallPassRunId = (JSON.parse(small.stdout) as { runId: string }).runId;
    const target = uniqueDatabaseName('canary_pass');
    droppable.push(target);
    const restored = await vaultra(['restore', smallPassRunId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', inlineUrl(target)], env);
    expect(restored.code, restored.stderr).toBe(0);

    const other = uniqueDatabaseName('canary_pass_wrong');
    droppable.push(other);
    const refused = await vaultra(['restore', smallPassRunId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', inlineUrl(other)], { VAULTRA_CANARY_PASSPHRASE: wrongPassphrase });
    expect(refused.code).toBe(4);
    const refusedVerify = await vaultra(['verify', passRunId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE'], { VAULTRA_CANARY_PASSPHRASE: wrongPassphrase });
    expect(refusedVerify.code).toBe(4);
    await witness.expectStoreClean();
  });

  it('a SQLite backup and restore: sqlite3 and zstd get no cloud credential (the runner has them all)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-canary-sqlite-'));
    try {
      const source = join(dir, 'app.db');
      await sqliteExec(source, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES (\'a\'), (\'b\');');
      expect(witness.env.AZURE_STORAGE_CONNECTION_STRING).toContain(canaries.azureAccountKey);
      const made = await vaultra(['backup', `sqlite:${source}`, '--to', witness.storeUrl, '--job', 'sqlite', '--recipient', witness.key.recipient, '--json']);
      expect(made.code, made.stderr).toBe(0);
      const runId = (JSON.parse(made.stdout) as { runId: string }).runId;
      const restored = await vaultra(['restore', runId, '--from', witness.storeUrl, '--identity', witness.key.path, '--target', `sqlite:${join(dir, 'restored.db')}`]);
      expect(restored.code, restored.stderr).toBe(0);
      const calls = await witness.toolCalls();
      expect(calls.some((call) => call.argv[0] === 'sqlite3')).toBe(true);
      // What every tool start got: no cloud variable at all, whatever its value.
      for (const call of calls) expect(call.environ, call.argv.join(' ')).not.toMatch(/(^|\0)(AZURE_|AWS_|GOOGLE_)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the final sweep: every file in the store, every output and every argv the tools were given', async () => {
    await witness.expectFinalSweepClean({ dataObject: /\/data\.pgdump\.zst\.age$/, tools: ['pg_dump', 'pg_restore', 'psql', 'zstd', 'sqlite3'] });
    expect(witness.outputs.length).toBeGreaterThan(15);
    expect(witness.argvSeen.size).toBeGreaterThan(5);
    const collector = witness.telemetry;
    if (!collector) return;
    // The sweep searched the collector: it did receive the runs, the failed ones with their error lines.
    const spans = collector.spans();
    for (const name of ['backup', 'verify', 'restore']) expect(spans.map((span) => span.name), name).toContain(name);
    expect(spans.some((span) => span.name === 'backup' && span.statusCode === 2 && /password authentication failed/.test(span.statusMessage ?? ''))).toBe(true);
    expect(collector.metricPoints().some((point) => point.metric === METRICS.runFailures.name)).toBe(true);
  }, 60_000);
});
