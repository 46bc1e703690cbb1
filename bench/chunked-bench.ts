/**
 * `npm run bench:chunked`: the figures issue 14 asks of chunked snapshots, on PostgreSQL (the
 * bench's own throwaway server and generated data, bench/engines/postgres.ts), in one run:
 *
 *   1. full       shell `pg_dump -Fc -Z0 | zstd -3 -T0 -q > file` vs `vaultra backup --chunked`
 *                 with --jobs 1 and --jobs 2, each into a fresh store (median of --runs)
 *   2. change     ~1 % of rows changed, skewed, uniform and hot (bench/chunked/changes.ts), each from
 *                 the same starting point; an incremental against the full: new bytes stored as
 *                 a share of the full's
 *   3. chain      10 incrementals, a small skewed change before each; then restores (median of
 *                 --runs, fresh databases, content checked) of the 10th incremental, of a chunked
 *                 full of the same data and of the shell file
 *   4. memory     peak RSS of vaultra's node process, chunked full and incremental, at --size-mb
 *                 and at --large-mb
 *   5. chunker    FastCDC and FastCDC + HMAC-SHA-256 on the dump's bytes, MB/s of one core
 *
 * It prints a table with PASS/FAIL against the targets and writes every figure to
 * bench/results/<timestamp>-chunked.json. The database keeps its name (the source URL never
 * changes): each scenario re-creates it from a pristine template copy.
 *
 * Flags:
 *   --size-mb N          the data set (pg_database_size), default 1024
 *   --large-mb N         the memory check's larger data set, default 4096; 0 skips it
 *   --runs N             rounds for the medians, default 3
 *   --change-pct P       the share of rows the skewed and uniform changes touch, default 1
 *   --chain-change-pct P the share before each incremental of the chain, default 0.2
 *   --out file           default bench/results/<timestamp>-chunked.json
 *   --keep               leave the server and the temp folder in place
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { changePlan, CHANGED_TABLES, type ChangePattern, type TableStats } from './chunked/changes.js';
import { measureChunker, type ChunkerThroughput } from './chunked/chunker-throughput.js';
import { postgresEngine } from './engines/postgres.js';
import type { Dataset, EngineHost } from './engines/engine.js';
import { hasGnuTime, killCurrent, measure, type Measurement } from './measure.js';
import { capture, log, mb, median, sq, toolLine } from './support.js';

const TARGETS = {
  /** Chunked full (--jobs 1) wall time over the shell pipeline's. */
  fullVsShell: 1.15,
  /** A skewed ~1 % change's incremental: new bytes stored over the full's. */
  skewedShare: 0.1,
  /** Restore of the 10th incremental over the restore of a chunked full of the same data. */
  chainRestore: 1.1,
  peakRssMb: 200,
  /** "Flat": peak RSS at the large size at most this much above the default size's. */
  rssGrowth: 0.1,
} as const;

const CHAIN_LENGTH = 10;
/** The chunker is measured on at most this much of the dump (held in memory). */
const CHUNKER_SAMPLE_BYTES = 512 * 1024 * 1024;
const JOB = 'b';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VAULTRA = join(ROOT, 'dist', 'vaultra.mjs');

interface Options {
  sizeMb: number;
  largeMb: number;
  runs: number;
  changePct: number;
  chainChangePct: number;
  out: string;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}: flags are --name value`);
    const eq = arg.indexOf('=');
    const [name, inline] = eq < 0 ? [arg.slice(2), undefined] : [arg.slice(2, eq), arg.slice(eq + 1)];
    if (name === 'keep' || name === 'help') flags.set(name, true);
    else if (inline !== undefined) flags.set(name, inline);
    else if (i + 1 < argv.length) flags.set(name, argv[++i]!);
    else throw new Error(`--${name} needs a value`);
  }
  if (flags.has('help')) {
    process.stdout.write('usage: npm run bench:chunked -- [--size-mb 1024] [--large-mb 4096|0] [--runs 3] [--change-pct 1] [--chain-change-pct 0.2] [--out file.json] [--keep]\n');
    process.exit(0);
  }
  const known = ['size-mb', 'large-mb', 'runs', 'change-pct', 'chain-change-pct', 'out', 'keep'];
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`unknown flag --${name}: see --help`);
  const number = (flag: string, fallback: number, { integer = true, min = 1 } = {}): number => {
    const raw = flags.get(flag);
    if (raw === undefined || raw === true) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) throw new Error(`--${flag} ${raw}: expected a ${integer ? 'whole ' : ''}number ≥ ${min}`);
    return value;
  };
  const sizeMb = number('size-mb', 1024);
  const largeMb = number('large-mb', 4096, { min: 0 });
  if (largeMb !== 0 && largeMb <= sizeMb) throw new Error(`--large-mb ${largeMb} must be above --size-mb ${sizeMb} (or 0 to skip the large size)`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    sizeMb,
    largeMb,
    runs: number('runs', 3),
    changePct: number('change-pct', 1, { integer: false, min: 0.001 }),
    chainChangePct: number('chain-change-pct', 0.2, { integer: false, min: 0.001 }),
    out: resolve(String(flags.get('out') ?? join(ROOT, 'bench', 'results', `${stamp}-chunked.json`))),
    keep: flags.get('keep') === true,
  };
}

// ---------------------------------------------------------------------------------------------

/** What `vaultra backup --json` prints for a chunked run (the fields the bench reads). */
interface BackupSummary {
  runId: string;
  type: string;
  bytesRaw: number;
  bytesStored: number;
  baseRunId?: string;
  snapshot?: { chunks: number; newChunks: number; referencedStoredBytes: number; newStoredBytes: number; dedupRatio: number | null };
}

/** One timed command, reduced to what the report keeps. */
interface Timed {
  wallS: number;
  treeCpuS?: number;
  /** vaultra's node process (or bash, for the shell). */
  mainPeakRssMb?: number;
  mainCpuS?: number;
  /** Peak RSS of each tool under it, by name. */
  toolsPeakRssMb: Record<string, number>;
  load1: number;
}

interface BackupRun extends Timed {
  summary: BackupSummary;
}

function timed(m: Measurement, load1: number): Timed {
  return {
    wallS: m.wallMs / 1000,
    ...(m.treeCpu ? { treeCpuS: m.treeCpu.userS + m.treeCpu.sysS } : {}),
    ...(m.main ? { mainPeakRssMb: m.main.peakRssKb / 1024, mainCpuS: m.main.cpuMs / 1000 } : {}),
    toolsPeakRssMb: Object.fromEntries(Object.entries(m.children).map(([name, f]) => [name, Math.round(f.peakRssKb / 102.4) / 10])),
    load1,
  };
}

/** The bench's view of one PostgreSQL server: the engine host plus the SQL this bench needs. */
class Bench {
  private counter = 0;

  constructor(
    readonly host: EngineHost,
    readonly work: string,
    readonly vaultraPath: string,
    readonly recipient: string,
    /** XDG_CONFIG_HOME of every vaultra run: identity, signing key and dedup key live there. */
    readonly xdg: string,
  ) {}

  env(): NodeJS.ProcessEnv {
    return { ...this.host.env(), XDG_CONFIG_HOME: this.xdg };
  }

  sql(database: string, text: string): Promise<string> {
    return capture('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], { env: { ...this.host.env(), PGDATABASE: database }, input: text, what: `psql on ${database}` });
  }

  /** A folder of its own under the work folder. */
  folder(label: string): string {
    const dir = join(this.work, `${String(++this.counter).padStart(3, '0')}-${label}`);
    mkdirSync(dir);
    return dir;
  }

  /** Row count and a sum of row hashes per table: what a restore must bring back, compared exactly. */
  async fingerprint(database: string): Promise<Record<string, string>> {
    const out = await this.sql(database, CHANGED_TABLES.map((t) => `SELECT count(*) || ':' || coalesce(sum(hashtext(x::text)::bigint), 0) FROM ${t} x;`).join('\n'));
    const lines = out.split('\n');
    return Object.fromEntries(CHANGED_TABLES.map((t, i) => [t, lines[i] ?? '?']));
  }

  async tableStats(database: string): Promise<Record<string, TableStats>> {
    const out = await this.sql(database, CHANGED_TABLES.map((t) => `SELECT count(*) || ' ' || coalesce(max(id), 0) FROM ${t};`).join('\n'));
    const lines = out.split('\n');
    return Object.fromEntries(
      CHANGED_TABLES.map((t, i) => {
        const [rows, maxId] = (lines[i] ?? '0 0').split(' ').map(Number);
        return [t, { rows: rows!, maxId: maxId! }];
      }),
    );
  }

  /** `target` becomes a copy of `template` (file copy: fast, and the dump is the same). */
  async cloneDatabase(template: string, target: string): Promise<void> {
    await this.sql('postgres', `DROP DATABASE IF EXISTS ${target};`);
    await this.sql('postgres', `CREATE DATABASE ${target} TEMPLATE ${template} STRATEGY FILE_COPY;`);
  }

  async change(database: string, pattern: ChangePattern, pct: number, seed: number): Promise<{ updated: number; inserted: number; deleted: number }> {
    const plan = changePlan(pattern, pct, seed, await this.tableStats(database));
    await this.sql(database, plan.sql);
    await this.sql(database, 'VACUUM ANALYZE;');
    return { updated: plan.updated, inserted: plan.inserted, deleted: plan.deleted };
  }

  private async run(what: string, command: string, args: string[]): Promise<{ m: Measurement; t: Timed }> {
    await this.host.settle();
    const load1 = loadavg()[0]!;
    // cwd: the work folder, never a store (GNU time writes its figures file there).
    const m = await measure(command, args, { env: this.env(), cwd: this.work, timeFile: join(this.work, 'time.txt') });
    if (m.exitCode !== 0) throw new Error(`${what} failed (exit ${m.exitCode}): ${m.stderrTail.split('\n').slice(-5).join(' | ')}`);
    return { m, t: timed(m, load1) };
  }

  private vaultra(what: string, args: string[]) {
    return this.run(what, process.execPath, [this.vaultraPath, ...args, '--json', '--no-progress']);
  }

  async backup(what: string, database: string, store: string, extra: string[]): Promise<BackupRun> {
    const { m, t } = await this.vaultra(what, ['backup', this.host.targetUrl(database), '--to', `file://${store}`, '--job', JOB, '--recipient', this.recipient, ...extra]);
    const summary = JSON.parse(m.stdout) as BackupSummary;
    log(`  ${what.padEnd(34)} ${t.wallS.toFixed(2)} s, ${mb(summary.bytesRaw)} MB dumped, ${mb(summary.bytesStored)} MB stored${rss(t)}`);
    return { ...t, summary };
  }

  /** Restores `runId` into a new database, checks its content against `expected`, drops it. */
  async restore(what: string, runId: string, store: string, expected: Record<string, string>): Promise<Timed> {
    const target = `restore_${++this.counter}`;
    const { t } = await this.vaultra(what, ['restore', runId, '--from', `file://${store}`, '--target', this.host.targetUrl(target)]);
    await this.checkRestored(what, target, expected);
    log(`  ${what.padEnd(34)} ${t.wallS.toFixed(2)} s${rss(t)}`);
    return t;
  }

  async shellBackup(what: string, database: string, file: string): Promise<Timed> {
    const { t } = await this.run(what, 'bash', ['-o', 'pipefail', '-c', this.host.shellBackup(datasetNamed(database), file)]);
    log(`  ${what.padEnd(34)} ${t.wallS.toFixed(2)} s, ${mb(statSync(file).size)} MB file`);
    return t;
  }

  async shellRestore(what: string, file: string, expected: Record<string, string>): Promise<Timed> {
    const target = `restore_${++this.counter}`;
    const { t } = await this.run(what, 'bash', ['-o', 'pipefail', '-c', this.host.shellRestore(datasetNamed(target), file, target)]);
    await this.checkRestored(what, target, expected);
    log(`  ${what.padEnd(34)} ${t.wallS.toFixed(2)} s`);
    return t;
  }

  private async checkRestored(what: string, target: string, expected: Record<string, string>): Promise<void> {
    const got = await this.fingerprint(target);
    if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${what} restored ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    await this.host.drop(target);
  }
}

/** The engine host's shell pipelines take a Dataset; they read only its name. */
function datasetNamed(name: string): Dataset {
  return { name, bytes: 0, fingerprint: {} };
}

function rss(t: Timed): string {
  return t.mainPeakRssMb === undefined ? '' : `, node peak RSS ${t.mainPeakRssMb.toFixed(0)} MB`;
}

function medianOf(list: Timed[], pick: (t: Timed) => number | undefined): number {
  return median(list.map((t) => pick(t) ?? NaN));
}

// ---------------------------------------------------------------------------------------------

interface FullResult {
  rounds: { round: number; order: string[]; shell: Timed & { fileBytes: number }; jobs1: BackupRun; jobs2: BackupRun }[];
  median: { shellS: number; jobs1S: number; jobs2S: number };
  ratio: { jobs1VsShell: number; jobs2VsShell: number; jobs2Speedup: number };
  /** The --jobs 1 full of round 1, kept as the base of the change and chain scenarios. */
  base: { store: string; runId: string; bytesStored: number; bytesRaw: number };
}

async function benchFull(bench: Bench, database: string, runs: number): Promise<FullResult> {
  log(`full backups: shell vs chunked --jobs 1 vs --jobs 2, ${runs} rounds, each into a fresh store`);
  const rounds: FullResult['rounds'] = [];
  let base: FullResult['base'] | undefined;
  for (let round = 1; round <= runs; round++) {
    // Rotate the order so no contender always runs first (or last) in a round.
    const contenders = ['shell', 'jobs1', 'jobs2'] as const;
    const order = contenders.map((_, i) => contenders[(i + round - 1) % contenders.length]!);
    const got: Partial<FullResult['rounds'][number]> = {};
    for (const who of order) {
      const dir = bench.folder(`full-${who}-r${round}`);
      if (who === 'shell') {
        const file = join(dir, 'shell.dump.zst');
        got.shell = { ...(await bench.shellBackup(`round ${round} shell full`, database, file)), fileBytes: statSync(file).size };
        rmSync(dir, { recursive: true, force: true });
      } else {
        const jobs = who === 'jobs1' ? '1' : '2';
        const run = await bench.backup(`round ${round} chunked full --jobs ${jobs}`, database, dir, ['--chunked', '--jobs', jobs]);
        got[who] = run;
        if (who === 'jobs1' && !base) base = { store: dir, runId: run.summary.runId, bytesStored: run.summary.bytesStored, bytesRaw: run.summary.bytesRaw };
        else rmSync(dir, { recursive: true, force: true });
      }
    }
    rounds.push({ round, order: [...order], ...(got as Omit<FullResult['rounds'][number], 'round' | 'order'>) });
  }
  const med = {
    shellS: medianOf(rounds.map((r) => r.shell), (t) => t.wallS),
    jobs1S: medianOf(rounds.map((r) => r.jobs1), (t) => t.wallS),
    jobs2S: medianOf(rounds.map((r) => r.jobs2), (t) => t.wallS),
  };
  return { rounds, median: med, ratio: { jobs1VsShell: med.jobs1S / med.shellS, jobs2VsShell: med.jobs2S / med.shellS, jobs2Speedup: med.jobs1S / med.jobs2S }, base: base! };
}

interface ChangeResult {
  pattern: ChangePattern;
  pct: number;
  rows: { updated: number; inserted: number; deleted: number };
  incremental: BackupRun;
  /** New bytes stored by the incremental over the full's bytesStored. */
  share: number;
}

async function benchChange(bench: Bench, database: string, pristine: string, base: FullResult['base'], pattern: ChangePattern, pct: number): Promise<ChangeResult> {
  log(`${pattern} change of ${pct} % of rows, then an incremental against the chunked full`);
  await bench.cloneDatabase(pristine, database);
  const rows = await bench.change(database, pattern, pct, 1);
  const store = bench.folder(`change-${pattern}`);
  cpSync(base.store, store, { recursive: true });
  const incremental = await bench.backup(`${pattern} incremental`, database, store, ['--type', 'incremental']);
  if (incremental.summary.baseRunId !== base.runId) throw new Error(`the ${pattern} incremental's base is ${incremental.summary.baseRunId}, expected the full ${base.runId}`);
  rmSync(store, { recursive: true, force: true });
  return { pattern, pct, rows, incremental, share: incremental.summary.bytesStored / base.bytesStored };
}

interface ChainResult {
  changePct: number;
  incrementals: BackupRun[];
  /** A chunked full of the chain's final data, in a store of its own. */
  full: BackupRun;
  shellBackup: Timed & { fileBytes: number };
  restores: { round: number; order: string[]; incremental: Timed; full: Timed; shell: Timed }[];
  median: { incrementalS: number; fullS: number; shellS: number };
  ratio: { incrementalVsFull: number; incrementalVsShell: number; fullVsShell: number };
}

async function benchChain(bench: Bench, database: string, pristine: string, base: FullResult['base'], changePct: number, runs: number): Promise<ChainResult> {
  log(`chain: ${CHAIN_LENGTH} incrementals, a ${changePct} % skewed change before each`);
  await bench.cloneDatabase(pristine, database);
  const store = bench.folder('chain');
  cpSync(base.store, store, { recursive: true });
  const incrementals: BackupRun[] = [];
  let previous = base.runId;
  for (let step = 1; step <= CHAIN_LENGTH; step++) {
    await bench.change(database, 'skewed', changePct, 100 + step);
    const run = await bench.backup(`chain incremental ${step}/${CHAIN_LENGTH}`, database, store, ['--type', 'incremental']);
    if (run.summary.baseRunId !== previous) throw new Error(`chain incremental ${step}'s base is ${run.summary.baseRunId}, expected ${previous}`);
    previous = run.summary.runId;
    incrementals.push(run);
  }
  const expected = await bench.fingerprint(database);
  const fullStore = bench.folder('chain-full');
  const full = await bench.backup('chunked full of the chain data', database, fullStore, ['--chunked']);
  const shellDir = bench.folder('chain-shell');
  const shellFile = join(shellDir, 'shell.dump.zst');
  const shellBackup = { ...(await bench.shellBackup('shell full of the chain data', database, shellFile)), fileBytes: statSync(shellFile).size };

  log(`restores: 10th incremental vs chunked full vs shell, ${runs} rounds, fresh databases, content checked`);
  const restores: ChainResult['restores'] = [];
  for (let round = 1; round <= runs; round++) {
    const contenders = ['incremental', 'full', 'shell'] as const;
    const order = contenders.map((_, i) => contenders[(i + round - 1) % contenders.length]!);
    const got: Partial<ChainResult['restores'][number]> = {};
    for (const who of order) {
      if (who === 'incremental') got.incremental = await bench.restore(`round ${round} restore incremental ${CHAIN_LENGTH}`, previous, store, expected);
      else if (who === 'full') got.full = await bench.restore(`round ${round} restore chunked full`, full.summary.runId, fullStore, expected);
      else got.shell = await bench.shellRestore(`round ${round} shell restore`, shellFile, expected);
    }
    restores.push({ round, order: [...order], ...(got as Omit<ChainResult['restores'][number], 'round' | 'order'>) });
  }
  for (const dir of [store, fullStore, shellDir]) rmSync(dir, { recursive: true, force: true });
  const med = {
    incrementalS: medianOf(restores.map((r) => r.incremental), (t) => t.wallS),
    fullS: medianOf(restores.map((r) => r.full), (t) => t.wallS),
    shellS: medianOf(restores.map((r) => r.shell), (t) => t.wallS),
  };
  return {
    changePct,
    incrementals,
    full,
    shellBackup,
    restores,
    median: med,
    ratio: { incrementalVsFull: med.incrementalS / med.fullS, incrementalVsShell: med.incrementalS / med.shellS, fullVsShell: med.fullS / med.shellS },
  };
}

interface LargeResult {
  sizeMb: number;
  bytes: number;
  generateS: number;
  full: BackupRun;
  incremental: BackupRun;
  share: number;
}

/** The memory check's larger size: a chunked full and a skewed incremental (peak RSS is the figure). */
async function benchLarge(bench: Bench, sizeMb: number, changePct: number): Promise<LargeResult> {
  const name = `chunked_${sizeMb}mb`;
  log(`large size: generating ${name} (about ${sizeMb} MB)`);
  const started = performance.now();
  const dataset = await bench.host.generate(name, sizeMb);
  const generateS = (performance.now() - started) / 1000;
  const store = bench.folder('large');
  const full = await bench.backup(`${sizeMb} MB chunked full`, name, store, ['--chunked']);
  await bench.change(name, 'skewed', changePct, 1);
  const incremental = await bench.backup(`${sizeMb} MB skewed incremental`, name, store, ['--type', 'incremental']);
  rmSync(store, { recursive: true, force: true });
  await bench.host.drop(name);
  return { sizeMb, bytes: dataset.bytes, generateS, full, incremental, share: incremental.summary.bytesStored / full.summary.bytesStored };
}

// ---------------------------------------------------------------------------------------------

interface Verdict {
  name: string;
  value: string;
  pass: boolean;
}

interface Report {
  full: FullResult;
  changes: ChangeResult[];
  chain: ChainResult;
  large?: LargeResult;
  largeSkipped?: string;
  chunker: ChunkerThroughput;
}

function verdicts(r: Report): Verdict[] {
  const skewed = r.changes.find((c) => c.pattern === 'skewed')!;
  const defaultRss = peakRss([...r.full.rounds.flatMap((x) => [x.jobs1, x.jobs2]), ...r.changes.map((c) => c.incremental), ...r.chain.incrementals, r.chain.full]);
  const list: Verdict[] = [
    { name: `chunked full --jobs 1 ≤ ${TARGETS.fullVsShell}× shell (median wall)`, value: `${r.full.ratio.jobs1VsShell.toFixed(3)}×`, pass: r.full.ratio.jobs1VsShell <= TARGETS.fullVsShell },
    { name: `skewed ${skewed.pct} % incremental ≤ ${TARGETS.skewedShare * 100} % of the full's stored bytes`, value: pct(skewed.share), pass: skewed.share <= TARGETS.skewedShare },
    { name: `restore of incremental ${CHAIN_LENGTH} ≤ ${TARGETS.chainRestore}× chunked full's`, value: `${r.chain.ratio.incrementalVsFull.toFixed(3)}×`, pass: r.chain.ratio.incrementalVsFull <= TARGETS.chainRestore },
    { name: `vaultra peak RSS ≤ ${TARGETS.peakRssMb} MB (chunked backups, default size)`, value: `${defaultRss.toFixed(1)} MB`, pass: defaultRss <= TARGETS.peakRssMb },
  ];
  // Beyond the list (it names backups): a restore's node process under the same limit.
  const restoreRss = peakRss(r.chain.restores.flatMap((x) => [x.full, x.incremental]));
  list.push({ name: `(extra) vaultra restore peak RSS ≤ ${TARGETS.peakRssMb} MB (chunked full, incremental)`, value: `${restoreRss.toFixed(1)} MB`, pass: restoreRss <= TARGETS.peakRssMb });
  if (r.large) {
    const largeRss = peakRss([r.large.full, r.large.incremental]);
    list.push({ name: `vaultra peak RSS ≤ ${TARGETS.peakRssMb} MB (${r.large.sizeMb} MB)`, value: `${largeRss.toFixed(1)} MB`, pass: largeRss <= TARGETS.peakRssMb });
    for (const [label, small, large] of [
      ['full', peakRss(r.full.rounds.map((x) => x.jobs1)), r.large.full.mainPeakRssMb ?? NaN],
      ['incremental', peakRss(r.changes.map((c) => c.incremental)), r.large.incremental.mainPeakRssMb ?? NaN],
    ] as const) {
      const growth = large / small - 1;
      list.push({ name: `${label} peak RSS flat: growth to ${r.large.sizeMb} MB < ${TARGETS.rssGrowth * 100} %`, value: `${small.toFixed(1)} → ${large.toFixed(1)} MB (${sign(growth)})`, pass: growth < TARGETS.rssGrowth });
    }
  }
  return list;
}

function loadRange(list: Timed[]): string {
  const loads = list.map((t) => t.load1);
  return `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`;
}

function totalRows(rows: Dataset['fingerprint']): number {
  return Object.values(rows).reduce<number>((sum, n) => sum + Number(n), 0);
}

function peakRss(list: Timed[]): number {
  return Math.max(...list.map((t) => t.mainPeakRssMb ?? NaN));
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)} %`;
}

function sign(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
}

function printed(r: Report, dataset: { name: string; bytes: number; rows: Dataset['fingerprint'] }, checks: Verdict[], header: string): string {
  const f = r.full;
  const row = (label: string, cells: string[]) => `${label.padEnd(40)}${cells.map((c) => c.padStart(16)).join('')}`;
  const s = (x: number) => x.toFixed(2);
  const lines = [header, ''];
  lines.push(`== full backups, ${dataset.name} (${mb(dataset.bytes)} MB pg_database_size, dump ${mb(f.base.bytesRaw)} MB → shell ${mb(f.rounds[0]!.shell.fileBytes)} MB / chunked ${mb(f.base.bytesStored)} MB)`);
  lines.push(row('', ['shell', 'chunked j1', 'chunked j2']));
  lines.push(row('  wall s (median)', [s(f.median.shellS), s(f.median.jobs1S), s(f.median.jobs2S)]));
  lines.push(row('  ratio to shell', ['1.000×', `${f.ratio.jobs1VsShell.toFixed(3)}×`, `${f.ratio.jobs2VsShell.toFixed(3)}×`]));
  lines.push(row('  whole-tree CPU s (median)', [f.rounds.map((x) => x.shell), f.rounds.map((x) => x.jobs1), f.rounds.map((x) => x.jobs2)].map((l) => s(medianOf(l, (t) => t.treeCpuS)))));
  lines.push(row('  vaultra node peak RSS MB (max)', ['', peakRss(f.rounds.map((x) => x.jobs1)).toFixed(1), peakRss(f.rounds.map((x) => x.jobs2)).toFixed(1)]));
  lines.push(`  --jobs 2 speed-up over --jobs 1: ${f.ratio.jobs2Speedup.toFixed(2)}×; load average (1 min) before each run ${loadRange(f.rounds.flatMap((x) => [x.shell, x.jobs1, x.jobs2]))}`);
  lines.push(`  raw wall s: shell [${f.rounds.map((x) => s(x.shell.wallS)).join(', ')}]  j1 [${f.rounds.map((x) => s(x.jobs1.wallS)).join(', ')}]  j2 [${f.rounds.map((x) => s(x.jobs2.wallS)).join(', ')}]`);
  lines.push('');
  lines.push(`== ${r.changes[0]?.pct} % of rows changed, incremental against the chunked full (${mb(f.base.bytesStored)} MB stored)`);
  lines.push(row('', ['rows u/i/d', 'stored MB', 'share', 'wall s', 'new chunks']));
  for (const c of r.changes) {
    const snap = c.incremental.summary.snapshot;
    lines.push(row(`  ${c.pattern}`, [`${c.rows.updated}/${c.rows.inserted}/${c.rows.deleted}`, mb(c.incremental.summary.bytesStored), pct(c.share), s(c.incremental.wallS), snap ? `${snap.newChunks}/${snap.chunks}` : '–']));
  }
  const rowsPerChunk = totalRows(dataset.rows) / (f.rounds[0]!.jobs1.summary.snapshot?.chunks ?? NaN);
  lines.push(`  about ${rowsPerChunk.toFixed(0)} rows per chunk: a row changed away from the others rewrites a whole chunk, so the scattered part of a change`);
  lines.push('  (skewed: 20 % of its updates and its deletes) costs far more stored bytes than the clustered part');
  lines.push('');
  const ch = r.chain;
  lines.push(`== chain of ${CHAIN_LENGTH} incrementals (${ch.changePct} % skewed change before each)`);
  lines.push(`  stored MB per incremental: ${ch.incrementals.map((x) => mb(x.summary.bytesStored)).join(', ')}`);
  lines.push(`  wall s per incremental:    ${ch.incrementals.map((x) => s(x.wallS)).join(', ')}`);
  lines.push(row('  restore of the chain data', ['shell', 'chunked full', `incr ${CHAIN_LENGTH}`]));
  lines.push(row('  wall s (median)', [s(ch.median.shellS), s(ch.median.fullS), s(ch.median.incrementalS)]));
  lines.push(row('  ratio to the chunked full', [`${(ch.median.shellS / ch.median.fullS).toFixed(3)}×`, '1.000×', `${ch.ratio.incrementalVsFull.toFixed(3)}×`]));
  lines.push(row('  ratio to shell', ['1.000×', `${ch.ratio.fullVsShell.toFixed(3)}×`, `${ch.ratio.incrementalVsShell.toFixed(3)}×`]));
  lines.push(row('  vaultra node peak RSS MB (max)', ['', peakRss(ch.restores.map((x) => x.full)).toFixed(1), peakRss(ch.restores.map((x) => x.incremental)).toFixed(1)]));
  lines.push(`  load average (1 min) before each restore ${loadRange(ch.restores.flatMap((x) => [x.shell, x.full, x.incremental]))}`);
  lines.push(`  raw wall s: shell [${ch.restores.map((x) => s(x.shell.wallS)).join(', ')}]  full [${ch.restores.map((x) => s(x.full.wallS)).join(', ')}]  incr [${ch.restores.map((x) => s(x.incremental.wallS)).join(', ')}]`);
  lines.push('');
  lines.push('== vaultra node peak RSS MB (chunked backups)');
  lines.push(row('', ['full', 'incremental']));
  lines.push(row(`  ${mb(dataset.bytes)} MB`, [peakRss(f.rounds.map((x) => x.jobs1)).toFixed(1), peakRss(r.changes.map((c) => c.incremental)).toFixed(1)]));
  if (r.large) lines.push(row(`  ${mb(r.large.bytes)} MB`, [(r.large.full.mainPeakRssMb ?? NaN).toFixed(1), (r.large.incremental.mainPeakRssMb ?? NaN).toFixed(1)]));
  else lines.push(`  large size not run: ${r.largeSkipped}`);
  lines.push('');
  const c = r.chunker;
  lines.push(`== chunker on one core (${mb(c.inputBytes)} MB of the dump, ${c.chunks} chunks, in memory, median of 3)`);
  lines.push(`  FastCDC                ${c.fastcdcMBps.cpu.toFixed(0)} MB/s per CPU second (${c.fastcdcMBps.wall.toFixed(0)} MB/s wall)`);
  lines.push(`  FastCDC + HMAC-SHA-256 ${c.fastcdcHmacMBps.cpu.toFixed(0)} MB/s per CPU second (${c.fastcdcHmacMBps.wall.toFixed(0)} MB/s wall)`);
  lines.push('');
  lines.push('targets');
  for (const check of checks) lines.push(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.name.padEnd(76)} ${check.value}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

/** A private copy of the build under test, so a concurrent `npm run build` cannot change it mid-run. */
function pinBuild(): string {
  const dist = dirname(VAULTRA);
  const pinned = join(dist, `.vaultra-chunked-bench-${process.pid}`);
  mkdirSync(pinned);
  copyFileSync(VAULTRA, join(pinned, 'vaultra.mjs'));
  const chunks = join(dist, 'chunks');
  if (existsSync(chunks)) cpSync(chunks, join(pinned, 'chunks'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  return pinned;
}

function freeBytes(dir: string): number {
  return Number(spawnSync('df', ['-Pk', dir], { encoding: 'utf8' }).stdout.split('\n')[1]?.split(/\s+/)[3]) * 1024;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(VAULTRA)) throw new Error(`${VAULTRA} is missing: run npm run build first`);
  const work = mkdtempSync(join(tmpdir(), 'vaultra-chunked-bench-'));
  chmodSync(work, 0o711); // the postgres user must reach its cluster folder inside
  // The data set twice (it and its pristine copy), the stores and the dump: about 4× the size.
  const needed = options.sizeMb * 4 * 1024 * 1024;
  if (freeBytes(work) < needed) throw new Error(`${work} has ${mb(freeBytes(work))} MB free; this run needs about ${mb(needed)} MB: lower --size-mb`);

  const pinned = pinBuild();
  const vaultraPath = join(pinned, 'vaultra.mjs');
  let host: EngineHost | undefined;
  const cleanup = async () => {
    rmSync(pinned, { recursive: true, force: true });
    if (options.keep) return;
    await host?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = () => {
    log('interrupted: cleaning up');
    killCurrent();
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const startedAt = new Date();
  const loadAtStart = loadavg();
  try {
    log(`temp folder ${work}; load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}`);
    const xdg = join(work, 'xdg');
    mkdirSync(xdg);
    const keygen = spawnSync(process.execPath, [vaultraPath, 'keygen', '--json'], { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: xdg } });
    if (keygen.status !== 0) throw new Error(`vaultra keygen failed: ${keygen.stderr.trim()}`);
    const recipient = (JSON.parse(keygen.stdout) as { recipient: string }).recipient;

    const serverDir = join(work, 'server');
    mkdirSync(serverDir, { mode: 0o711 });
    host = await postgresEngine.start(serverDir, { sizesMb: [options.sizeMb] });
    const bench = new Bench(host, work, vaultraPath, recipient, xdg);
    log(host.serverVersion);

    const database = `chunked_${options.sizeMb}mb`;
    const pristine = `${database}_pristine`;
    log(`generating ${database} (about ${options.sizeMb} MB)`);
    const genStart = performance.now();
    const dataset = await host.generate(database, options.sizeMb);
    const generateS = (performance.now() - genStart) / 1000;
    log(`  ${mb(dataset.bytes)} MB in ${generateS.toFixed(0)} s; pristine copy ${pristine}`);
    await bench.cloneDatabase(database, pristine);

    const full = await benchFull(bench, database, options.runs);
    const changes: ChangeResult[] = [];
    for (const pattern of ['skewed', 'uniform', 'hot'] as const) changes.push(await benchChange(bench, database, pristine, full.base, pattern, options.changePct));
    const chain = await benchChain(bench, database, pristine, full.base, options.chainChangePct, options.runs);

    log('chunker throughput on the dump bytes (pg_dump -Fc -Z0 of the pristine data)');
    const rawDump = join(bench.folder('raw-dump'), 'raw.dump');
    await capture('bash', ['-o', 'pipefail', '-c', `pg_dump -Fc -Z0 ${sq(pristine)} > ${sq(rawDump)}`], { env: host.env(), what: 'pg_dump of the pristine data' });
    const chunker = measureChunker(rawDump, CHUNKER_SAMPLE_BYTES);
    rmSync(dirname(rawDump), { recursive: true, force: true });
    rmSync(full.base.store, { recursive: true, force: true });
    // Free the disk before the large data set: neither copy is needed any more.
    await host.drop(database);
    await host.drop(pristine);

    let large: LargeResult | undefined;
    let largeSkipped: string | undefined;
    if (options.largeMb === 0) largeSkipped = '--large-mb 0';
    else if (freeBytes(work) < options.largeMb * 3 * 1024 * 1024) largeSkipped = `${mb(freeBytes(work))} MB free, ${options.largeMb} MB needs about ${options.largeMb * 3} MB`;
    else large = await benchLarge(bench, options.largeMb, options.changePct);
    if (largeSkipped) log(`large size skipped: ${largeSkipped}`);

    const report: Report = { full, changes, chain, chunker, ...(large ? { large } : {}), ...(largeSkipped ? { largeSkipped } : {}) };
    const checks = verdicts(report);
    const loadAtEnd = loadavg();
    const machine = {
      nproc: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memTotalMb: Math.round(totalmem() / 1024 / 1024),
      node: process.version,
      vaultra: toolLine(process.execPath, [vaultraPath, '--version']),
      zstd: toolLine('zstd'),
      gnuTime: hasGnuTime,
      loadAverage: { start: loadAtStart, end: loadAtEnd },
    };
    const header = [
      `Vaultra chunked-snapshot benchmark (issue 14) — PostgreSQL, ${options.runs} rounds for medians, rotating order`,
      `${machine.nproc} CPU (${machine.cpuModel}), ${machine.memTotalMb} MB RAM, node ${machine.node}, vaultra ${machine.vaultra}, ${host.serverVersion}`,
      `load average (1/5/15 min) at start ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, at end ${loadAtEnd.map((x) => x.toFixed(2)).join(' ')} — a shared machine: ratios in one run are the figure`,
      'shell: pg_dump -Fc -Z0 | zstd -3 -T0 -q > file; restore createdb && zstd -dc file | pg_restore -1. vaultra: zstd -3 per chunk + age to a file:// store',
    ].join('\n');
    const text = printed(report, { ...dataset, rows: dataset.fingerprint }, checks, header);
    process.stdout.write(`\n${text}\n`);
    const json = {
      schema: 'vaultra.bench-chunked/v1',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: ['npm run bench:chunked', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
      options: { ...options, out: undefined, chainLength: CHAIN_LENGTH },
      machine,
      serverVersion: host.serverVersion,
      dataset: { name: dataset.name, bytes: dataset.bytes, generateS, rows: dataset.fingerprint },
      targets: { ...TARGETS, pass: checks.filter((c) => !c.name.startsWith('(extra)')).every((c) => c.pass) },
      checks,
      ...report,
      full: { ...full, base: { ...full.base, store: undefined, storeBytes: undefined } },
      printed: text,
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, JSON.stringify(json, null, 2) + '\n');
    process.stdout.write(`\nwrote ${options.out}\n`);
    if (options.keep) process.stdout.write(`kept: ${work}; ${host.keep()}\n`);
    // A FAIL is a figure, not an error (as in npm run bench): exit 1 only when the run broke.
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
