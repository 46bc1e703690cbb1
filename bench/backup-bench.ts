/**
 * `npm run bench`: Vaultra against the shell pipeline a user would otherwise write, on the same
 * generated PostgreSQL database, in one run, alternating.
 *
 *   shell backup    bash -o pipefail -c 'pg_dump -Fc -Z0 | zstd -3 -T0 -q > file'
 *   vaultra backup  vaultra backup postgres://… --to file://dir --recipient age1… (zstd -3 + age)
 *   shell restore   bash -o pipefail -c 'createdb db && zstd -d -c file | pg_restore -d db --single-transaction --exit-on-error'
 *   vaultra restore vaultra restore <runId> --from file://dir --target postgres://…/db (creates db)
 *
 * At two database sizes it prints medians, the ratios vaultra/shell, Vaultra's peak RSS (its node
 * process only; the tools it runs are reported separately) and PASS/FAIL against the targets
 * (time within 1.10× of the shell, peak RSS under 150 MB and not growing with the database), and
 * writes every figure as JSON.
 *
 * Flags (or environment): --size-mb N (VAULTRA_BENCH_SIZE_MB, default 1024), --small-size-mb N
 * (VAULTRA_BENCH_SMALL_SIZE_MB, default size/4), --runs N (VAULTRA_BENCH_RUNS, default 3),
 * --out file (VAULTRA_BENCH_OUT, default bench/results/<timestamp>.json), --keep
 * (VAULTRA_BENCH_KEEP=1: leave the server running and the temp folder in place).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBenchServer, type BenchServer } from './pg-server.js';
import { hasGnuTime, killCurrent, measure, type Measurement } from './measure.js';

const TARGET_RATIO = 1.1;
const TARGET_RSS_MB = 150;
const TARGET_RSS_GROWTH = 0.1;
const TABLES = ['orders', 'events', 'documents'] as const;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VAULTRA = join(ROOT, 'dist', 'vaultra.mjs');

type Contender = 'shellBackup' | 'vaultraBackup' | 'shellRestore' | 'vaultraRestore';
const CONTENDERS: readonly Contender[] = ['shellBackup', 'vaultraBackup', 'shellRestore', 'vaultraRestore'];

interface Options {
  sizeMb: number;
  smallSizeMb: number;
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
  database: string;
  targetMb: number;
  dbBytes: number;
  generateSeconds: number;
  rows: Record<string, number>;
  rounds: Round[];
  medians: Record<Contender, { wallS: number; treeCpuS?: number; mainPeakRssMb?: number }>;
  ratios: { backup: number; restore: number };
  vaultraPeakRssMb: { backup: number; restore: number };
  dumpBytes: number;
  shellFileBytes: number;
  vaultraStoredBytes: number;
}

function parseOptions(argv: string[]): Options {
  const env = process.env;
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (name === 'keep' || name === 'help') flags.set(name, true);
    else if (inline !== undefined) flags.set(name, inline);
    else if (i + 1 < argv.length) flags.set(name, argv[++i]!);
    else throw new Error(`--${name} needs a value`);
  }
  if (flags.has('help')) {
    process.stdout.write('usage: npm run bench -- [--size-mb 1024] [--small-size-mb 256] [--runs 3] [--out file.json] [--keep]\n');
    process.exit(0);
  }
  for (const name of flags.keys()) if (!['size-mb', 'small-size-mb', 'runs', 'out', 'keep'].includes(name)) throw new Error(`unknown flag --${name}`);
  const num = (flag: string, envName: string, fallback: number) => {
    const raw = flags.get(flag) ?? env[envName];
    if (raw === undefined || raw === true) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${flag} ${raw}: expected a positive integer`);
    return value;
  };
  const sizeMb = num('size-mb', 'VAULTRA_BENCH_SIZE_MB', 1024);
  const smallSizeMb = num('small-size-mb', 'VAULTRA_BENCH_SMALL_SIZE_MB', Math.max(16, Math.round(sizeMb / 4)));
  if (smallSizeMb >= sizeMb) throw new Error(`--small-size-mb ${smallSizeMb} must be below --size-mb ${sizeMb}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = resolve(String(flags.get('out') ?? env.VAULTRA_BENCH_OUT ?? join(ROOT, 'bench', 'results', `${stamp}.json`)));
  const keep = flags.get('keep') === true || env.VAULTRA_BENCH_KEEP === '1';
  return { sizeMb, smallSizeMb, runs: num('runs', 'VAULTRA_BENCH_RUNS', 3), out, keep };
}

// ---------------------------------------------------------------------------------------------

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** Runs SQL through psql; resolves with its unaligned, tuples-only output. */
function psql(server: BenchServer, database: string, sql: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], { env: server.env(database), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out).toString('utf8').trim());
      else reject(new Error(`psql on ${database} failed (exit ${code}): ${Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join(' | ')}`));
    });
    child.stdin.end(sql);
  });
}

function toolLine(command: string, args: string[] = ['--version']): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0 ? (result.stdout || result.stderr).trim().split('\n')[0]!.trim() : 'missing';
}

// ---------------------------------------------------------------------------------------------
// Data: mixed numeric, text and jsonb, deterministic (functions of the row number), with the
// kind of redundancy real data has: repeated vocabulary and JSON keys next to hashes and ids.

const SCHEMA_SQL = `
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  customer_id integer NOT NULL,
  amount numeric(12,2) NOT NULL,
  quantity integer NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL,
  note text
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE TABLE events (
  id bigint PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  kind text NOT NULL,
  payload jsonb NOT NULL
);
CREATE TABLE documents (
  id bigint PRIMARY KEY,
  title text NOT NULL,
  body text NOT NULL,
  score double precision
);
CREATE FUNCTION w(n bigint) RETURNS text IMMUTABLE LANGUAGE sql AS $$
  SELECT (ARRAY['alpha','bravo','shipping','invoice','customer','priority','standard','express','return','warehouse',
                'discount','payment','pending','review','account','delivery','support','order','refund','update'])[1 + (n % 20)]
$$;
`;

function batchSql(from: number, to: number): string {
  return `
INSERT INTO orders
SELECT i, (i * 7919) % 100000, ((i * 104729) % 10000000) / 100.0, 1 + i % 9,
       (ARRAY['new','paid','shipped','delivered','cancelled','refunded'])[1 + (i * 31) % 6],
       timestamptz '2021-01-01' + ((i * 2654435761) % 94608000) * interval '1 second',
       CASE WHEN i % 3 = 0 THEN NULL
            ELSE 'customer asked for ' || w(i * 13) || ' ' || w(i * 7) || ' handling, ref ' || md5((i * 5)::text) END
FROM generate_series(${from}::bigint, ${to}::bigint) AS i;
INSERT INTO events
SELECT i, timestamptz '2022-01-01' + i * interval '250 milliseconds',
       (ARRAY['page_view','click','signup','purchase','logout','search'])[1 + (i * 17) % 6],
       jsonb_build_object(
         'user_id', (i * 7919) % 250000,
         'session', md5((i / 20)::text),
         'request_id', md5(i::text),
         'ip', '10.' || (i % 256) || '.' || ((i / 256) % 256) || '.' || ((i * 7) % 256),
         'agent', (ARRAY['Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0','Mozilla/5.0 (Macintosh) Safari/17.4','curl/8.5.0'])[1 + i % 3],
         'tags', jsonb_build_array(w(i), w(i * 3)),
         'amount', round(((i * 37) % 100000) / 100.0, 2),
         'ok', i % 17 <> 0)
FROM generate_series(${from}::bigint, ${to}::bigint) AS i;
INSERT INTO documents
SELECT i, 'Document ' || i || ': ' || w(i) || ' ' || w(i * 11),
       repeat('The ' || w(i) || ' team reviewed the ' || w(i * 3) || ' request and scheduled a ' || w(i * 5) || ' follow-up. ', (1 + i % 4)::int)
         || md5(i::text) || ' ' || md5((i * 3)::text) || ' ' || md5((i * 7)::text),
       ((i * 2654435761) % 1000000) / 1000000.0
FROM generate_series(${from}::bigint, ${to}::bigint) AS i WHERE i % 2 = 0;
`;
}

async function databaseBytes(server: BenchServer, database: string): Promise<number> {
  return Number(await psql(server, 'postgres', `SELECT pg_database_size('${database}')`));
}

/** Creates `database` and fills it to about `targetMb` MB (pg_database_size). */
async function generate(server: BenchServer, database: string, targetMb: number): Promise<void> {
  const target = targetMb * 1024 * 1024;
  await psql(server, 'postgres', `CREATE DATABASE ${database}`);
  await psql(server, database, SCHEMA_SQL);
  const empty = await databaseBytes(server, database);
  const calibration = 5000;
  await psql(server, database, batchSql(1, calibration));
  let size = await databaseBytes(server, database);
  const perUnit = Math.max(1, (size - empty) / calibration);
  const perBatch = Math.max(5000, Math.floor((96 * 1024 * 1024) / perUnit));
  let next = calibration + 1;
  let lastShown = 0;
  while (size < target) {
    const units = Math.min(perBatch, Math.max(1000, Math.ceil((target - size) / perUnit)));
    await psql(server, database, batchSql(next, next + units - 1));
    next += units;
    size = await databaseBytes(server, database);
    if (size - lastShown > target / 8 || size >= target) {
      log(`  ${database}: ${mb(size)} of ${targetMb} MB`);
      lastShown = size;
    }
  }
  await psql(server, database, 'VACUUM (FREEZE, ANALYZE)');
}

async function rowCounts(server: BenchServer, database: string): Promise<Record<string, number>> {
  const out = await psql(server, database, TABLES.map((t) => `SELECT count(*) FROM ${t};`).join('\n'));
  const counts = out.split('\n').map(Number);
  return Object.fromEntries(TABLES.map((t, i) => [t, counts[i] ?? -1]));
}

/** Between timed commands: no dirty buffers or page cache from the previous one bleed into the next. */
async function settle(server: BenchServer): Promise<void> {
  await psql(server, 'postgres', 'CHECKPOINT');
  spawnSync('sync');
}

// ---------------------------------------------------------------------------------------------

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(bytes < 100 * 1024 * 1024 ? 1 : 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function ensureOk(what: string, m: Measurement): void {
  if (m.exitCode !== 0) throw new Error(`${what} failed (exit ${m.exitCode}): ${m.stderrTail.split('\n').slice(-5).join(' | ')}`);
}

async function benchSize(server: BenchServer, ctx: { work: string; recipient: string; identity: string }, database: string, targetMb: number, runs: number, keep: boolean): Promise<SizeResult> {
  log(`generating ${database} (about ${targetMb} MB)`);
  const genStart = performance.now();
  await generate(server, database, targetMb);
  const generateSeconds = (performance.now() - genStart) / 1000;
  const dbBytes = await databaseBytes(server, database);
  const rows = await rowCounts(server, database);
  log(`  ${database}: ${mb(dbBytes)} MB, rows ${JSON.stringify(rows)}, generated in ${generateSeconds.toFixed(0)} s`);

  const base = { host: server.host, port: server.port, user: server.user };
  const url = (db: string) => `postgres://${base.user}@${base.host}:${base.port}/${db}`;
  const rounds: Round[] = [];
  for (let round = 1; round <= runs; round++) {
    const shellFirst = round % 2 === 1;
    const order: Contender[] = shellFirst ? ['shellBackup', 'vaultraBackup', 'shellRestore', 'vaultraRestore'] : ['vaultraBackup', 'shellBackup', 'vaultraRestore', 'shellRestore'];
    const dir = join(ctx.work, `${database}-round${round}`);
    mkdirSync(dir);
    const store = join(dir, 'store');
    const dumpFile = join(dir, 'shell.pgdump.zst');
    const shellTarget = `restore_shell_${database}_${round}`;
    const vaultraTarget = `restore_vaultra_${database}_${round}`;
    const timeFile = join(dir, 'time.txt');
    const env = server.env(database);
    const got: Partial<Record<Contender, Measurement>> = {};
    let runId = '';
    let dumpBytes = 0;
    let vaultraStoredBytes = 0;

    const commands: Record<Contender, () => Promise<Measurement>> = {
      shellBackup: () => measure('bash', ['-o', 'pipefail', '-c', `pg_dump -Fc -Z0 | zstd -3 -T0 -q > '${dumpFile}'`], { env, cwd: dir, timeFile }),
      vaultraBackup: () =>
        measure(process.execPath, [VAULTRA, 'backup', url(database), '--to', `file://${store}`, '--job', 'bench', '--recipient', ctx.recipient, '--json', '--no-progress'], { env, cwd: dir, timeFile }),
      shellRestore: () =>
        measure('bash', ['-o', 'pipefail', '-c', `createdb '${shellTarget}' && zstd -d -c '${dumpFile}' | pg_restore -d '${shellTarget}' --single-transaction --exit-on-error`], {
          env,
          cwd: dir,
          timeFile,
        }),
      vaultraRestore: () =>
        measure(process.execPath, [VAULTRA, 'restore', runId, '--from', `file://${store}`, '--target', url(vaultraTarget), '--identity', ctx.identity, '--json', '--no-progress'], {
          env,
          cwd: dir,
          timeFile,
        }),
    };

    for (const contender of order) {
      await settle(server);
      const m = await commands[contender]();
      ensureOk(`${contender} (round ${round}, ${database})`, m);
      got[contender] = m;
      if (contender === 'vaultraBackup') {
        const summary = JSON.parse(m.stdout) as { runId: string; bytesRaw: number; bytesStored: number };
        runId = summary.runId;
        dumpBytes = summary.bytesRaw;
        vaultraStoredBytes = summary.bytesStored;
      }
      if (contender === 'shellRestore' || contender === 'vaultraRestore') {
        const target = contender === 'shellRestore' ? shellTarget : vaultraTarget;
        const restored = await rowCounts(server, target);
        if (JSON.stringify(restored) !== JSON.stringify(rows)) throw new Error(`${contender} restored ${JSON.stringify(restored)}, expected ${JSON.stringify(rows)}`);
        await psql(server, 'postgres', `DROP DATABASE ${target}`);
      }
      log(`  ${database} round ${round}/${runs} ${contender.padEnd(14)} ${(m.wallMs / 1000).toFixed(2)} s${m.main ? `, ${m.main.name} peak RSS ${(m.main.peakRssKb / 1024).toFixed(0)} MB` : ''}`);
    }
    const shellFileBytes = statSync(dumpFile).size;
    rounds.push({ round, order, ...(got as Record<Contender, Measurement>), runId, dumpBytes, shellFileBytes, vaultraStoredBytes });
    rmSync(dir, { recursive: true, force: true });
  }
  if (!keep) await psql(server, 'postgres', `DROP DATABASE ${database}`);

  const medians = Object.fromEntries(
    CONTENDERS.map((c) => {
      const list = rounds.map((r) => r[c]);
      const cpu = list.map((m) => (m.treeCpu ? m.treeCpu.userS + m.treeCpu.sysS : NaN));
      return [
        c,
        {
          wallS: median(list.map((m) => m.wallMs / 1000)),
          ...(cpu.every(Number.isFinite) ? { treeCpuS: median(cpu) } : {}),
          ...(list.every((m) => m.main) ? { mainPeakRssMb: median(list.map((m) => m.main!.peakRssKb / 1024)) } : {}),
        },
      ];
    }),
  ) as SizeResult['medians'];
  const peak = (c: Contender) => Math.max(...rounds.map((r) => (r[c].main?.peakRssKb ?? NaN) / 1024));
  const last = rounds.at(-1)!;
  return {
    database,
    targetMb,
    dbBytes,
    generateSeconds,
    rows,
    rounds,
    medians,
    ratios: { backup: medians.vaultraBackup.wallS / medians.shellBackup.wallS, restore: medians.vaultraRestore.wallS / medians.shellRestore.wallS },
    vaultraPeakRssMb: { backup: peak('vaultraBackup'), restore: peak('vaultraRestore') },
    dumpBytes: last.dumpBytes,
    shellFileBytes: last.shellFileBytes,
    vaultraStoredBytes: last.vaultraStoredBytes,
  };
}

// ---------------------------------------------------------------------------------------------

interface Verdict {
  name: string;
  value: string;
  pass: boolean;
}

function verdicts(small: SizeResult, big: SizeResult): Verdict[] {
  const peak = Math.max(small.vaultraPeakRssMb.backup, small.vaultraPeakRssMb.restore, big.vaultraPeakRssMb.backup, big.vaultraPeakRssMb.restore);
  const growth = (op: 'backup' | 'restore') => big.vaultraPeakRssMb[op] / small.vaultraPeakRssMb[op] - 1;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  return [
    { name: `backup time ≤ ${TARGET_RATIO.toFixed(2)}× shell (${big.database})`, value: `${big.ratios.backup.toFixed(3)}×`, pass: big.ratios.backup <= TARGET_RATIO },
    { name: `restore time ≤ ${TARGET_RATIO.toFixed(2)}× shell (${big.database})`, value: `${big.ratios.restore.toFixed(3)}×`, pass: big.ratios.restore <= TARGET_RATIO },
    { name: `vaultra peak RSS < ${TARGET_RSS_MB} MB (all runs)`, value: `${peak.toFixed(1)} MB`, pass: peak < TARGET_RSS_MB },
    { name: `backup peak RSS growth ${small.database}→${big.database} < ${TARGET_RSS_GROWTH * 100}%`, value: pct(growth('backup')), pass: growth('backup') < TARGET_RSS_GROWTH },
    { name: `restore peak RSS growth ${small.database}→${big.database} < ${TARGET_RSS_GROWTH * 100}%`, value: pct(growth('restore')), pass: growth('restore') < TARGET_RSS_GROWTH },
  ];
}

function table(results: SizeResult[], checks: Verdict[], header: string): string {
  const lines: string[] = [header, ''];
  const cols = results.map((r) => `${r.database} (${mb(r.dbBytes)} MB db, dump ${mb(r.dumpBytes)} MB → zstd ${mb(r.shellFileBytes)} / vaultra ${mb(r.vaultraStoredBytes)} MB)`);
  const row = (label: string, cells: string[]) => `${label.padEnd(34)}${cells.map((c) => c.padStart(10)).join('')}`;
  for (const [i, r] of results.entries()) {
    lines.push(cols[i]!);
    lines.push(row('', ['shell', 'vaultra', 'ratio']));
    const m = r.medians;
    const cpu = (c: Contender) => (m[c].treeCpuS === undefined ? '–' : m[c].treeCpuS!.toFixed(2));
    lines.push(row('  backup wall s (median)', [m.shellBackup.wallS.toFixed(2), m.vaultraBackup.wallS.toFixed(2), `${r.ratios.backup.toFixed(3)}×`]));
    lines.push(row('  restore wall s (median)', [m.shellRestore.wallS.toFixed(2), m.vaultraRestore.wallS.toFixed(2), `${r.ratios.restore.toFixed(3)}×`]));
    lines.push(row('  backup CPU s, whole tree (median)', [cpu('shellBackup'), cpu('vaultraBackup'), '']));
    lines.push(row('  restore CPU s, whole tree', [cpu('shellRestore'), cpu('vaultraRestore'), '']));
    lines.push(row('  vaultra node peak RSS MB (max)', ['backup', r.vaultraPeakRssMb.backup.toFixed(1), '']));
    lines.push(row('', ['restore', r.vaultraPeakRssMb.restore.toFixed(1), '']));
    const kids = (c: Contender) =>
      Object.entries(r.rounds.at(-1)![c].children)
        .filter(([, f]) => f.peakRssKb > 0)
        .map(([name, f]) => `${name} ${(f.peakRssKb / 1024).toFixed(0)} MB/${(f.cpuMs / 1000).toFixed(1)} s`)
        .join(', ');
    lines.push(`  tools (peak RSS/CPU, last round): backup shell: ${kids('shellBackup')}`);
    lines.push(`                                     backup vaultra: node ${((r.rounds.at(-1)!.vaultraBackup.main?.cpuMs ?? 0) / 1000).toFixed(1)} s CPU; ${kids('vaultraBackup')}`);
    lines.push(`                                     restore shell: ${kids('shellRestore')}`);
    lines.push(`                                     restore vaultra: node ${((r.rounds.at(-1)!.vaultraRestore.main?.cpuMs ?? 0) / 1000).toFixed(1)} s CPU; ${kids('vaultraRestore')}`);
    lines.push(`  raw wall s: ${CONTENDERS.map((c) => `${c} [${r.rounds.map((x) => (x[c].wallMs / 1000).toFixed(2)).join(', ')}]`).join('  ')}`);
    lines.push('');
  }
  lines.push('targets');
  for (const check of checks) lines.push(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.name.padEnd(52)} ${check.value}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(VAULTRA)) throw new Error(`${VAULTRA} is missing: run npm run build first`);
  for (const tool of ['pg_dump', 'pg_restore', 'psql', 'createdb', 'zstd', 'bash']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is not installed (scripts/setup-system.sh)`);
  }
  if (!hasGnuTime) log('/usr/bin/time not found (apt-get install time): whole-tree CPU figures are left out');

  const work = mkdtempSync(join(tmpdir(), 'vaultra-bench-'));
  chmodSync(work, 0o711); // the postgres user must reach its cluster folder inside
  const free = Number(spawnSync('df', ['-Pk', work], { encoding: 'utf8' }).stdout.split('\n')[1]?.split(/\s+/)[3]) * 1024;
  const needed = (options.sizeMb + options.smallSizeMb) * 1024 * 1024 * 3;
  if (Number.isFinite(free) && free < needed) throw new Error(`${work} has ${mb(free)} MB free; this run needs about ${mb(needed)} MB: lower --size-mb`);

  let server: BenchServer | undefined;
  const cleanup = () => {
    if (options.keep) return;
    server?.stop();
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = () => {
    log('interrupted: cleaning up');
    killCurrent();
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const startedAt = new Date();
  try {
    log(`temp folder ${work}`);
    server = await startBenchServer(work);
    const serverVersion = await psql(server, 'postgres', 'SHOW server_version');
    log(`PostgreSQL ${serverVersion} on 127.0.0.1:${server.port}`);

    const identity = join(work, 'identity.txt');
    const keygen = spawnSync(process.execPath, [VAULTRA, 'keygen', '--out', identity, '--json'], { encoding: 'utf8' });
    if (keygen.status !== 0) throw new Error(`vaultra keygen failed: ${keygen.stderr}`);
    const recipient = (JSON.parse(keygen.stdout) as { recipient: string }).recipient;

    const ctx = { work, recipient, identity };
    const small = await benchSize(server, ctx, `bench_${options.smallSizeMb}mb`, options.smallSizeMb, options.runs, options.keep);
    const big = await benchSize(server, ctx, `bench_${options.sizeMb}mb`, options.sizeMb, options.runs, options.keep);
    const checks = verdicts(small, big);

    const machine = {
      nproc: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memTotalMb: Math.round(totalmem() / 1024 / 1024),
      kernel: toolLine('uname', ['-sr']),
      node: process.version,
      vaultra: toolLine(process.execPath, [VAULTRA, '--version']),
      postgresServer: serverVersion,
      pg_dump: toolLine('pg_dump'),
      pg_restore: toolLine('pg_restore'),
      zstd: toolLine('zstd'),
      bash: toolLine('bash'),
      gnuTime: hasGnuTime,
    };
    const header = [
      `Vaultra backup benchmark — ${options.runs} run(s) per size, alternating, medians`,
      `${machine.nproc} CPU (${machine.cpuModel}), ${machine.memTotalMb} MB RAM, node ${machine.node}, PostgreSQL ${serverVersion}, ${machine.zstd.replace(/^\*+\s*/, '').replace(/\s*\*+$/, '')}`,
      `shell backup:  pg_dump -Fc -Z0 | zstd -3 -T0 > file          vaultra backup:  pg_dump → zstd -3 -T0 → age → file:// (fsynced)`,
      `shell restore: createdb && zstd -d -c file | pg_restore -1   vaultra restore: sha256 → age -d → zstd -d → pg_restore -1 (creates the db)`,
    ].join('\n');
    const printed = table([small, big], checks, header);
    process.stdout.write(`\n${printed}\n`);

    const report = {
      schema: 'vaultra.bench/v1',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options: { sizeMb: options.sizeMb, smallSizeMb: options.smallSizeMb, runs: options.runs },
      machine,
      targets: { ratio: TARGET_RATIO, rssMb: TARGET_RSS_MB, rssGrowth: TARGET_RSS_GROWTH, checks, pass: checks.every((c) => c.pass) },
      sizes: [small, big],
      printed,
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`\nwrote ${options.out}\n`);
    if (options.keep) {
      process.stdout.write(`kept: ${work} (server on 127.0.0.1:${server.port}, user ${server.user}, password in PGPASSWORD=${server.password}); stop it with: ${server.stopCommand}\n`);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
