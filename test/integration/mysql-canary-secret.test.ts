/**
 * Secrets never leak from a MySQL/MariaDB backup or restore: not the database password (the
 * harness's MariaDB password starts with `canary-`), not a wrong password, not an age
 * passphrase given with `--passphrase-env`. Two witnesses watch every process Vaultra starts:
 *
 * - shims for the MySQL tools, zstd and pigz, first on PATH, log the exact argv *and the
 *   environment* they were started with, then exec the real tool;
 * - a sampler reads `/proc/<pid>/cmdline` and `/proc/<pid>/environ` of every descendant of
 *   `vaultra` every ~20 ms.
 *
 * Then stdout, stderr, every byte of every file in the store (manifests, catalog records, data
 * objects) and both witnesses are searched for each canary. The password reaches the tools in
 * a 0600 option file named by their first argument; the test also checks that file is gone once
 * vaultra has exited.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vaultraBin, type VaultraResult } from '../support/cli.js';
import { killTree, spawnTracked, waitForExit, which } from '../support/exec.js';
import { mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import { createMysqlDatabase, dropMysqlDatabase, loadMysqlFixture, mysqlFingerprints, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { PASSWORD_CANARY_PREFIX } from '../support/postgres-server.js';
import { descendantsOf, readProcess, sleep } from '../support/processes.js';
import { requireMariadb, requireTools } from '../support/requirements.js';

const SHIMMED_TOOLS = ['mariadb-dump', 'mysqldump', 'mariadb', 'mysql', 'zstd', 'pigz'] as const;

interface Sampled extends VaultraResult {
  /** Every distinct `comm: argv` seen among vaultra's descendants. */
  readonly argvSeen: ReadonlySet<string>;
  /** Every environment seen among vaultra's descendants (NUL-separated, as in /proc), by process. */
  readonly environSeen: ReadonlyMap<string, string>;
}

describe('mysql: canary secrets never leak', () => {
  const server = requireMariadb();
  const tools = requireTools('mariadb', 'mariadb-dump', 'zstd');
  if (!server || !tools) return;

  const password = server.password;
  const wrongPassword = `${PASSWORD_CANARY_PREFIX}wrong-${randomBytes(8).toString('hex')}`;
  const passphrase = `${PASSWORD_CANARY_PREFIX}passphrase-${randomBytes(8).toString('hex')}`;
  const wrongPassphrase = `${PASSWORD_CANARY_PREFIX}wrong-passphrase-${randomBytes(8).toString('hex')}`;
  const canaries = { password, wrongPassword, passphrase, wrongPassphrase };

  const sourceDb = uniqueMysqlName('mycanary');
  const droppable = [sourceDb];
  let root = '';
  let storeDir = '';
  let storeUrl = '';
  let argvLog = '';
  let envLog = '';
  let baseEnv: NodeJS.ProcessEnv = {};
  const outputs: string[] = [];
  const argvSeen = new Set<string>();

  function expectNoCanary(where: string, text: string | Buffer): void {
    const haystack = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
    for (const [name, secret] of Object.entries(canaries)) {
      expect(haystack.includes(Buffer.from(secret, 'utf8')), `${name} found in ${where}`).toBe(false);
    }
  }

  /** `vaultra …` with the shims first on PATH, sampling its descendants' argv and environment. */
  async function vaultra(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Sampled> {
    const child = spawnTracked(process.execPath, [vaultraBin, ...args], { env: { ...baseEnv, ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const exited = waitForExit(child);
    const seen = new Set<string>();
    const environs = new Map<string, string>();
    let done = false;
    void exited.then(() => (done = true));
    const sampler = (async () => {
      while (!done) {
        // Between fork() and exec() a child is a copy of vaultra (its argv and environment are
        // vaultra's own, which hold what the user passed): not something vaultra chose.
        const own = readProcess(child.pid!)?.argv.join(' ');
        for (const p of descendantsOf(child.pid!)) {
          const argv = p.argv.join(' ');
          if (argv === own) continue;
          seen.add(`${p.comm}: ${argv}`);
          const environ = await readFile(`/proc/${p.pid}/environ`, 'utf8').catch(() => '');
          if (environ) environs.set(`${p.comm}: ${argv}`, environ);
        }
        await sleep(20);
      }
    })();
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), 90_000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    await sampler;
    const stdoutBytes = Buffer.concat(out);
    const result = { code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes, timedOut: false, argvSeen: seen, environSeen: environs };
    outputs.push(result.stdout, result.stderr);
    for (const entry of seen) argvSeen.add(entry);
    expectNoCanary(`stdout of vaultra ${args[0]}`, result.stdout);
    expectNoCanary(`stderr of vaultra ${args[0]}`, result.stderr);
    expectNoCanary(`argv of a process started by vaultra ${args[0]}`, [...seen].join('\n'));
    for (const [who, environ] of environs) expectNoCanary(`the environment of ${who} (started by vaultra ${args[0]})`, environ);
    return result;
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
    root = await mkdtemp(join(tmpdir(), 'vaultra-mysql-canary-'));
    storeDir = join(root, 'store');
    storeUrl = pathToFileURL(storeDir).href;
    argvLog = join(root, 'argv.log');
    envLog = join(root, 'env.log');
    await writeFile(argvLog, '');
    await writeFile(envLog, '');
    const shims = join(root, 'shims');
    await mkdir(shims);
    for (const tool of SHIMMED_TOOLS) {
      const real = which(tool);
      if (!real) continue;
      const shim = join(shims, tool);
      await writeFile(shim, `#!/bin/sh\nprintf '%s\\0' "${tool}" "$@" >> '${argvLog}'\nprintf '\\n' >> '${argvLog}'\nprintf '### %s\\n' "${tool} $*" >> '${envLog}'\nenv >> '${envLog}'\nexec '${real}' "$@"\n`);
      await chmod(shim, 0o755);
    }
    const inherited: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('MYSQL_') && !name.startsWith('VAULTRA_')) inherited[name] = value;
    baseEnv = { ...inherited, NO_COLOR: '1', PATH: `${shims}:${process.env.PATH ?? ''}`, XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state'), VAULTRA_SCRYPT_WORK_FACTOR: '12' };
    await createMysqlDatabase(server, sourceDb);
    await loadMysqlFixture(server, sourceDb);
    await mysqlQuery(server, sourceDb, 'CREATE TABLE bulk (i INT PRIMARY KEY, a CHAR(32)) ENGINE=InnoDB; INSERT INTO bulk SELECT seq, MD5(seq) FROM seq_1_to_200000;');
  });

  afterAll(async () => {
    for (const db of droppable) await dropMysqlDatabase(server, db).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('backup, verify and restore with the password inline, and the backup encrypted with a passphrase (--passphrase-env)', async () => {
    const pass = { VAULTRA_CANARY_PASSPHRASE: passphrase };
    const made = await vaultra(['backup', mysqlUrl(server, sourceDb), '--to', storeUrl, '--job', 'passphrase', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], pass);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ status: 'succeeded', engine: 'mysql', encryption: { recipients: [{ type: 'scrypt', workFactor: 12 }] } });
    const runId = (JSON.parse(made.stdout) as { runId: string }).runId;
    // The witnesses really watched the dump.
    expect([...made.argvSeen].join('\n')).toMatch(/mariadb-dump: \S*mariadb-dump --defaults-file=\S+ --single-transaction/);
    expect(made.environSeen.size).toBeGreaterThan(0);

    const verified = await vaultra(['verify', runId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], pass);
    expect(verified.code, verified.stderr).toBe(0);

    const target = uniqueMysqlName('mycanary_to');
    droppable.push(target);
    const restored = await vaultra(['restore', runId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', mysqlUrl(server, target), '--json'], pass);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ status: 'restored', target: expect.stringContaining(':***@') });
    expect([...restored.argvSeen].join('\n')).toMatch(/mariadb: \S*mariadb --defaults-file=\S+ --batch --binary-mode/);
    expect(await mysqlFingerprints(server, target)).toEqual(await mysqlFingerprints(server, sourceDb));

    const other = uniqueMysqlName('mycanary_wrong');
    droppable.push(other);
    const refused = await vaultra(['restore', runId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', mysqlUrl(server, other)], { VAULTRA_CANARY_PASSPHRASE: wrongPassphrase });
    expect(refused.code).toBe(4);
    const dry = await vaultra(['restore', runId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', mysqlUrl(server, target), '--dry-run'], pass);
    expect(dry.code, dry.stderr).toBe(0);
    await expectStoreClean();
  });

  it('failures: a wrong password, a non-empty target, a login refused on restore', async () => {
    const wrong = new URL(mysqlUrl(server, sourceDb));
    wrong.password = wrongPassword;
    const refused = await vaultra(['backup', wrong.toString(), '--to', storeUrl, '--job', 'wrong-password', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE'], { VAULTRA_CANARY_PASSPHRASE: passphrase });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^vaultra: error: cannot read MySQL\/MariaDB database .*Access denied/);

    const made = await vaultra(['backup', mysqlUrl(server, sourceDb), '--to', storeUrl, '--job', 'inline', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], { VAULTRA_CANARY_PASSPHRASE: passphrase });
    expect(made.code, made.stderr).toBe(0);
    const runId = (JSON.parse(made.stdout) as { runId: string }).runId;
    const conflict = await vaultra(['restore', runId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', mysqlUrl(server, sourceDb)], { VAULTRA_CANARY_PASSPHRASE: passphrase });
    expect(conflict.code).toBe(6);
    const badLogin = await vaultra(['restore', runId, '--from', storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', wrong.toString().replace(sourceDb, 'mycanary_never')], { VAULTRA_CANARY_PASSPHRASE: passphrase });
    expect(badLogin.code).toBe(1);
    expect(badLogin.stderr).toMatch(/Access denied/);
    await expectStoreClean();
  });

  it('the final sweep: store, outputs, the argv and environment every tool was started with; the option files are gone', async () => {
    const files = await expectStoreClean();
    expect(files.some((f) => f.endsWith('manifest.json'))).toBe(true);
    expect(files.some((f) => f.includes('/.vaultra/catalog/'))).toBe(true);
    expect(files.some((f) => /\/data\.sql\.zst\.age$/.test(f))).toBe(true);
    expectNoCanary('the outputs', outputs.join('\n'));

    const argv = await readFile(argvLog);
    expectNoCanary('the argv the shimmed tools were called with', argv);
    // Per call (`### <tool> <args>`, then its environment), so a failure names every tool concerned.
    const leaks = (await readFile(envLog, 'utf8'))
      .split(/^(?=### )/m)
      .filter(Boolean)
      .flatMap((block) => Object.entries(canaries).filter(([, secret]) => block.includes(secret)).map(([name]) => `${name} in the environment of: ${block.slice(4, block.indexOf('\n'))}`));
    expect([...new Set(leaks)]).toEqual([]);
    const calls = argv.toString('utf8').split('\n').filter(Boolean).map((line) => line.split('\0'));
    expect([...new Set(calls.map((c) => c[0]))]).toEqual(expect.arrayContaining(['mariadb-dump', 'mariadb', 'zstd']));
    // Every MySQL tool got its credentials as an option file, first argument, and that file is gone.
    const mysqlCalls = calls.filter((c) => ['mariadb-dump', 'mariadb', 'mysqldump', 'mysql'].includes(c[0]!) && !c.includes('--version'));
    expect(mysqlCalls.length).toBeGreaterThan(5);
    for (const call of mysqlCalls) {
      expect(call[1], call.join(' ')).toMatch(/^--defaults(-extra)?-file=\/.*\/vaultra-mysql-[^/]+\/client\.cnf$/);
      expect(existsSync(call[1]!.replace(/^--defaults(-extra)?-file=/, '')), `${call[1]} left behind`).toBe(false);
    }
    expect(argvSeen.size).toBeGreaterThan(3);
  });
});
