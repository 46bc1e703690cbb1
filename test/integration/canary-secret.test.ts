/**
 * Secrets never reach logs, error messages, argv or stored files. The harness's PostgreSQL
 * password starts with `canary-`; an age passphrase and a wrong password get canaries of their
 * own. Every command runs while two witnesses watch the processes Vaultra starts:
 *
 * - a sampler reading `/proc/<pid>/cmdline` of every descendant of `vaultra` every ~20 ms
 *   (what another user of the machine could see with `ps`);
 * - shims for the native tools, first on PATH, that log the exact argv they were given and
 *   exec the real tool, so even a process too short-lived for the sampler is seen.
 *
 * Then stdout, stderr (including the JSON outputs), every byte of every file in the store
 * (manifests, catalog records, data objects) and both witnesses are searched for each canary.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIdentityFile, generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { vaultraBin, type VaultraResult } from '../support/cli.js';
import { killTree, spawnTracked, waitForExit, which } from '../support/exec.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { PASSWORD_CANARY_PREFIX } from '../support/postgres-server.js';
import { databaseUrl, psqlQuery } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { descendantsOf, isRunningDump, readProcess, sleep } from '../support/processes.js';

/** Rows of md5 text in the big database: long enough a dump for the sampler to see it at work. */
const BIG_ROWS = 1_500_000;
/** The tools Vaultra may start, shimmed to log their argv. */
const SHIMMED_TOOLS = ['pg_dump', 'pg_restore', 'psql', 'zstd', 'sqlite3', 'pigz'] as const;

interface Sampled extends VaultraResult {
  /** Every distinct `comm: argv` seen among vaultra's descendants while it ran. */
  readonly argvSeen: ReadonlySet<string>;
  readonly samples: number;
}


// ---------------------------------------------------------------------------------------------

describe('canary secrets never leak', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !tools) return;

  const password = pg.password;
  const wrongPassword = `${PASSWORD_CANARY_PREFIX}wrong-${randomBytes(8).toString('hex')}`;
  const passphrase = `${PASSWORD_CANARY_PREFIX}passphrase-${randomBytes(8).toString('hex')}`;
  const wrongPassphrase = `${PASSWORD_CANARY_PREFIX}wrong-passphrase-${randomBytes(8).toString('hex')}`;
  const canaries = () => ({ password, wrongPassword, passphrase, wrongPassphrase });

  const bigDb = uniqueDatabaseName('canary_big');
  const smallDb = uniqueDatabaseName('canary_small');
  const droppable = [bigDb, smallDb];
  const key = generateX25519Identity();
  const otherKey = generateX25519Identity();

  let root = '';
  let storeDir = '';
  let storeUrl = '';
  let identity = '';
  let otherIdentity = '';
  let argvLog = '';
  let baseEnv: NodeJS.ProcessEnv = {};
  /** Everything every command printed, for the final sweep. */
  const outputs: { args: string; stdout: string; stderr: string }[] = [];
  const argvSeen = new Set<string>();

  /** A URL with the admin password inline (what a user may type) … */
  const inlineUrl = (db: string) => databaseUrl(pg, db);
  /** … and without it (the password in PGPASSWORD). */
  const bareUrl = (db: string) => {
    const url = new URL(databaseUrl(pg, db));
    url.password = '';
    return url.toString();
  };

  /**
   * `vaultra …` with tool shims first on PATH, sampling its descendants' argv every ~20 ms.
   * `during` runs once the first sample is taken (e.g. to kill pg_dump).
   */
  async function vaultra(args: readonly string[], env: NodeJS.ProcessEnv = {}, during?: (pid: number) => Promise<void>): Promise<Sampled> {
    const child = spawnTracked(process.execPath, [vaultraBin, ...args], { env: { ...baseEnv, ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const exited = waitForExit(child);
    const seen = new Set<string>();
    let samples = 0;
    let done = false;
    void exited.then(() => (done = true));
    const sampler = (async () => {
      while (!done) {
        // Between fork() and exec() a child is a copy of vaultra, with vaultra's own argv (which
        // holds whatever the user typed): that is not an argv vaultra chose, so it is skipped.
        const own = readProcess(child.pid!)?.argv.join(' ');
        for (const p of descendantsOf(child.pid!)) {
          const argv = p.argv.join(' ');
          if (argv !== own) seen.add(`${p.comm}: ${argv}`);
        }
        samples++;
        await sleep(20);
      }
    })();
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), 90_000);
    try {
      await during?.(child.pid!);
    } finally {
      await exited;
      clearTimeout(timer);
      await sampler;
    }
    const { code, signal } = await exited;
    const stdoutBytes = Buffer.concat(out);
    const result = { code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes, timedOut: false, argvSeen: seen, samples };
    outputs.push({ args: args.join(' '), stdout: result.stdout, stderr: result.stderr });
    for (const entry of seen) argvSeen.add(entry);
    expectNoCanary(`stdout of vaultra ${args[0]}`, result.stdout);
    expectNoCanary(`stderr of vaultra ${args[0]}`, result.stderr);
    expectNoCanary(`argv of a process started by vaultra ${args[0]}`, [...seen].join('\n'));
    return result;
  }

  function expectNoCanary(where: string, text: string | Buffer): void {
    const haystack = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
    for (const [name, secret] of Object.entries(canaries())) {
      // Only the location is reported, never the secret or the text around it.
      expect(haystack.includes(Buffer.from(secret, 'utf8')), `${name} found in ${where}`).toBe(false);
    }
  }

  async function filesUnder(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const files: string[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) files.push(...(await filesUnder(path)));
      else files.push(path);
    }
    return files;
  }

  async function expectStoreClean(): Promise<string[]> {
    const files = await filesUnder(storeDir);
    for (const file of files) expectNoCanary(`store file ${file.slice(storeDir.length + 1)}`, await readFile(file));
    return files;
  }

  beforeAll(async () => {
    expect(password.startsWith(PASSWORD_CANARY_PREFIX)).toBe(true);
    root = await mkdtemp(join(tmpdir(), 'vaultra-canary-'));
    storeDir = join(root, 'store');
    storeUrl = pathToFileURL(storeDir).href;
    identity = join(root, 'id.key');
    otherIdentity = join(root, 'other.key');
    await writeFile(identity, formatIdentityFile(key.identity), { mode: 0o600 });
    await writeFile(otherIdentity, formatIdentityFile(otherKey.identity), { mode: 0o600 });

    // Shims: log argv (NUL-separated, one line per call), then become the real tool.
    argvLog = join(root, 'argv.log');
    const shims = join(root, 'shims');
    await writeFile(argvLog, '');
    await mkdir(shims);
    for (const tool of SHIMMED_TOOLS) {
      const real = which(tool);
      if (!real) continue;
      const shim = join(shims, tool);
      await writeFile(shim, `#!/bin/sh\nprintf '%s\\0' "${tool}" "$@" >> '${argvLog}'\nprintf '\\n' >> '${argvLog}'\nexec '${real}' "$@"\n`);
      await chmod(shim, 0o755);
    }

    const inherited: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PG') && !name.startsWith('VAULTRA_')) inherited[name] = value;
    baseEnv = { ...inherited, NO_COLOR: '1', PATH: `${shims}:${process.env.PATH ?? ''}`, XDG_CONFIG_HOME: join(root, 'config'), VAULTRA_SCRYPT_WORK_FACTOR: '12' };

    await Promise.all([createDatabase(pg, bigDb), createDatabase(pg, smallDb)]);
    await Promise.all([
      psqlQuery(pg, bigDb, `CREATE TABLE big AS SELECT i, md5(i::text) AS a, md5((i * 3)::text) AS b FROM generate_series(1, ${BIG_ROWS}) AS s(i)`, { timeoutMs: 120_000 }),
      loadVariedTypesFixture(pg, smallDb),
    ]);
  });

  afterAll(async () => {
    for (const db of droppable) await dropDatabase(pg, db).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  let smallRunId = '';
  let passRunId = '';

  it('backup with the password inline in the URL: not in any child argv, output or stored file', async () => {
    const result = await vaultra(['backup', inlineUrl(bigDb), '--to', storeUrl, '--job', 'inline', '--recipient', key.recipient, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
    // The sampler really watched the dump: it saw pg_dump and zstd at work.
    const seen = [...result.argvSeen].join('\n');
    expect(seen).toMatch(/pg_dump: \S*pg_dump --format=custom/);
    expect(seen).toMatch(/zstd: \S*zstd .*-3 -T0/);
    expect(result.samples).toBeGreaterThan(10);
    await expectStoreClean();
  });

  it('backup with the password in PGPASSWORD: same', async () => {
    const result = await vaultra(['backup', bareUrl(bigDb), '--to', storeUrl, '--job', 'env', '--recipient', key.recipient, '--json'], { PGPASSWORD: password });
    expect(result.code, result.stderr).toBe(0);
    expect([...result.argvSeen].join('\n')).toMatch(/pg_dump: /);
    await expectStoreClean();
  });

  it('list, verify and restore (target URL with the password inline): same', async () => {
    const made = await vaultra(['backup', inlineUrl(smallDb), '--to', storeUrl, '--job', 'small', '--recipient', key.recipient, '--json']);
    expect(made.code, made.stderr).toBe(0);
    smallRunId = (JSON.parse(made.stdout) as { runId: string }).runId;

    for (const args of [['list', '--json'], ['list', '--all', '--json'], ['list', '--all']]) {
      const listed = await vaultra([...args, '--from', storeUrl]);
      expect(listed.code, listed.stderr).toBe(0);
    }
    const verified = await vaultra(['verify', smallRunId, '--from', storeUrl, '--identity', identity, '--json']);
    expect(verified.code, verified.stderr).toBe(0);

    const target = uniqueDatabaseName('canary_restored');
    droppable.push(target);
    const restored = await vaultra(['restore', smallRunId, '--from', storeUrl, '--identity', identity, '--target', inlineUrl(target), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ status: 'restored', target: expect.stringContaining(':***@') });
    expect([...restored.argvSeen].join('\n')).toMatch(/pg_restore: /);
    expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, smallDb));

    const dry = await vaultra(['restore', smallRunId, '--from', storeUrl, '--identity', identity, '--target', inlineUrl(target), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    await expectStoreClean();
  });

  it('failing backups (pg_dump killed, a wrong password, a malformed URL): the error line carries no secret', async () => {
    const killed = await vaultra(['backup', inlineUrl(bigDb), '--to', storeUrl, '--job', 'killed', '--recipient', key.recipient, '--json'], {}, async (pid) => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const dump = descendantsOf(pid).find(isRunningDump);
        if (dump) {
          await sleep(200);
          process.kill(dump.pid, 'SIGKILL');
          return;
        }
        await sleep(20);
      }
      throw new Error('pg_dump never showed up');
    });
    expect(killed.code, killed.stderr).toBe(1);
    expect(killed.stderr).toMatch(/^vaultra: error: pg_dump of [^\n]* failed \(killed by SIGKILL\)\n$/);

    const wrong = new URL(inlineUrl(bigDb));
    wrong.password = wrongPassword;
    const refused = await vaultra(['backup', wrong.toString(), '--to', storeUrl, '--job', 'wrong-password', '--recipient', key.recipient]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^vaultra: error: cannot read PostgreSQL database .*password authentication failed/);

    const fromEnv = await vaultra(['backup', bareUrl(bigDb), '--to', storeUrl, '--job', 'wrong-password', '--recipient', key.recipient], { PGPASSWORD: wrongPassword });
    expect(fromEnv.code).toBe(1);

    const malformed = await vaultra(['backup', `postgres://${pg.user}:${password}@127.0.0.1:notaport/${bigDb}`, '--to', storeUrl, '--job', 'malformed', '--recipient', key.recipient]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/^vaultra: error: malformed PostgreSQL URL/);

    const unknownParameter = await vaultra(['backup', `${inlineUrl(bigDb)}?password=${password}&bogus=1`, '--to', storeUrl, '--job', 'param', '--recipient', key.recipient]);
    expect(unknownParameter.code).toBe(2);
    await expectStoreClean();
  });

  it('failing restores (wrong identity, a non-empty target, a target refusing the login): the error line carries no secret', async () => {
    const fresh = uniqueDatabaseName('canary_fresh');
    droppable.push(fresh);
    const wrongKey = await vaultra(['restore', smallRunId, '--from', storeUrl, '--identity', otherIdentity, '--target', inlineUrl(fresh)]);
    expect(wrongKey.code).toBe(4);

    const conflict = await vaultra(['restore', smallRunId, '--from', storeUrl, '--identity', identity, '--target', inlineUrl(smallDb)]);
    expect(conflict.code).toBe(6);
    expect(conflict.stderr).toMatch(/already holds/);

    const wrong = new URL(inlineUrl(fresh));
    wrong.password = wrongPassword;
    const badLogin = await vaultra(['restore', smallRunId, '--from', storeUrl, '--identity', identity, '--target', wrong.toString()]);
    expect(badLogin.code).toBe(1);
    expect(badLogin.stderr).toMatch(/password authentication failed/);
    expect(Number(await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = '${fresh}'`))).toBe(0);
    await expectStoreClean();
  });

  it('an age passphrase (--passphrase-env): not in argv, output or stored files, through backup, verify, restore and a wrong passphrase', async () => {
    const env = { VAULTRA_CANARY_PASSPHRASE: passphrase };
    const made = await vaultra(['backup', bareUrl(bigDb), '--to', storeUrl, '--job', 'passphrase', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], { ...env, PGPASSWORD: password });
    expect(made.code, made.stderr).toBe(0);
    passRunId = (JSON.parse(made.stdout) as { runId: string }).runId;
    expect(JSON.parse(made.stdout)).toMatchObject({ encryption: { recipients: [{ type: 'scrypt', workFactor: 12 }] } });

    const verified = await vaultra(['verify', passRunId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], env);
    expect(verified.code, verified.stderr).toBe(0);

    const small = await vaultra(['backup', inlineUrl(smallDb), '--to', storeUrl, '--job', 'small-passphrase', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], env);
    expect(small.code, small.stderr).toBe(0);
    const smallPassRunId = (JSON.parse(small.stdout) as { runId: string }).runId;
    const target = uniqueDatabaseName('canary_pass');
    droppable.push(target);
    const restored = await vaultra(['restore', smallPassRunId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', inlineUrl(target)], env);
    expect(restored.code, restored.stderr).toBe(0);

    const other = uniqueDatabaseName('canary_pass_wrong');
    droppable.push(other);
    const refused = await vaultra(['restore', smallPassRunId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', inlineUrl(other)], { VAULTRA_CANARY_PASSPHRASE: wrongPassphrase });
    expect(refused.code).toBe(4);
    const refusedVerify = await vaultra(['verify', passRunId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE'], { VAULTRA_CANARY_PASSPHRASE: wrongPassphrase });
    expect(refusedVerify.code).toBe(4);
    await expectStoreClean();
  });

  it('the final sweep: every file in the store, every output and every argv the tools were given', async () => {
    const files = await expectStoreClean();
    // The sweep covered manifests, catalog records (with the failed runs' errors) and data objects.
    expect(files.some((f) => f.endsWith('manifest.json'))).toBe(true);
    expect(files.some((f) => f.includes('/.vaultra/catalog/'))).toBe(true);
    expect(files.some((f) => /\/data\.pgdump\.zst\.age$/.test(f))).toBe(true);
    const catalog = (await Promise.all(files.filter((f) => f.includes('/.vaultra/catalog/')).map((f) => readFile(f, 'utf8')))).join('\n');
    expect(catalog).toMatch(/"status": "failed"/);

    const logged = await readFile(argvLog);
    expectNoCanary('the argv the shimmed tools were called with', logged);
    const calls = logged.toString('utf8').split('\n').filter(Boolean).map((line) => line.split('\0')[0]);
    expect([...new Set(calls)]).toEqual(expect.arrayContaining(['pg_dump', 'pg_restore', 'psql', 'zstd']));
    expect(outputs.length).toBeGreaterThan(15);
    expect(argvSeen.size).toBeGreaterThan(5);
  });
});
