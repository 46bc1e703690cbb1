import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { compareLogPositions } from '../../../domain/log-archive.js';
import { ConfigError, DumpFailedError, RestoreFailedError, ToolMissingError } from '../../../errors.js';
import type { ReplayOptions, ReplayRange, ReplayReport } from '../../../ports/log-archiver.js';
import { spawnTool, toolInput, toolOutput, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import { describeExit, queryJson } from './mysql-client.js';
import type { MysqlTarget } from './mysql-connection.js';
import { localOffsetOf } from './mysql-binlog-events.js';
import { BINLOG_TAR_FORMAT, parseBinlogPosition, type BinlogPosition } from './mysql-binlog-reader.js';
import { BinlogSqlFilter } from './mysql-binlog-sql-filter.js';
import { writeOptionFile } from './mysql-option-file.js';
import { chooseTool, MYSQL_INSTALL_HINT, serverFlavor, type Flavor, type MysqlTool } from './mysql-tools.js';
import { GNU_TAR_INSTALL_HINT, gnuTarCommand } from '../../process/gnu-tar.js';

/** The client's flags for replayed SQL: binary-safe, and packets as large as a row event can be. */
const REPLAY_CLIENT_FLAGS = ['--batch', '--binary-mode', '--max-allowed-packet=1073741824'];

/** One archived piece to replay: a local copy of part of a binlog file. */
interface Piece {
  readonly file: string;
  readonly path: string;
}

/**
 * Replays archived binlog ranges into `target` (which holds the restored base) up to `until`:
 * the pieces go, in log order, through `mariadb-binlog` — from the base's position
 * (`--start-position`, the piece's local offset of that event), only the backed-up database's
 * events (`--database`), renamed to the target's (`--rewrite-db`, which renames row events'
 * table maps too), up to `--stop-datetime` one second past `until` (the tool skips events at or
 * after it: event times are whole seconds) — then without their GTID lines
 * (`BinlogSqlFilter`) into the `mariadb` client connected to the target.
 *
 * A transaction that committed after `until` but started before it is cut short by the stop
 * time; the tool closes what it printed with ROLLBACK, so it is not applied. Statements naming
 * another database explicitly (`INSERT INTO other.t …` under statement logging, DDL like
 * `CREATE TABLE src.t2`) are not renamed: row logging and unqualified names are what replay
 * exactly. The client needs BINLOG REPLAY (MariaDB 10.5.2+; SUPER before) to run row events.
 */
export async function replayBinlog(target: MysqlTarget, ranges: readonly ReplayRange[], options: ReplayOptions): Promise<ReplayReport> {
  if (options.from.kind !== 'binlog') throw new ConfigError(`the base records a ${options.from.kind} position, not a binlog one: it is not a MySQL/MariaDB backup`);
  if (options.until === 'consistent') return { events: 0, notes: ['a MySQL/MariaDB dump is consistent at its binlog position: nothing to replay'] };
  if (!options.sourceDatabase) throw new ConfigError('replaying a binary log needs the backed-up database name (the base manifest names it)');
  for (const range of ranges) {
    if (range.range.format !== BINLOG_TAR_FORMAT) throw new ConfigError(`log run ${range.runId} holds ${range.range.format}, not ${BINLOG_TAR_FORMAT}: this Vaultra cannot replay it`);
  }
  const from = parseBinlogPosition(options.from.start);
  const flavor = await targetFlavor(target, options.signal);
  const reader = await binlogTool(flavor);
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-binlog-replay-'));
  try {
    const pieces = await extractRanges(ranges.filter((range) => compareLogPositions('binlog', range.range.end, options.from.start) > 0), dir, options.signal);
    const start = await firstPieces(pieces, from);
    if (start.pieces.length === 0) return { events: 0 };
    const filter = await applyPieces(reader, flavor, target, start, options.sourceDatabase, options.until, options.signal);
    const replayed = filter.finish();
    return { events: replayed.groups, ...(replayed.lastAt !== undefined ? { reachedAt: new Date(replayed.lastAt * 1000) } : {}) };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function targetFlavor(target: MysqlTarget, signal?: AbortSignal): Promise<Flavor> {
  const onFailure = (exit: ToolExit) => new RestoreFailedError(`cannot reach ${target.display} to replay the binary log (${describeExit(exit)})`, exit.stderrTail);
  const [row] = await queryJson<{ version: string }>(target, `SELECT JSON_OBJECT('version', VERSION());`, { signal, onFailure });
  return serverFlavor(row?.version ?? target.scheme);
}

/** The binlog decoder of the server's family (each decodes only its own family's events). */
async function binlogTool(flavor: Flavor): Promise<MysqlTool> {
  const { tool, fallback } = await chooseTool('binlog', flavor);
  if (fallback) throw new ToolMissingError(flavor === 'mariadb' ? 'mariadb-binlog' : 'mysqlbinlog', `${MYSQL_INSTALL_HINT} (the other family's binlog tool cannot decode this server's events)`);
  return tool;
}

/** Unpacks each range's tar into its own folder (a file's pieces from two ranges share a name); the pieces in log order. */
async function extractRanges(ranges: readonly ReplayRange[], dir: string, signal?: AbortSignal): Promise<Piece[]> {
  const pieces: Piece[] = [];
  for (const [index, range] of ranges.entries()) {
    const into = join(dir, String(index).padStart(6, '0'));
    await mkdir(into, { mode: 0o700 });
    const tar = await spawnTool(await gnuTarCommand(), ['-x', '-f', '-', '--no-same-owner', '--no-same-permissions', '-C', into], { stdin: 'pipe', stdout: 'ignore', env: { LC_ALL: 'C' }, installHint: GNU_TAR_INSTALL_HINT });
    const failed = (exit: ToolExit) => new DumpFailedError(`cannot unpack the binary log of log run ${range.runId} (tar: ${describeExit(exit)})`, exit.stderrTail);
    await pipeline(await range.open(), toolInput(tar, failed), { signal });
    for (const file of range.range.files ?? []) {
      if (!/^[A-Za-z0-9._-]+$/.test(file)) throw new ConfigError(`log run ${range.runId} names a binlog file "${file.slice(0, 80)}" that is not a plain file name`);
      pieces.push({ file, path: join(into, file) });
    }
  }
  return pieces;
}

/**
 * The pieces to hand to the tool, and the local offset to start the first at: pieces of files
 * before the base's are skipped, and so is a piece of the base's file holding nothing past it.
 */
async function firstPieces(pieces: readonly Piece[], from: BinlogPosition): Promise<{ pieces: Piece[]; offset?: number }> {
  const fileNumber = (file: string) => BigInt(/\.(\d+)$/.exec(file)?.[1] ?? '0');
  const base = fileNumber(from.file);
  for (const [index, piece] of pieces.entries()) {
    const number = fileNumber(piece.file);
    if (number < base) continue;
    if (number > base) return { pieces: pieces.slice(index) };
    const offset = await localOffsetOf(piece.path, from.offset);
    if (offset !== undefined) return { pieces: pieces.slice(index), offset };
  }
  return { pieces: [] };
}

/** `mariadb-binlog … | BinlogSqlFilter | mariadb`: resolves once the client exited 0. */
async function applyPieces(
  reader: MysqlTool,
  flavor: Flavor,
  target: MysqlTarget,
  start: { pieces: Piece[]; offset?: number },
  sourceDatabase: string,
  until: Date,
  signal?: AbortSignal,
): Promise<BinlogSqlFilter> {
  const args = [
    // Local files only: nothing in the user's option files is wanted here.
    '--no-defaults',
    ...(start.offset !== undefined ? [`--start-position=${start.offset}`] : []),
    `--stop-datetime=${stopDatetime(until)}`,
    // MariaDB filters on the original name, MySQL on the rewritten one.
    `--database=${flavor === 'mysql' ? target.database : sourceDatabase}`,
    ...(sourceDatabase !== target.database ? [`--rewrite-db=${sourceDatabase}->${target.database}`] : []),
    // MySQL's tool can leave the GTIDs out itself (MariaDB's: BinlogSqlFilter).
    ...(flavor === 'mysql' ? ['--skip-gtids'] : []),
    '--',
    ...start.pieces.map((piece) => piece.path),
  ];
  const file = await writeOptionFile(target);
  const { tool: clientTool } = await chooseTool('client', flavor);
  let client;
  try {
    client = await spawnTool(clientTool.command, [...file.args, ...REPLAY_CLIENT_FLAGS, `--database=${target.database}`], { stdin: 'pipe', stdout: 'ignore', inherit: TOOL_FAMILY_VARIABLES.mysql, installHint: MYSQL_INSTALL_HINT });
  } catch (error) {
    await file.remove();
    throw error;
  }
  void client.exited.then(() => file.remove());
  const applyFailed = (exit: ToolExit) =>
    new RestoreFailedError(`replaying the binary log into ${target.display} failed (${describeExit(exit)}); what was replayed before the failure stays: restore the base again to retry`, exit.stderrTail);
  const sink = toolInput(client, applyFailed);
  // The decoder starts last, its output piped at once: Node drops the unread stdout of a child that has exited.
  let decoder;
  try {
    // The tool prints and reads times in its local time zone: UTC, like --stop-datetime.
    decoder = await spawnTool(reader.command, args, { env: { TZ: 'UTC' }, installHint: MYSQL_INSTALL_HINT });
  } catch (error) {
    sink.destroy();
    throw error;
  }
  const decodeFailed = (exit: ToolExit) => new RestoreFailedError(`${reader.command} could not decode the archived binary log (${describeExit(exit)})`, exit.stderrTail);
  const filter = new BinlogSqlFilter();
  await pipeline(toolOutput(decoder, decodeFailed), filter, sink, { signal });
  return filter;
}

/** One second past `until`, as the tool reads it (UTC, see `TZ`): events at or after it are not replayed. */
function stopDatetime(until: Date): string {
  const next = new Date(Math.floor(until.getTime() / 1000) * 1000 + 1000);
  return next.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}
