/**
 * Canary secrets and the witnesses that look for them: what the canary-secret suites of every
 * engine share.
 *
 * A suite plants canaries (the database password, a wrong password, an age passphrase and a
 * wrong passphrase, each starting with `canary-`), runs `vaultra` through a
 * {@link CanaryWitness}, and searches everything a secret could leak into:
 *
 * - stdout and stderr of every command;
 * - a sampler reading `/proc/<pid>/cmdline` and `/proc/<pid>/environ` of every descendant of
 *   `vaultra` every ~20 ms (argv: what any user of the machine can see with `ps`; environment:
 *   what the tool, and whatever it starts, inherits);
 * - shims for the native tools, first on PATH, that log the exact argv and environment they
 *   were started with and exec the real tool, so even a process too short-lived for the
 *   sampler is seen;
 * - every byte of every file in the store (manifests, `.vaultra` catalog and run logs, data objects);
 * - the private TMPDIR vaultra runs with, which must be empty once it exited (credentials
 *   files handed to the tools included);
 * - with `telemetry: true`, everything a real OpenTelemetry Collector received from every
 *   command (spans with their attributes, events and error messages, metric points with their
 *   labels) and its own log.
 *
 * Cloud credentials (an Azure account key, AWS secret key and session token, a Google key file
 * name) are canaries too, set in vaultra's own environment: no child may inherit them.
 *
 * Failures name the canary and where it was found, never the secret or the text around it.
 *
 * @example
 * const witness = watchCanaries({ prefix: 'vaultra-canary-', canaries: plantCanaries(pg.password), tools: ['pg_dump', 'zstd'], dropVariables: ['PG'], toolPasswordVariables: ['PGPASSWORD'] });
 * const { vaultra } = witness;
 * // in a test:
 * const result = await vaultra(['backup', url, '--to', witness.storeUrl]); // outputs, argv, environments, TMPDIR checked
 * await witness.expectStoreClean();
 * await witness.expectFinalSweepClean({ dataObject: /\/data\.pgdump\.zst\.age$/, tools: ['pg_dump', 'zstd'] });
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { formatIdentityFile, generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import type { VaultraResult } from './cli.js';
import { startVaultra } from './cli-child.js';
import { killTree, which } from './exec.js';
import { filesUnder } from './file-tree.js';
import { PASSWORD_CANARY_PREFIX } from './postgres-server.js';
import { descendantsOf, readProcess, sleep, type ProcessInfo } from './processes.js';
import { startFlowCollector, type OtelCollector } from './otel-collector.js';

/** The secrets a suite plants; none may appear anywhere the witness looks. */
export interface Canaries {
  /** The test server's own password. */
  readonly password: string;
  readonly wrongPassword: string;
  /** An age passphrase (`--passphrase-env`). */
  readonly passphrase: string;
  readonly wrongPassphrase: string;
  /**
   * Cloud credentials in vaultra's own environment (see {@link cloudCredentialVariables}): the
   * account key inside `AZURE_STORAGE_CONNECTION_STRING`, `AWS_SECRET_ACCESS_KEY`,
   * `AWS_SESSION_TOKEN`, and the file name `GOOGLE_APPLICATION_CREDENTIALS` points at. No tool
   * needs them, so no tool's environment may hold them.
   */
  readonly azureAccountKey: string;
  readonly awsSecretAccessKey: string;
  readonly awsSessionToken: string;
  readonly googleCredentialsFile: string;
}

/** The test server's `password` (itself a `canary-` string) plus three fresh canaries. */
export function plantCanaries(password: string): Canaries {
  const canary = (what: string) => `${PASSWORD_CANARY_PREFIX}${what}-${randomBytes(8).toString('hex')}`;
  return {
    password,
    wrongPassword: canary('wrong'),
    passphrase: canary('passphrase'),
    wrongPassphrase: canary('wrong-passphrase'),
    azureAccountKey: Buffer.from(canary('azure-key')).toString('base64'),
    awsSecretAccessKey: canary('aws-secret'),
    awsSessionToken: canary('aws-session'),
    googleCredentialsFile: `${canary('gcp-key')}.json`,
  };
}

/**
 * The cloud credential variables a canary suite puts in vaultra's environment (the runner of a
 * cloud deployment has them), holding the canaries: vaultra may use them itself, but must not
 * hand them to the tools it starts. `dir` is where the Google key file would be (it is not created).
 */
export function cloudCredentialVariables(canaries: Canaries, dir: string): NodeJS.ProcessEnv {
  return {
    AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=vaultracanary;AccountKey=${canaries.azureAccountKey};EndpointSuffix=core.windows.net`,
    AWS_ACCESS_KEY_ID: 'AKIAVAULTRACANARY',
    AWS_SECRET_ACCESS_KEY: canaries.awsSecretAccessKey,
    AWS_SESSION_TOKEN: canaries.awsSessionToken,
    GOOGLE_APPLICATION_CREDENTIALS: join(dir, canaries.googleCredentialsFile),
  };
}

/** Fails if the bytes of any canary are in `text`; the message names the canary and `where` only. */
export function expectNoCanary(canaries: Canaries, where: string, text: string | Buffer): void {
  const haystack = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  for (const [name, secret] of Object.entries(canaries)) {
    expect(haystack.includes(Buffer.from(secret, 'utf8')), `${name} found in ${where}`).toBe(false);
  }
}

/** What one run of `vaultra` printed, and what the sampler saw of the processes it started. */
export interface WatchedRun extends VaultraResult {
  /** Every distinct `comm: argv` seen among vaultra's descendants while it ran. */
  readonly argvSeen: ReadonlySet<string>;
  /** The environments (`NAME=value` entries, NUL-separated as in /proc) seen for each `comm: argv`. */
  readonly environSeen: ReadonlyMap<string, ReadonlySet<string>>;
  /** How many times the sampler looked. */
  readonly samples: number;
}

/** One start of a shimmed tool, as its shim logged it. */
export interface ToolCall {
  /** The tool's name, then its arguments. */
  readonly argv: readonly string[];
  /** Its environment, NUL-separated as in /proc. */
  readonly environ: string;
}

export interface CanaryWitnessOptions {
  /** Prefix of the suite's own temp folder (`vaultra-canary-`), which holds everything below. */
  readonly prefix: string;
  readonly canaries: Canaries;
  /** The tools vaultra may start, to shim (those not installed are left out). */
  readonly tools: readonly string[];
  /**
   * Prefixes of the test process's variables not passed on to vaultra (e.g. `PG`): the
   * harness's own connection settings. `VAULTRA_` always.
   */
  readonly dropVariables?: readonly string[];
  /**
   * Variables through which the engine hands the password to its tools by design (libpq's
   * `PGPASSWORD`): left out when environments are searched. Every other variable is searched.
   * @default []
   */
  readonly toolPasswordVariables?: readonly string[];
  /**
   * Every command exports its traces and metrics (OTLP/HTTP, as with `OTEL_EXPORTER_OTLP_ENDPOINT`
   * in a deployment) to a real OpenTelemetry Collector the witness starts, and the final sweep
   * searches what it received ({@link CanaryWitness.expectTelemetryClean}). Required under
   * `CI=true`; locally left out when the collector is not built (scripts/setup-otel-collector.sh).
   * @default false
   */
  readonly telemetry?: boolean;
}

/** An age identity file written for a suite, and its public key. */
export interface IdentityFile {
  readonly path: string;
  readonly recipient: string;
}

/** What exists once the witness started. */
interface Folder {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  readonly key: IdentityFile;
  readonly otherKey: IdentityFile;
}

/**
 * Registers, in the current `describe`, a `beforeAll` that starts a {@link CanaryWitness} (before
 * the suite's own `beforeAll`s, which may use it) and an `afterAll` that removes its folder.
 * See the module's example.
 */
export function watchCanaries(options: CanaryWitnessOptions): CanaryWitness {
  const witness = new CanaryWitness(options);
  beforeAll(() => witness.start());
  afterAll(() => witness.remove());
  return witness;
}

/**
 * A canary suite's folder and witnesses: runs `vaultra` with shims first on PATH, a private
 * TMPDIR and a sampler on its descendants, and searches what they saw. Everything lives in
 * one temp folder: the store, two identity files, shims, call logs, TMPDIR, XDG config and state.
 * Everything but the canary checks needs {@link start} first.
 */
export class CanaryWitness {
  /** Every command's outputs, for a final sweep. */
  readonly outputs: { readonly args: string; readonly stdout: string; readonly stderr: string }[] = [];
  /** Every `comm: argv` the sampler saw, over all commands. */
  readonly argvSeen = new Set<string>();
  private folder: Folder | undefined;
  /** The collector of `telemetry: true`, once started (none when it is not built, locally). */
  telemetry: OtelCollector | undefined;

  constructor(private readonly options: CanaryWitnessOptions) {}

  /** Creates the suite's folder, its identity files and the shims. Call {@link remove} once done. */
  async start(): Promise<void> {
    const root = await mkdtemp(join(tmpdir(), this.options.prefix));
    const shims = join(root, 'shims');
    const dropped = ['VAULTRA_', ...(this.options.dropVariables ?? [])];
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!dropped.some((prefix) => name.startsWith(prefix))) env[name] = value;
    Object.assign(env, {
      NO_COLOR: '1',
      PATH: `${shims}:${process.env.PATH ?? ''}`,
      TMPDIR: join(root, 'tmp'),
      XDG_CONFIG_HOME: join(root, 'config'),
      XDG_STATE_HOME: join(root, 'state'),
      VAULTRA_SCRYPT_WORK_FACTOR: '12',
      ...cloudCredentialVariables(this.options.canaries, root),
    });
    await Promise.all([mkdir(shims), mkdir(join(root, 'calls')), mkdir(join(root, 'tmp'))]);
    for (const tool of this.options.tools) {
      const real = which(tool);
      if (real) await writeShim(join(shims, tool), tool, real, join(root, 'calls'));
    }
    const [key, otherKey] = await Promise.all([writeIdentity(join(root, 'id.key')), writeIdentity(join(root, 'other.key'))]);
    this.folder = { root, env, key, otherKey };
    if (this.options.telemetry) this.telemetry = await startFlowCollector();
  }

  /** Stops the collector and removes the suite's folder (idempotent). */
  async remove(): Promise<void> {
    await this.telemetry?.stop();
    this.telemetry = undefined;
    if (this.folder) await rm(this.folder.root, { recursive: true, force: true });
    this.folder = undefined;
  }

  private get started(): Folder {
    if (!this.folder) throw new Error('the canary witness is not started (watchCanaries registers that in beforeAll)');
    return this.folder;
  }

  /** The environment every command starts from. */
  get env(): NodeJS.ProcessEnv {
    return this.started.env;
  }

  /** The store the suite backs up into, searched by {@link expectStoreClean}. */
  get storeDir(): string {
    return join(this.started.root, 'store');
  }

  get storeUrl(): string {
    return pathToFileURL(this.storeDir).href;
  }

  /** vaultra's TMPDIR (where credentials files handed to tools go): must be empty after every command. */
  get tmpDir(): string {
    return join(this.started.root, 'tmp');
  }

  /** An identity for the suite's backups (`--recipient key.recipient`, `--identity key.path`). */
  get key(): IdentityFile {
    return this.started.key;
  }

  /** Another identity: the wrong key. */
  get otherKey(): IdentityFile {
    return this.started.otherKey;
  }

  private get callsDir(): string {
    return join(this.started.root, 'calls');
  }

  /**
   * `vaultra …args` with `env` added to {@link env}, watched until it exits (SIGKILLed after
   * 90 s). `during` runs once it started (e.g. {@link killWhen}); vaultra's result is awaited
   * even when `during` throws. Then its stdout, stderr, the argv and environment of every
   * process it started are searched for canaries, and its TMPDIR must be empty. (An arrow
   * function, so it can be destructured: `const { vaultra } = witness`.)
   */
  readonly vaultra = async (args: readonly string[], env: NodeJS.ProcessEnv = {}, during?: (pid: number) => Promise<void>): Promise<WatchedRun> => {
    const telemetry = this.telemetry ? { OTEL_EXPORTER_OTLP_ENDPOINT: this.telemetry.httpEndpoint } : {};
    const result = await watchVaultra(args, { ...this.env, ...telemetry, ...env }, during);
    const command = `vaultra ${args[0]}`;
    this.outputs.push({ args: args.join(' '), stdout: result.stdout, stderr: result.stderr });
    for (const entry of result.argvSeen) this.argvSeen.add(entry);
    this.expectNoCanary(`stdout of ${command}`, result.stdout);
    this.expectNoCanary(`stderr of ${command}`, result.stderr);
    this.expectNoCanary(`argv of a process started by ${command}`, [...result.argvSeen].join('\n'));
    for (const [who, environs] of result.environSeen) {
      for (const environ of environs) this.expectNoCanary(`the environment of ${who} (started by ${command})`, this.searchable(environ));
    }
    expect(await readdir(this.tmpDir), `files ${command} left in its TMPDIR`).toEqual([]);
    return result;
  };

  /** `vaultra list` of the store in each form (`--json`, `--all --json`, the `--all` table): each succeeds, and prints no canary. */
  async expectListsClean(): Promise<void> {
    for (const form of [['--json'], ['--all', '--json'], ['--all']]) {
      const listed = await this.vaultra(['list', ...form, '--from', this.storeUrl]);
      expect(listed.code, listed.stderr).toBe(0);
    }
  }

  /**
   * Two refused restores of `runId` (encrypted to {@link key}), whose error lines must carry no
   * secret: with the wrong key ({@link otherKey}) into `targets.fresh`, exit 4; into
   * `targets.nonEmpty`, which already holds data, exit 6.
   */
  async expectRestoresRefused(runId: string, targets: { readonly fresh: string; readonly nonEmpty: string }): Promise<void> {
    const wrongKey = await this.vaultra(['restore', runId, '--from', this.storeUrl, '--identity', this.otherKey.path, '--target', targets.fresh]);
    expect(wrongKey.code, wrongKey.stderr).toBe(4);
    const conflict = await this.vaultra(['restore', runId, '--from', this.storeUrl, '--identity', this.key.path, '--target', targets.nonEmpty]);
    expect(conflict.code, conflict.stderr).toBe(6);
    expect(conflict.stderr).toMatch(/already holds/);
  }

  /** {@link expectNoCanary} with this suite's canaries. */
  expectNoCanary(where: string, text: string | Buffer): void {
    expectNoCanary(this.options.canaries, where, text);
  }

  /**
   * Searches everything the collector of `telemetry: true` wrote, once it stopped
   * growing (the exporters flush at exit, the collector's file exporter every second). Returns
   * the text; fails when nothing arrived, which would make the search vacuous.
   */
  async expectTelemetryClean(): Promise<string> {
    if (!this.telemetry) throw new Error('no telemetry to search: watch the canaries with telemetry: true (and the collector built)');
    let text = this.telemetry.everything();
    for (let checks = 0; checks < 10; checks += 1) {
      await sleep(1_500);
      const now = this.telemetry.everything();
      if (now === text) break;
      text = now;
    }
    expect(text.trim().length, 'the collector received nothing').toBeGreaterThan(0);
    this.expectNoCanary('the spans, metrics and log of the OpenTelemetry collector', text);
    return text;
  }

  /** Searches every byte of every file in the store (catalog included); returns their absolute paths. */
  async expectStoreClean(): Promise<string[]> {
    return this.expectTreeClean(this.storeDir, 'store');
  }

  /**
   * The final sweep, once every command ran:
   * - the store again ({@link expectStoreClean}), which must hold manifests, data objects
   *   (`dataObject` matches their path) and `.vaultra` catalog records, among them a failed
   *   run's (its error message is where a secret would most likely end up); and vaultra's XDG
   *   config and state folders;
   * - every command's stdout and stderr, all together;
   * - the argv and environment of every shimmed tool start ({@link expectToolCallsClean}), among
   *   which each of `tools`: the shims did see them;
   * - with `telemetry: true`, the collector's spans, metrics and log ({@link expectTelemetryClean}).
   * Returns the tool starts, for the suite's own checks.
   */
  async expectFinalSweepClean(expected: { readonly dataObject: RegExp; readonly tools: readonly string[] }): Promise<ToolCall[]> {
    const files = await this.expectStoreClean();
    expect(files.some((f) => f.endsWith('/manifest.json'))).toBe(true);
    expect(files.some((f) => expected.dataObject.test(f)), `no data object matching ${expected.dataObject}`).toBe(true);
    const records = files.filter((f) => f.includes('/.vaultra/catalog/'));
    expect(records.length).toBeGreaterThan(0);
    const catalog = (await Promise.all(records.map((f) => readFile(f, 'utf8')))).join('\n');
    expect(catalog).toMatch(/"status": "failed"/);
    // The run logs beside the records (<job>/<runId>.log): every line a backup printed, searched
    // above with the rest of the store; a failed run's error line must be among them.
    const logs = records.filter((f) => f.endsWith('.log'));
    expect(logs.length, 'no run log beside the catalog records').toBeGreaterThan(0);
    expect((await Promise.all(logs.map((f) => readFile(f, 'utf8')))).join('\n')).toMatch(/Z {2}vaultra: error: /);

    // vaultra keeps nothing there with a file:// store today; were it ever to, it is searched too.
    await this.expectTreeClean(join(this.started.root, 'config'), 'XDG config');
    await this.expectTreeClean(join(this.started.root, 'state'), 'XDG state');

    this.expectNoCanary('the outputs', this.outputs.map((o) => `${o.stdout}\n${o.stderr}`).join('\n'));

    const calls = await this.expectToolCallsClean();
    expect([...new Set(calls.map((call) => call.argv[0]))]).toEqual(expect.arrayContaining([...expected.tools]));
    if (this.telemetry) await this.expectTelemetryClean();
    return calls;
  }

  /** Every start of a shimmed tool so far, in no particular order. */
  async toolCalls(): Promise<ToolCall[]> {
    const names = (await readdir(this.callsDir)).filter((name) => !name.endsWith('.environ'));
    const calls = await Promise.all(
      names.map(async (name) => ({
        argv: (await readFile(join(this.callsDir, name), 'utf8')).split('\0').slice(0, -1),
        environ: await readFile(join(this.callsDir, `${name}.environ`), 'utf8').catch(() => ''),
      })),
    );
    return calls.filter((call) => call.argv.length > 0);
  }

  /**
   * Searches the argv and the environment every shimmed tool was started with; a failure lists
   * every call concerned (by its argv, which holds no canary once the argv check passed).
   */
  async expectToolCallsClean(): Promise<ToolCall[]> {
    const calls = await this.toolCalls();
    expect(calls.filter((call) => call.environ === '').map((call) => call.argv.join(' ')), 'tool starts whose environment the shim did not log').toEqual([]);
    this.expectNoCanary('the argv the shimmed tools were called with', calls.map((call) => call.argv.join('\0')).join('\n'));
    const leaks = calls.flatMap((call) =>
      Object.entries(this.options.canaries)
        .filter(([, secret]) => this.searchable(call.environ).includes(secret))
        .map(([name]) => `${name} in the environment of: ${call.argv.join(' ')}`),
    );
    expect([...new Set(leaks)]).toEqual([]);
    return calls;
  }

  /**
   * Every start of `tools` (`--version` aside) named a credentials file, found in its argv by
   * `fileOf`, in vaultra's TMPDIR and with a path matching `name`; and none of those files is
   * left. Returns how many starts were checked.
   */
  async expectCredentialsFilesGone(tools: readonly string[], fileOf: (argv: readonly string[]) => string | undefined, name: RegExp): Promise<number> {
    const calls = (await this.toolCalls()).map((call) => call.argv).filter((argv) => tools.includes(argv[0]!) && !argv.includes('--version'));
    for (const argv of calls) {
      const file = fileOf(argv);
      expect(file, `no credentials file in: ${argv.join(' ')}`).toBeDefined();
      expect(file!.startsWith(`${this.tmpDir}/`), `${file} is not in vaultra's TMPDIR`).toBe(true);
      expect(file).toMatch(name);
      expect(existsSync(file!), `${file} left behind`).toBe(false);
    }
    return calls.length;
  }

  /** Searches every byte of every file below `dir` (`what` names it in failures); returns their absolute paths. */
  private async expectTreeClean(dir: string, what: string): Promise<string[]> {
    const files = await filesUnder(dir);
    for (const file of files) this.expectNoCanary(`${what} file ${file}`, await readFile(join(dir, file)));
    return files.map((file) => join(dir, file));
  }

  /** An environment without the variables that carry the password by design. */
  private searchable(environ: string): string {
    const exempt = new Set(this.options.toolPasswordVariables ?? []);
    return environ
      .split('\0')
      .filter((entry) => !exempt.has(entry.slice(0, entry.indexOf('='))))
      .join('\0');
  }
}

/** A fresh X25519 identity, written 0600 at `path`. */
async function writeIdentity(path: string): Promise<IdentityFile> {
  const key = generateX25519Identity();
  await writeFile(path, formatIdentityFile(key.identity), { mode: 0o600 });
  return { path, recipient: key.recipient };
}

/**
 * A `during` callback for {@link CanaryWitness.vaultra}: SIGKILLs the first descendant of
 * vaultra that `matches` (looked for every 10 ms, 30 s at most), `delayMs` after it matched.
 * Throws, naming `what`, when none did.
 *
 * @example
 * await witness.vaultra(['backup', url, '--to', storeUrl], {}, killWhen(isRunningDump, 'pg_dump', 200));
 */
export function killWhen(matches: (p: ProcessInfo) => boolean, what: string, delayMs = 0): (pid: number) => Promise<void> {
  return async (pid) => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const found = descendantsOf(pid).find(matches);
      if (found) {
        await sleep(delayMs);
        process.kill(found.pid, 'SIGKILL');
        return;
      }
      await sleep(10);
    }
    throw new Error(`${what} never showed up`);
  };
}

/**
 * A shim for `tool`: logs its environment, then its argv (NUL-separated, tool name first), into
 * files of its own in `callsDir` (so concurrent tools never interleave), then becomes the real
 * tool, keeping its pid. A shim killed before it logged its argv (vaultra tearing a stage down
 * at once) never ran the tool: its empty argv file is not a call.
 */
async function writeShim(path: string, tool: string, real: string, callsDir: string): Promise<void> {
  const call = `${callsDir}/${tool}.$$`;
  await writeFile(
    path,
    `#!/bin/sh
set -C
n=0
until { : > "${call}.$n"; } 2>/dev/null; do n=$((n + 1)); done
set +C
cat /proc/$$/environ > "${call}.$n.environ"
printf '%s\\0' '${tool}' "$@" > "${call}.$n"
exec '${real}' "$@"
`,
  );
  await chmod(path, 0o755);
}

/** Runs `vaultra`, sampling the argv and environment of its descendants every ~20 ms until it exits. */
async function watchVaultra(args: readonly string[], env: NodeJS.ProcessEnv, during?: (pid: number) => Promise<void>): Promise<WatchedRun> {
  const { child, pid, result } = startVaultra(args, env);
  const argvSeen = new Set<string>();
  const environSeen = new Map<string, Set<string>>();
  let samples = 0;
  let done = false;
  void result.then(() => (done = true));
  const sampler = (async () => {
    while (!done) {
      // Between fork() and exec() a child is a copy of vaultra: its argv and environment are
      // vaultra's own, which hold what the user typed or passed. Not something vaultra chose.
      const own = readProcess(pid)?.argv.join(' ');
      for (const p of descendantsOf(pid)) {
        const argv = p.argv.join(' ');
        if (argv === own) continue;
        const who = `${p.comm}: ${argv}`;
        argvSeen.add(who);
        const environ = await readFile(`/proc/${p.pid}/environ`, 'utf8').catch(() => '');
        if (environ) environSeen.set(who, (environSeen.get(who) ?? new Set()).add(environ));
      }
      samples++;
      await sleep(20);
    }
  })();
  const timer = setTimeout(() => killTree(child, 'SIGKILL'), 90_000);
  try {
    await during?.(pid);
  } finally {
    await result;
    clearTimeout(timer);
    await sampler;
  }
  return { ...(await result), argvSeen, environSeen, samples };
}
