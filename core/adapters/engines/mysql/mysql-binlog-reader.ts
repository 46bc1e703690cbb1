import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareLogPositions, type LogRange } from '../../../domain/log-archive.js';
import { ConfigError, DumpFailedError, ToolMissingError } from '../../../errors.js';
import type { LogRead, LogReadOptions } from '../../../ports/log-archiver.js';
import { runTool, spawnTool, toolOutput, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import { describeExit, lastLine } from './mysql-client.js';
import type { MysqlConnection } from './mysql-connection.js';
import { summarizeBinlogPiece, type BinlogPieceSummary } from './mysql-binlog-events.js';
import { readBinlogState, type BinlogState } from './mysql-binlog-state.js';
import { writeOptionFile } from './mysql-option-file.js';
import { chooseTool, MYSQL_INSTALL_HINT, type MysqlTool } from './mysql-tools.js';
import { GNU_TAR_INSTALL_HINT, gnuTarCommand } from '../../process/gnu-tar.js';

/**
 * A log range's plaintext: a tar (GNU tar, POSIX format) of the raw binlog pieces, one member per
 * file, named as on the server and in log order (the range's `files`). The first piece is the
 * magic, the file's format description event and the events from the range's start; the others
 * are whole files up to the range's end. Each piece decodes on its own with `mariadb-binlog`,
 * and every event keeps its server-side end position, so a piece says where it lies in the log.
 */
export const BINLOG_TAR_FORMAT = 'binlog-tar/v1';

/** A binlog position, parsed. */
export interface BinlogPosition {
  readonly file: string;
  readonly offset: number;
}

export function parseBinlogPosition(position: string): BinlogPosition {
  const m = /^(.+):(\d+)$/.exec(position);
  if (!m) throw new ConfigError(`not a binlog position (file:offset): ${position.slice(0, 80)}`);
  return { file: m[1]!, offset: Number(m[2]) };
}

export function formatBinlogPosition(file: string, offset: number): string {
  return `${file}:${offset}`;
}

/**
 * Reads the binary log from `since` to the server's current position (read first, so the end is
 * a position the server had written): `mariadb-binlog --read-from-remote-server --raw` (a
 * replication client, credentials in the private option file) copies the files into a private
 * temp folder and exits at the end of the last one (no `--stop-never`). What it copied past the
 * planned end is cut off, so the next read continues exactly there. Then tar streams the pieces.
 */
export async function readBinlog(connection: MysqlConnection, since: string | undefined, options: LogReadOptions): Promise<LogRead> {
  const state = await readBinlogState(connection, options.signal);
  const end = formatBinlogPosition(state.file, state.position);
  const plan = planRead(state, since);
  const reader = await binlogReader(state);
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-binlog-'));
  const close = () => rm(dir, { recursive: true, force: true }).catch(() => undefined);
  try {
    const pieces = plan.files.length > 0 ? await copyPieces(reader, connection, dir, plan, state, options.signal) : [];
    const range = rangeOf(plan, end, state, pieces);
    // An empty range is an empty archive (tar refuses to create one from no names).
    const members = plan.files.length > 0 ? ['--', ...plan.files] : ['--files-from=/dev/null'];
    const tar = await spawnTool(await gnuTarCommand(), ['-c', '-f', '-', '--format=posix', '-C', dir, ...members], { env: { LC_ALL: 'C' }, installHint: GNU_TAR_INSTALL_HINT });
    const onAbort = () => tar.kill();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    void tar.exited.then(() => options.signal?.removeEventListener('abort', onAbort));
    const stream = toolOutput(tar, (exit) => new DumpFailedError(`tar of the binary-log pieces of ${connection.display} failed (${describeExit(exit)})`, exit.stderrTail));
    // Start reading now: a small range's tar can exit before the caller reads, and Node then drops a child's unread stdout.
    stream.read(0);
    return {
      stream,
      tool: { name: reader.command, version: reader.version },
      format: BINLOG_TAR_FORMAT,
      serverVersion: state.version,
      range: async () => range,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

interface ReadPlan {
  readonly start: BinlogPosition;
  /** Files to copy, in order (empty for a range that starts where the log ends). */
  readonly files: readonly string[];
  readonly gapFrom?: string;
}

/** Which files to read, from where: `since` when the server still has its file, else the oldest file (a gap). */
function planRead(state: BinlogState, since: string | undefined): ReadPlan {
  const current = { file: state.file, offset: state.position };
  if (since === undefined) return { start: current, files: [] };
  const wanted = parseBinlogPosition(since);
  const names = state.files.map((file) => file.name);
  const startIndex = names.indexOf(wanted.file);
  const endIndex = names.indexOf(state.file);
  if (endIndex === -1) throw new DumpFailedError(`the server's current binlog ${state.file} is missing from SHOW BINARY LOGS: try again`, '');
  if (startIndex === -1 || compareLogPositions('binlog', since, formatBinlogPosition(state.file, state.position)) > 0) {
    // Purged before it was archived (or the log was reset): go on from what the server has.
    const oldest = names[0]!;
    return { start: { file: oldest, offset: 4 }, files: names.slice(0, endIndex + 1), gapFrom: since };
  }
  if (startIndex === endIndex && wanted.offset === state.position) return { start: wanted, files: [] };
  return { start: wanted, files: names.slice(startIndex, endIndex + 1) };
}

/** The binlog reader of the server's own family: the other family's cannot decode its events. */
async function binlogReader(state: BinlogState): Promise<MysqlTool> {
  const { tool, fallback } = await chooseTool('binlog', state.flavor);
  if (fallback) {
    const wanted = state.flavor === 'mariadb' ? 'mariadb-binlog' : 'mysqlbinlog';
    throw new ToolMissingError(wanted, `${MYSQL_INSTALL_HINT}: ${state.flavor === 'mariadb' ? "MariaDB's" : "MySQL's"} ${wanted} (the other family's cannot read this server's binary log)`);
  }
  return tool;
}

/** Copies the planned files as raw pieces into `dir`, cuts the last at the planned end, and summarises each. */
async function copyPieces(reader: MysqlTool, connection: MysqlConnection, dir: string, plan: ReadPlan, state: BinlogState, signal?: AbortSignal): Promise<BinlogPieceSummary[]> {
  const file = await writeOptionFile(connection);
  try {
    const args = [...file.args, '--read-from-remote-server', '--raw', `--result-file=${dir}/`, `--start-position=${plan.start.offset}`, '--', ...plan.files];
    const failed = (exit: ToolExit) => new DumpFailedError(`${reader.command} could not read the binary log of ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
    await runTool(reader.command, args, { inherit: TOOL_FAMILY_VARIABLES.mysql, signal, onFailure: failed, installHint: MYSQL_INSTALL_HINT });
  } finally {
    await file.remove();
  }
  const pieces: BinlogPieceSummary[] = [];
  for (const name of plan.files) {
    const path = join(dir, name);
    const last = name === state.file;
    const piece = await summarizeBinlogPiece(path, last ? state.position : undefined).catch((error: unknown) => {
      throw new DumpFailedError(`the binary-log copy of ${name} is unreadable: ${(error as Error).message}`, '');
    });
    if (last) {
      const startedHere = name === plan.start.file ? plan.start.offset : 4;
      if (piece.endPosition !== state.position && !(piece.endPosition === 0 && startedHere === state.position)) {
        throw new DumpFailedError(`${reader.command} stopped at ${name}:${piece.endPosition}, before the server's position ${state.position}: try again`, '');
      }
      await truncate(path, piece.keepBytes);
    }
    pieces.push(piece);
  }
  return pieces;
}

function rangeOf(plan: ReadPlan, end: string, state: BinlogState, pieces: readonly BinlogPieceSummary[]): Omit<LogRange, 'kind' | 'format'> {
  const firstAt = pieces.find((piece) => piece.firstAt !== undefined)?.firstAt;
  const lastAt = pieces.findLast((piece) => piece.lastAt !== undefined)?.lastAt;
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  return {
    start: formatBinlogPosition(plan.start.file, plan.start.offset),
    end,
    ...(state.gtid ? { gtidEnd: state.gtid } : {}),
    ...(firstAt !== undefined ? { firstEventAt: iso(firstAt) } : {}),
    ...(lastAt !== undefined ? { lastEventAt: iso(lastAt) } : {}),
    coveredUntil: state.readAt.toISOString(),
    events: pieces.reduce((sum, piece) => sum + piece.groups, 0),
    files: [...plan.files],
    ...(plan.gapFrom ? { gapFrom: plan.gapFrom } : {}),
  };
}
