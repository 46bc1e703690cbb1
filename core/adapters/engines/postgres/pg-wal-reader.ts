import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogRead, LogReadOptions } from '../../../ports/log-archiver.js';
import type { LogRange } from '../../../domain/log-archive.js';
import { DumpFailedError } from '../../../errors.js';
import { spawnTool, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { PostgresConnection } from './postgres-connection.js';
import { INSTALL_HINT, describeExit, lastLine, psql } from './postgres-psql.js';
import { advanceReplicationSlot, ensureReplicationSlot } from './pg-replication-slot.js';
import { pgTool, walDumpFor } from './pg-tools.js';
import { MARKER_PREFIX, readWalCommits } from './pg-wal-commits.js';
import { HISTORY_FILE, SEGMENT_FILE, formatLsn, parseLsn, plainSegmentName, segmentNameOf, segmentStart } from './pg-wal-positions.js';
import { walTarRead } from './pg-wal-tar.js';

/** Where the server's WAL ends, read so that every commit before `coveredUntil` is at or before `end`. */
interface ServerEnd {
  readonly end: string;
  readonly coveredUntil: Date;
  readonly timeline: number;
  readonly segmentBytes: number;
  readonly serverMajor: number;
}

/**
 * Commits before `clock_timestamp()` may sit in WAL buffers (`synchronous_commit = off`): a tiny
 * transaction committed with `synchronous_commit = on` flushes everything before its own commit
 * record, so the flush position read after it covers every commit before the time read inside
 * it. It must write a record of its own (a logical decoding message, callable by any account):
 * PostgreSQL commits a transaction that wrote nothing else asynchronously, without a flush.
 * A second marker puts flushed WAL past the end: pg_receivewal notices it reached `--endpos`
 * only when a message beyond it arrives (or at its next status report). Markers are not counted
 * as events (pg-wal-commits.ts). Its commit (after that time) is also what a recovery to any time up to `coveredUntil`
 * stops at, instead of running off the end of the archive.
 */
const SERVER_END_SQL = `
SET synchronous_commit = on;
BEGIN;
SELECT json_build_object('at', clock_timestamp(), 'marker', pg_logical_emit_message(true, :'marker', 'end'));
COMMIT;
SELECT json_build_object('lsn', pg_current_wal_flush_lsn(), 'file', pg_walfile_name(pg_current_wal_flush_lsn()),
  'segmentBytes', (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'),
  'major', current_setting('server_version_num')::int / 10000);
BEGIN;
SELECT pg_logical_emit_message(true, :'marker', 'past the end') \\g /dev/null
COMMIT;`;

const OLDEST_SEGMENT_SQL = `SELECT coalesce(min(name), '') FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$' AND substr(name, 1, 8) = :'timeline';`;

/**
 * A log catch-up (`vaultra logs push <pg-url>`): the WAL from `since` to the server's current
 * end, received with `pg_receivewal --no-loop --endpos` into a private temp folder, then handed
 * over as a tar of segment files (`wal-tar/v1`). The segment being written is stored as
 * `<segment>.partial`; the next catch-up starts at that segment's beginning again (ranges
 * overlap by less than a segment). Without `since` it starts at the segment of the current end.
 *
 * Streaming starts at a segment boundary because that is how pg_receivewal resumes: it is given
 * an empty `<segment>.partial` to continue, the only way to choose its start position.
 */
export async function readWalSince(connection: PostgresConnection, since: string | undefined, options: LogReadOptions): Promise<LogRead> {
  const { signal } = options;
  const work = await mkdtemp(join(tmpdir(), 'vaultra-wal-'));
  try {
    await ensureReplicationSlot(connection, signal);
    // The archive holds everything before `since`: the server may drop it now.
    if (since) await advanceReplicationSlot(connection, since, signal);
    const server = await readServerEnd(connection, signal);
    const received = join(work, 'received');
    await mkdir(received);

    let gapFrom: string | undefined;
    let from = since ?? server.end;
    let receive = await receiveWal(connection, received, segmentNameOf(parseLsn(from), server.timeline, server.segmentBytes), server.end, signal);
    if (receive.code !== 0 && /has already been removed/.test(receive.stderrTail) && since) {
      // Purged before it was archived: take what the server still has and say what was lost.
      gapFrom = since;
      const oldest = await oldestSegment(connection, server, signal);
      from = formatLsn(segmentStart(oldest, server.segmentBytes)!.lsn);
      await rm(received, { recursive: true, force: true });
      await mkdir(received);
      receive = await receiveWal(connection, received, oldest, server.end, signal);
    }
    if (receive.code !== 0) throw receiveFailure(connection, receive);

    const files = await receivedFiles(received);
    const segments = files.filter((name) => SEGMENT_FILE.test(name));
    const firstSegment = segments[0] ? segmentStart(segments[0], server.segmentBytes)! : undefined;
    const start = firstSegment ? formatLsn(firstSegment.lsn) : server.end;
    const countFrom = gapFrom || !since ? start : since;
    // pg_waldump reads only its own major's WAL: without it (a runner image built for another
    // major) the range is stored all the same, its commits uncounted (restores plan on coveredUntil).
    const walDump = walDumpFor(server.serverMajor);
    const commits = parseLsn(countFrom) >= parseLsn(server.end)
      ? { count: 0 }
      : walDump
        ? await readWalCommits({ dir: await plainNamedLinks(work, received, segments), start: countFrom, end: server.end, signal, walDump })
        : undefined;
    const range: Omit<LogRange, 'kind' | 'format'> = {
      start,
      end: server.end,
      timeline: server.timeline,
      files,
      coveredUntil: server.coveredUntil.toISOString(),
      ...(commits ? { events: commits.count } : {}),
      ...(commits?.first ? { firstEventAt: commits.first.toISOString() } : {}),
      ...(commits?.last ? { lastEventAt: commits.last.toISOString() } : {}),
      ...(gapFrom ? { gapFrom } : {}),
    };
    return await walTarRead('pg_receivewal', received, files, work, range);
  } catch (error) {
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

async function readServerEnd(connection: PostgresConnection, signal?: AbortSignal): Promise<ServerEnd> {
  const out = await psql(connection, SERVER_END_SQL, signal, (exit) => {
    const standby = /recovery is in progress/.test(exit.stderrTail) ? ': archive WAL from the primary, not a standby' : '';
    return new DumpFailedError(`cannot read the WAL position of ${connection.display}: ${lastLine(exit)}${standby}`, exit.stderrTail);
  }, { marker: MARKER_PREFIX });
  const [marker, position] = out.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, string>);
  if (!marker || !position) throw new DumpFailedError(`cannot read the WAL position of ${connection.display}: unexpected answer`, '');
  return {
    end: position.lsn!,
    coveredUntil: new Date(marker.at!),
    timeline: Number.parseInt(position.file!.slice(0, 8), 16),
    segmentBytes: Number(position.segmentBytes),
    serverMajor: Number(position.major),
  };
}

/** `pg_receivewal` from the start of `segment` to `endpos`, then exit. Never uses the slot (see pg-replication-slot.ts). */
async function receiveWal(connection: PostgresConnection, dir: string, segment: string, endpos: string, signal?: AbortSignal): Promise<ToolExit> {
  // An empty `.partial` is where pg_receivewal resumes: at the start of that segment.
  await writeFile(join(dir, `${segment}.partial`), '');
  const tool = await spawnTool(pgTool('pg_receivewal'), [`--directory=${dir}`, '--no-loop', `--endpos=${endpos}`, '--no-password', '--no-sync', '--status-interval=1', '--verbose'], {
    env: connection.env,
    inherit: TOOL_FAMILY_VARIABLES.postgres,
    installHint: INSTALL_HINT,
    stdout: 'ignore',
  });
  const onAbort = () => tool.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  const exit = await tool.exited;
  signal?.removeEventListener('abort', onAbort);
  return exit;
}

function receiveFailure(connection: PostgresConnection, exit: ToolExit): DumpFailedError {
  const text = exit.stderrTail;
  const hint = /no pg_hba\.conf entry for replication/i.test(text)
    ? ': allow the account replication connections in pg_hba.conf (host replication <user> <address> scram-sha-256)'
    : /must be superuser or replication role|permission denied/i.test(text)
      ? ': the account needs the REPLICATION attribute (ALTER ROLE … REPLICATION)'
      : '';
  return new DumpFailedError(`pg_receivewal from ${connection.display} failed (${describeExit(exit)})${hint}`, text);
}

/** The oldest segment the server still has on the current timeline (pg_ls_waldir needs pg_monitor); else the current one. */
async function oldestSegment(connection: PostgresConnection, server: ServerEnd, signal?: AbortSignal): Promise<string> {
  const current = segmentNameOf(parseLsn(server.end), server.timeline, server.segmentBytes);
  const timeline = current.slice(0, 8);
  const oldest = await psql(connection, OLDEST_SEGMENT_SQL, signal, () => new DumpFailedError('pg_ls_waldir refused', ''), { timeline }).catch(() => '');
  return oldest.trim() || current;
}

/**
 * What was received, in log order: timeline history files (pg_receivewal fetches the current
 * timeline's, which a recovery on a timeline after 1 needs) and segments, leaving out a
 * `.partial` that received nothing.
 */
async function receivedFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => SEGMENT_FILE.test(name) || HISTORY_FILE.test(name)).sort();
  const kept: string[] = [];
  for (const name of names) if ((await stat(join(dir, name))).size > 0) kept.push(name);
  return kept;
}

/** pg_waldump reads segments by their plain names only: a folder of links to what was received. */
async function plainNamedLinks(work: string, received: string, files: readonly string[]): Promise<string> {
  const dir = join(work, 'plain');
  await mkdir(dir);
  for (const name of files) await symlink(join(received, name), join(dir, plainSegmentName(name)));
  return dir;
}
