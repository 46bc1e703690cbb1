/**
 * `npm run bench`: Vaultra against the shell pipeline a user would otherwise write, on the same
 * generated data, in one run, alternating. Per engine (bench/engines/<engine>.ts):
 *
 *   shell backup    bash -o pipefail -c '<dump tool> | zstd -3 -T0 -q > file'
 *   vaultra backup  vaultra backup <url> --to file://dir --recipient age1… (zstd -3 + age)
 *   shell restore   bash -o pipefail -c '<create target> && zstd -d -c file | <restore tool>'
 *   vaultra restore vaultra restore <runId> --from file://dir --target <url> (creates the target)
 *
 * postgres: pg_dump -Fc -Z0 / pg_restore -1; mysql: mariadb-dump / mariadb; directory: GNU tar;
 * mongodb: mongodump / mongorestore --archive (on FerretDB). At two sizes per engine it prints
 * medians, the ratios vaultra/shell, Vaultra's peak RSS (its node process only; the tools it
 * runs are reported separately) and PASS/FAIL against the targets (time within each engine's
 * ratio of the shell, BenchEngine.targets; peak RSS at most 120 MB and not growing with the
 * data), then one summary table over the engines, and writes every figure as JSON.
 *
 * Flags (or environment):
 *   --engine list      VAULTRA_BENCH_ENGINE: postgres (default), mysql, directory, mongodb
 *   --size-mb N        VAULTRA_BENCH_SIZE_MB: every engine's size, or `mysql=256,mongodb=32` for
 *                      some; defaults postgres 1024, mysql 512, directory 512, mongodb 16
 *   --small-size-mb N  VAULTRA_BENCH_SMALL_SIZE_MB: same forms; default a quarter of the size
 *   --runs N           VAULTRA_BENCH_RUNS: rounds per size (default 3)
 *   --out file         VAULTRA_BENCH_OUT: default bench/results/<timestamp>.json
 *   --keep             VAULTRA_BENCH_KEEP=1: leave the servers running and the temp folder in place
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEngines, type BenchEngine, type Dataset, type EngineHost, type RatioTargets } from './engines/index.js';
import { hasGnuTime, killCurrent, measure, type Measurement } from './measure.js';
import { log, mb, median, onPath, toolLine } from './support.js';

// Every engine's time ratios are its own (BenchEngine.targets); memory targets are the same for all.
const TARGET_RSS_MB = 120;
const TARGET_RSS_GROWTH = 0.1;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VAULTRA = join(ROOT, 'dist', 'vaultra.mjs');

type Contender = 'shellBackup' | 'vaultraBackup' | 'shellRestore' | 'vaultraRestore';
const CONTENDERS: readonly Contender[] = ['shellBackup', 'vaultraBackup', 'shellRestore', 'vaultraRestore'];

interface Options {
  engines: BenchEngine[];
  /** By engine name, `*` for all; missing: the engine's default (small: a quarter of the size). */
  sizeMb: SizeFlag;
  smallSizeMb: SizeFlag;
  runs: number;
  out: string;
  keep: boolean;
}

interface Round {
  round: number;
  order: Contender[];
  shellBackup: Measurement;
  vaultraBackup: Measurement;
  shellRestore: Measurement;
  vaultraRestore: Measurement;
  runId: string;
  dumpBytes: number;
  shellFileBytes: number;
  vaultraStoredBytes: number;
}

interface SizeResult {
  dataset: string;
  targetMb: number;
  /** In the engine's own measure (EngineResult.sizeMeaning). */
  bytes: number;
  generateSeconds: number;
  fingerprint: Dataset['fingerprint'];
  rounds: Round[];
  medians: Record<Contender, { wallS: number; treeCpuS?: number; mainPeakRssMb?: number; mainCpuS?: number }>;
  ratios: { backup: number; restore: number };
  vaultraPeakRssMb: { backup: number; restore: number };
  dumpBytes: number;
  shellFileBytes: number;
  vaultraStoredBytes: number;
}

interface Verdict {
  name: string;
  value: string;
  pass: boolean;
}

interface EngineResult {
  engine: string;
  title: string;
  sizeMeaning: string;
  serverVersion?: string;
  versions?: Readonly<Record<string, string>>;
  pipelines?: EngineHost['pipelines'];
  sizes: SizeResult[];
  checks: Verdict[];
  error?: string;
}

function parseOptions(argv: string[]): Options {
  const env = process.env;
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const [name, inline] = eq < 0 ? [arg.slice(2), undefined] : [arg.slice(2, eq), arg.slice(eq + 1)];
    if (name === 'keep' || name === 'help') flags.set(name, true);
    else if (inline !== undefined) flags.set(name, inline);
    else if (i + 1 < argv.length) flags.set(name, argv[++i]!);
    else throw new Error(`--${name} needs a value`);
  }
  if (flags.has('help')) {
    process.stdout.write(
      'usage: npm run bench -- [--engine postgres,mysql,directory,mongodb] [--size-mb N] [--small-size-mb N] [--runs 3] [--out file.json] [--keep]\n' +
        '       --size-mb 512 sets every engine\'s size, --size-mb mysql=256,mongodb=32 some of them; defaults: postgres 1024,\n' +
        '       mysql 512, directory 512, mongodb 16 (FerretDB is slow); the small size is a quarter of it (at least 8)\n',
    );
    process.exit(0);
  }
  for (const name of flags.keys()) if (!['engine', 'size-mb', 'small-size-mb', 'runs', 'out', 'keep'].includes(name)) throw new Error(`unknown flag --${name}`);
  const num = (flag: string, envName: string): number | undefined => {
    const raw = flags.get(flag) ?? env[envName];
    if (raw === undefined || raw === true) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${flag} ${raw}: expected a positive integer`);
    return value;
  };
  const engines = parseEngines(String(flags.get('engine') ?? env.VAULTRA_BENCH_ENGINE ?? 'postgres'));
  const sizeMb = sizeFlag('size-mb', flags.get('size-mb') ?? env.VAULTRA_BENCH_SIZE_MB);
  const smallSizeMb = sizeFlag('small-size-mb', flags.get('small-size-mb') ?? env.VAULTRA_BENCH_SMALL_SIZE_MB);
  for (const engine of engines) {
    const { big, small } = sizesFor(engine, { sizeMb, smallSizeMb });
    if (small >= big) throw new Error(`--small-size-mb ${small} must be below --size-mb ${big} (${engine.name})`);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = resolve(String(flags.get('out') ?? env.VAULTRA_BENCH_OUT ?? join(ROOT, 'bench', 'results', `${stamp}.json`)));
  const keep = flags.get('keep') === true || env.VAULTRA_BENCH_KEEP === '1';
  return { engines, sizeMb, smallSizeMb, runs: num('runs', 'VAULTRA_BENCH_RUNS') ?? 3, out, keep };
}

/** `--size-mb 512` (every engine) or `--size-mb mysql=512,mongodb=16` (engines not named keep their default). */
type SizeFlag = ReadonlyMap<string, number>;

function sizeFlag(flag: string, raw: string | true | undefined): SizeFlag {
  const sizes = new Map<string, number>();
  if (raw === undefined || raw === true) return sizes;
  for (const part of raw.split(',')) {
    const [name, value] = part.includes('=') ? (part.split('=', 2) as [string, string]) : ['*', part];
    const mb = Number(value);
    if (!Number.isInteger(mb) || mb < 1) throw new Error(`--${flag} ${raw}: expected a positive integer, or engine=N,engine=N`);
    sizes.set(name === '*' ? '*' : parseEngines(name)[0]!.name, mb);
  }
  return sizes;
}

function sizesFor(engine: BenchEngine, options: Pick<Options, 'sizeMb' | 'smallSizeMb'>): { big: number; small: number } {
  const pick = (sizes: SizeFlag) => sizes.get(engine.name) ?? sizes.get('*');
  const big = pick(options.sizeMb) ?? engine.defaultSizeMb;
  // A quarter, but at least 8 MB (half, for tiny runs): the memory check compares two sizes.
  return { big, small: pick(options.smallSizeMb) ?? Math.max(1, Math.round(big / 4), Math.min(8, Math.floor(big / 2))) };
}

// ---------------------------------------------------------------------------------------------

function ensureOk(what: string, m: Measurement): void {
  if (m.exitCode !== 0) throw new Error(`${what} failed (exit ${m.exitCode}): ${m.stderrTail.split('\n').slice(-5).join(' | ')}`);
}

interface Context {
  /** This engine's private folder (rounds, stores, dump files). */
  work: string;
  /** The bundle under test (a private copy of dist/vaultra.mjs). */
  vaultra: string;
  recipient: string;
  identity: string;
  runs: number;
  keep: boolean;
}

async function benchSize(host: EngineHost, ctx: Context, name: string, targetMb: number): Promise<SizeResult> {
  log(`generating ${name} (about ${targetMb} MB)`);
  const genStart = performance.now();
  const dataset = await host.generate(name, targetMb);
  const generateSeconds = (performance.now() - genStart) / 1000;
  log(`  ${name}: ${mb(dataset.bytes)} MB, ${JSON.stringify(dataset.fingerprint)}, generated in ${generateSeconds.toFixed(0)} s`);

  const rounds: Round[] = [];
  for (let round = 1; round <= ctx.runs; round++) {
    const shellFirst = round % 2 === 1;
    const order: Contender[] = shellFirst ? ['shellBackup', 'vaultraBackup', 'shellRestore', 'vaultraRestore'] : ['vaultraBackup', 'shellBackup', 'vaultraRestore', 'shellRestore'];
    const dir = join(ctx.work, `${name}-round${round}`);
    mkdirSync(dir);
    const store = join(dir, 'store');
    const dumpFile = join(dir, 'shell.dump.zst');
    const targets = { shellRestore: `restore_shell_${name}_${round}`, vaultraRestore: `restore_vaultra_${name}_${round}` };
    const timeFile = join(dir, 'time.txt');
    const env = host.env();
    const got: Partial<Record<Contender, Measurement>> = {};
    let runId = '';
    let dumpBytes = 0;
    let vaultraStoredBytes = 0;

    const bash = (script: string) => measure('bash', ['-o', 'pipefail', '-c', script], { env, cwd: dir, timeFile });
    const vaultra = (args: string[]) => measure(process.execPath, [ctx.vaultra, ...args, '--json', '--no-progress'], { env, cwd: dir, timeFile });
    const commands: Record<Contender, () => Promise<Measurement>> = {
      shellBackup: () => bash(host.shellBackup(dataset, dumpFile)),
      vaultraBackup: () => vaultra(['backup', host.sourceUrl(dataset), '--to', `file://${store}`, '--job', 'bench', '--recipient', ctx.recipient]),
      shellRestore: () => bash(host.shellRestore(dataset, dumpFile, targets.shellRestore)),
      vaultraRestore: () => vaultra(['restore', runId, '--from', `file://${store}`, '--target', host.targetUrl(targets.vaultraRestore), '--identity', ctx.identity]),
    };

    for (const contender of order) {
      const settleStart = performance.now();
      await host.settle();
      const settledS = (performance.now() - settleStart) / 1000;
      const m = await commands[contender]();
      ensureOk(`${contender} (round ${round}, ${name})`, m);
      got[contender] = m;
      if (contender === 'vaultraBackup') {
        const summary = JSON.parse(m.stdout) as { runId: string; bytesRaw: number; bytesStored: number };
        runId = summary.runId;
        dumpBytes = summary.bytesRaw;
        vaultraStoredBytes = summary.bytesStored;
      }
      if (contender === 'shellRestore' || contender === 'vaultraRestore') {
        const target = targets[contender];
        const restored = await host.fingerprint(target);
        if (JSON.stringify(restored) !== JSON.stringify(dataset.fingerprint)) throw new Error(`${contender} restored ${JSON.stringify(restored)}, expected ${JSON.stringify(dataset.fingerprint)}`);
        await host.drop(target);
      }
      const main = m.main ? `, ${m.main.name} peak RSS ${(m.main.peakRssKb / 1024).toFixed(0)} MB` : '';
      log(`  ${name} round ${round}/${ctx.runs} ${contender.padEnd(14)} ${(m.wallMs / 1000).toFixed(2)} s${main}${settledS >= 1 ? ` (settled ${settledS.toFixed(1)} s before)` : ''}`);
    }
    const shellFileBytes = statSync(dumpFile).size;
    rounds.push({ round, order, ...(got as Record<Contender, Measurement>), runId, dumpBytes, shellFileBytes, vaultraStoredBytes });
    rmSync(dir, { recursive: true, force: true });
  }
  if (!ctx.keep) await host.drop(name);

  const medians = Object.fromEntries(
    CONTENDERS.map((c) => {
      const list = rounds.map((r) => r[c]);
      const cpu = list.map((m) => (m.treeCpu ? m.treeCpu.userS + m.treeCpu.sysS : NaN));
      return [
        c,
        {
          wallS: median(list.map((m) => m.wallMs / 1000)),
          ...(cpu.every(Number.isFinite) ? { treeCpuS: median(cpu) } : {}),
          ...(list.every((m) => m.main) ? { mainPeakRssMb: median(list.map((m) => m.main!.peakRssKb / 1024)), mainCpuS: median(list.map((m) => m.main!.cpuMs / 1000)) } : {}),
        },
      ];
    }),
  ) as SizeResult['medians'];
  const peak = (c: Contender) => Math.max(...rounds.map((r) => (r[c].main?.peakRssKb ?? NaN) / 1024));
  const last = rounds.at(-1)!;
  return {
    dataset: name,
    targetMb,
    bytes: dataset.bytes,
    generateSeconds,
    fingerprint: dataset.fingerprint,
    rounds,
    medians,
    ratios: { backup: medians.vaultraBackup.wallS / medians.shellBackup.wallS, restore: medians.vaultraRestore.wallS / medians.shellRestore.wallS },
    vaultraPeakRssMb: { backup: peak('vaultraBackup'), restore: peak('vaultraRestore') },
    dumpBytes: last.dumpBytes,
    shellFileBytes: last.shellFileBytes,
    vaultraStoredBytes: last.vaultraStoredBytes,
  };
}

async function benchEngine(engine: BenchEngine, options: Options, keys: { vaultra: string; recipient: string; identity: string }, work: string, hosts: EngineHost[]): Promise<EngineResult> {
  const result: EngineResult = { engine: engine.name, title: engine.title, sizeMeaning: engine.sizeMeaning, sizes: [], checks: [] };
  let host: EngineHost | undefined;
  try {
    for (const tool of engine.tools) if (!onPath(tool)) throw new Error(`${tool} is not installed (scripts/setup-system.sh)`);
    const engineWork = join(work, engine.name);
    mkdirSync(engineWork);
    chmodSync(engineWork, 0o711); // server users (postgres, mysql) must reach their folders inside
    log(`${engine.title}: starting`);
    const { big, small } = sizesFor(engine, options);
    host = await engine.start(engineWork, { sizesMb: [small, big] });
    hosts.push(host);
    Object.assign(result, { serverVersion: host.serverVersion, versions: host.versions, pipelines: host.pipelines });
    log(`${engine.title}: ${host.serverVersion}`);
    const ctx: Context = { work: engineWork, ...keys, runs: options.runs, keep: options.keep };
    result.sizes.push(await benchSize(host, ctx, `bench_${small}mb`, small));
    result.sizes.push(await benchSize(host, ctx, `bench_${big}mb`, big));
    result.checks = verdicts(engine.targets, result.sizes[0]!, result.sizes[1]!);
    if (options.keep) log(`kept: ${host.keep()}`);
    else {
      await host.stop();
      rmSync(engineWork, { recursive: true, force: true });
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    log(`${engine.title}: FAILED: ${result.error}`);
    // The next engine should not share the machine with this one's server.
    if (!options.keep) await host?.stop().catch(() => undefined);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------

function verdicts(targets: RatioTargets, small: SizeResult, big: SizeResult): Verdict[] {
  const peak = Math.max(small.vaultraPeakRssMb.backup, small.vaultraPeakRssMb.restore, big.vaultraPeakRssMb.backup, big.vaultraPeakRssMb.restore);
  const growth = (op: 'backup' | 'restore') => big.vaultraPeakRssMb[op] / small.vaultraPeakRssMb[op] - 1;
  const time = (op: 'backup' | 'restore', size: SizeResult, limit: number | undefined): Verdict[] =>
    limit === undefined ? [] : [{ name: `${op} time ≤ ${limit.toFixed(2)}× shell (${size.dataset})`, value: `${size.ratios[op].toFixed(3)}×`, pass: size.ratios[op] <= limit }];
  return [
    ...time('backup', big, targets.backup),
    ...time('restore', big, targets.restore),
    ...time('backup', small, targets.smallBackup),
    ...time('restore', small, targets.smallRestore),
    { name: `vaultra peak RSS ≤ ${TARGET_RSS_MB} MB (all runs)`, value: `${peak.toFixed(1)} MB`, pass: peak <= TARGET_RSS_MB },
    { name: `backup peak RSS growth ${small.dataset}→${big.dataset} < ${TARGET_RSS_GROWTH * 100}%`, value: pct(growth('backup')), pass: growth('backup') < TARGET_RSS_GROWTH },
    { name: `restore peak RSS growth ${small.dataset}→${big.dataset} < ${TARGET_RSS_GROWTH * 100}%`, value: pct(growth('restore')), pass: growth('restore') < TARGET_RSS_GROWTH },
  ];
}

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

function engineBlock(result: EngineResult): string {
  const lines: string[] = [`== ${result.title} (${result.engine})${result.serverVersion ? ` — ${result.serverVersion}` : ''}`];
  if (result.pipelines) {
    const p = result.pipelines;
    lines.push(`shell backup:  ${p.backup}`, `vaultra backup:  ${p.vaultraBackup}`, `shell restore: ${p.restore}`, `vaultra restore: ${p.vaultraRestore}`, '');
  }
  const row = (label: string, cells: string[]) => `${label.padEnd(34)}${cells.map((c) => c.padStart(10)).join('')}`;
  for (const r of result.sizes) {
    lines.push(`${r.dataset} (${mb(r.bytes)} MB ${result.sizeMeaning}, dump ${mb(r.dumpBytes)} MB → zstd ${mb(r.shellFileBytes)} / vaultra ${mb(r.vaultraStoredBytes)} MB)`);
    lines.push(row('', ['shell', 'vaultra', 'ratio']));
    const m = r.medians;
    const cpu = (c: Contender) => (m[c].treeCpuS === undefined ? '–' : m[c].treeCpuS!.toFixed(2));
    lines.push(row('  backup wall s (median)', [m.shellBackup.wallS.toFixed(2), m.vaultraBackup.wallS.toFixed(2), `${r.ratios.backup.toFixed(3)}×`]));
    lines.push(row('  restore wall s (median)', [m.shellRestore.wallS.toFixed(2), m.vaultraRestore.wallS.toFixed(2), `${r.ratios.restore.toFixed(3)}×`]));
    lines.push(row('  backup CPU s, whole tree (median)', [cpu('shellBackup'), cpu('vaultraBackup'), '']));
    lines.push(row('  restore CPU s, whole tree', [cpu('shellRestore'), cpu('vaultraRestore'), '']));
    lines.push(row('  vaultra node CPU s (median)', ['backup', (m.vaultraBackup.mainCpuS ?? NaN).toFixed(2), '']));
    lines.push(row('', ['restore', (m.vaultraRestore.mainCpuS ?? NaN).toFixed(2), '']));
    lines.push(row('  vaultra node peak RSS MB (max)', ['backup', r.vaultraPeakRssMb.backup.toFixed(1), '']));
    lines.push(row('', ['restore', r.vaultraPeakRssMb.restore.toFixed(1), '']));
    const lastRound = r.rounds.at(-1)!;
    const kids = (c: Contender) =>
      Object.entries(lastRound[c].children)
        .filter(([, f]) => f.peakRssKb > 0)
        .map(([name, f]) => `${name} ${(f.peakRssKb / 1024).toFixed(0)} MB/${(f.cpuMs / 1000).toFixed(1)} s`)
        .join(', ');
    lines.push(`  tools (peak RSS/CPU, last round): backup shell: ${kids('shellBackup')}`);
    lines.push(`                                     backup vaultra: node ${((lastRound.vaultraBackup.main?.cpuMs ?? 0) / 1000).toFixed(1)} s CPU; ${kids('vaultraBackup')}`);
    lines.push(`                                     restore shell: ${kids('shellRestore')}`);
    lines.push(`                                     restore vaultra: node ${((lastRound.vaultraRestore.main?.cpuMs ?? 0) / 1000).toFixed(1)} s CPU; ${kids('vaultraRestore')}`);
    lines.push(`  raw wall s: ${CONTENDERS.map((c) => `${c} [${r.rounds.map((x) => (x[c].wallMs / 1000).toFixed(2)).join(', ')}]`).join('  ')}`);
    lines.push('');
  }
  if (result.error) lines.push(`  FAILED: ${result.error}`, '');
  if (result.checks.length > 0) {
    lines.push('targets');
    for (const check of result.checks) lines.push(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.name.padEnd(52)} ${check.value}`);
  }
  return lines.join('\n');
}

/** One line per engine: ratios at the large size, peak RSS at both sizes. */
function summaryTable(results: EngineResult[]): string {
  const head = ['engine', 'sizes MB', 'backup ×', 'restore ×', 'backup ×', 'restore ×', 'RSS backup MB', 'RSS restore MB', 'targets'];
  const sub = ['', 'small/large', 'large', 'large', 'small', 'small', 'small → large', 'small → large', ''];
  const rows = results.map((r) => {
    const [small, big] = r.sizes;
    if (!small || !big) return [r.engine, '–', '–', '–', '–', '–', '–', '–', r.error ? 'ERROR' : '–'];
    const rss = (op: 'backup' | 'restore') => `${small.vaultraPeakRssMb[op].toFixed(1)} → ${big.vaultraPeakRssMb[op].toFixed(1)}`;
    const failed = r.checks.filter((c) => !c.pass).length;
    return [
      r.engine,
      `${mb(small.bytes)}/${mb(big.bytes)}`,
      big.ratios.backup.toFixed(3),
      big.ratios.restore.toFixed(3),
      small.ratios.backup.toFixed(3),
      small.ratios.restore.toFixed(3),
      rss('backup'),
      rss('restore'),
      failed === 0 ? 'all PASS' : `${failed} FAIL`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, sub[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return ['summary (ratio = vaultra/shell median wall time; RSS = vaultra node process, max over rounds)', line(head), line(sub), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------

/**
 * A private copy of the build under test — dist/vaultra.mjs and the chunks it loads (source maps
 * left out) — in dist/.vaultra-bench-<pid>/, so module resolution is the original's: a
 * concurrent `npm run build` (which replaces dist/chunks) must not change or break the program
 * halfway through a run.
 */
function pinBuild(): string {
  const dist = dirname(VAULTRA);
  const pinned = join(dist, `.vaultra-bench-${process.pid}`);
  mkdirSync(pinned);
  copyFileSync(VAULTRA, join(pinned, 'vaultra.mjs'));
  const chunks = join(dist, 'chunks');
  if (existsSync(chunks)) cpSync(chunks, join(pinned, 'chunks'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  return pinned;
}

/** Bytes of JavaScript in a pinned build: the entry, and all of it (entry + chunks). */
function buildBytes(pinned: string): { entry: number; total: number } {
  const chunks = join(pinned, 'chunks');
  const chunkBytes = existsSync(chunks) ? readdirSync(chunks).reduce((sum, name) => sum + statSync(join(chunks, name)).size, 0) : 0;
  const entry = statSync(join(pinned, 'vaultra.mjs')).size;
  return { entry, total: entry + chunkBytes };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(VAULTRA)) throw new Error(`${VAULTRA} is missing: run npm run build first`);
  for (const tool of ['zstd', 'bash']) if (!onPath(tool)) throw new Error(`${tool} is not installed (scripts/setup-system.sh)`);
  if (!hasGnuTime) log('/usr/bin/time not found (apt-get install time): whole-tree CPU figures are left out');

  const work = mkdtempSync(join(tmpdir(), 'vaultra-bench-'));
  chmodSync(work, 0o711);
  const free = Number(spawnSync('df', ['-Pk', work], { encoding: 'utf8' }).stdout.split('\n')[1]?.split(/\s+/)[3]) * 1024;
  const needed = Math.max(...options.engines.map((e) => sizesFor(e, options)).map(({ big, small }) => (big + small) * 1024 * 1024 * 3));
  if (Number.isFinite(free) && free < needed) throw new Error(`${work} has ${mb(free)} MB free; this run needs about ${mb(needed)} MB: lower --size-mb`);

  const pinned = pinBuild();
  const vaultra = join(pinned, 'vaultra.mjs');
  const hosts: EngineHost[] = [];
  const cleanup = async () => {
    rmSync(pinned, { recursive: true, force: true });
    if (options.keep) return;
    for (const host of hosts) await host.stop().catch(() => undefined);
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
  try {
    log(`temp folder ${work}`);
    const identity = join(work, 'identity.txt');
    const keygen = spawnSync(process.execPath, [vaultra, 'keygen', '--out', identity, '--json'], { encoding: 'utf8' });
    if (keygen.status !== 0) throw new Error(`vaultra keygen failed: ${keygen.stderr}`);
    const recipient = (JSON.parse(keygen.stdout) as { recipient: string }).recipient;

    const startupS = median(
      Array.from({ length: 5 }, () => {
        const t = performance.now();
        spawnSync(process.execPath, [vaultra, '--version']);
        return (performance.now() - t) / 1000;
      }),
    );
    const bundle = buildBytes(pinned);
    log(`vaultra build ${mb(bundle.entry)} MB entry, ${mb(bundle.total)} MB with chunks; \`vaultra --version\` takes ${startupS.toFixed(2)} s`);

    const results: EngineResult[] = [];
    for (const engine of options.engines) results.push(await benchEngine(engine, options, { vaultra, recipient, identity }, work, hosts));

    const machine = {
      nproc: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memTotalMb: Math.round(totalmem() / 1024 / 1024),
      kernel: toolLine('uname', ['-sr']),
      node: process.version,
      vaultra: toolLine(process.execPath, [vaultra, '--version']),
      vaultraEntryBytes: bundle.entry,
      vaultraBuildBytes: bundle.total,
      vaultraEntrySha256: createHash('sha256').update(readFileSync(vaultra)).digest('hex'),
      vaultraStartupS: startupS,
      zstd: toolLine('zstd'),
      bash: toolLine('bash'),
      gnuTime: hasGnuTime,
    };
    const header = [
      `Vaultra backup benchmark — ${options.runs} run(s) per size, alternating, medians`,
      `${machine.nproc} CPU (${machine.cpuModel}), ${machine.memTotalMb} MB RAM, node ${machine.node}, ${machine.zstd.replace(/^\*+\s*/, '').replace(/\s*\*+$/, '')}`,
      `vaultra ${machine.vaultra}: ${mb(bundle.entry)} MB entry (${mb(bundle.total)} MB with chunks), \`vaultra --version\` ${startupS.toFixed(2)} s (median of 5: the start-up cost of every vaultra run)`,
      'vaultra stores zstd -3 -T0 + age in a local file:// folder (fsynced); its restore checks sha256 and age, then creates the target',
    ].join('\n');
    const printed = [header, '', ...results.map(engineBlock), '', summaryTable(results)].join('\n');
    process.stdout.write(`\n${printed}\n`);

    const checks = results.flatMap((r) => r.checks);
    const report = {
      schema: 'vaultra.bench/v2',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options: { engines: options.engines.map((e) => e.name), sizesMb: Object.fromEntries(options.engines.map((e) => [e.name, sizesFor(e, options)])), runs: options.runs },
      machine,
      targets: { ratios: Object.fromEntries(options.engines.map((e) => [e.name, e.targets])), rssMb: TARGET_RSS_MB, rssGrowth: TARGET_RSS_GROWTH, pass: checks.every((c) => c.pass) && results.every((r) => !r.error) },
      engines: results,
      printed,
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`\nwrote ${options.out}\n`);
    if (options.keep) process.stdout.write(`kept: ${work}\n`);
    return results.some((r) => r.error) ? 1 : 0;
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
