import { appendFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ReplayOptions, ReplayRange, ReplayReport } from '../../../ports/log-archiver.js';
import { compareLogPositions } from '../../../domain/log-archive.js';
import { ConfigError, RestoreFailedError } from '../../../errors.js';
import type { PostgresConnection } from './postgres-connection.js';
import { chownTree, serverUser } from './pg-server-user.js';
import { runRecoveryServer } from './pg-recovery-server.js';
import { HISTORY_FILE, SEGMENT_FILE, plainSegmentName } from './pg-wal-positions.js';
import { WAL_TAR_FORMAT, walTarExtractor } from './pg-wal-tar.js';

/** Inside the data directory: the verified segments the server's restore_command copies from. */
export const WAL_STAGE = 'vaultra_wal_restore';
const BLOCK_START = '# vaultra point-in-time recovery: removed once the recovery is done';
const BLOCK_END = '# end of vaultra point-in-time recovery';

/**
 * Replays archived WAL into a restored physical base (`pgdata:<path>`), PostgreSQL's way: the
 * ranges' segments are unpacked into a folder inside the data directory (a complete segment
 * replaces a `.partial` of it, the longest `.partial` wins, each staged under its plain name),
 * and the server is told to recover from it: `recovery.signal`, and in `postgresql.auto.conf` a
 * `restore_command` that copies from that folder, the target (`recovery_target_time`, inclusive,
 * or `recovery_target = 'immediate'` for `consistent`) and `recovery_target_action = 'promote'`.
 *
 * The segments are staged rather than fetched by a restore_command running `vaultra`: the server
 * runs restore_command as its own OS user, who may not read Vaultra's keys or reach its store,
 * and every byte is verified (age, checksums) before the server sees it.
 *
 * With `startServer`, a throwaway server (no TCP, a private socket folder, archiving off) carries
 * out the recovery, is stopped once promoted, and the staging folder and settings are removed.
 * Without it, the notes say how to start it.
 */
export async function replayIntoDataDirectory(connection: PostgresConnection, ranges: readonly ReplayRange[], options: ReplayOptions): Promise<ReplayReport> {
  const dir = connection.dataDirectory;
  if (dir === undefined) throw new ConfigError(`WAL replays into a data directory only: restore the physical base into pgdata:<path>, not ${connection.display}`);
  await requireStoppedBase(dir, connection);
  checkCoverage(ranges, options);
  const stage = join(dir, WAL_STAGE);
  await mkdir(stage, { recursive: true, mode: 0o700 });
  const staged = await stageSegments(stage, ranges);
  await writeRecoverySettings(dir, stage, options.until);
  const user = serverUser();
  // The restore handed the base to the server's user already: only what was added here.
  if (user) for (const path of [stage, join(dir, 'recovery.signal'), join(dir, 'postgresql.auto.conf')]) await chownTree(path, user);

  const target = options.until === 'consistent' ? 'the end of the base backup' : options.until.toISOString();
  if (!options.startServer) {
    return {
      notes: [
        `${staged} WAL files staged in ${stage}; recovery.signal and the recovery settings are in ${join(dir, 'postgresql.auto.conf')}`,
        `start PostgreSQL on ${dir} (pg_ctl -D ${dir} start, as the data directory's owner): it replays to ${target} and promotes itself`,
        `then remove ${stage} and the vaultra block from postgresql.auto.conf`,
      ],
    };
  }
  const result = await runRecoveryServer(dir, user, { target, ...(options.signal ? { signal: options.signal } : {}) });
  await removeRecoverySettings(dir);
  await rm(stage, { recursive: true, force: true });
  return {
    ...(result.reachedAt ? { reachedAt: result.reachedAt } : {}),
    notes: [`recovered to ${target}${result.reachedAt ? ` (last transaction replayed: ${result.reachedAt.toISOString()})` : ''}; the server was stopped: start it on ${dir}`],
  };
}

async function requireStoppedBase(dir: string, connection: PostgresConnection): Promise<void> {
  if (!(await stat(join(dir, 'PG_VERSION')).catch(() => undefined))) throw new ConfigError(`${connection.display} holds no PostgreSQL data directory: restore the physical base into it first`);
  if (await stat(join(dir, 'postmaster.pid')).catch(() => undefined)) throw new RestoreFailedError(`a server is running on ${connection.display} (postmaster.pid exists): stop it before replaying WAL into it`, '');
}

/** The ranges must reach back to the base's start and follow each other without a hole. */
function checkCoverage(ranges: readonly ReplayRange[], options: ReplayOptions): void {
  const first = ranges[0];
  if (!first) throw new RestoreFailedError(`no archived WAL for this base (it needs WAL from ${options.from.start}): run vaultra logs push after the base backup`, '');
  if (compareLogPositions('wal', first.range.start, options.from.start) > 0) {
    throw new RestoreFailedError(`the archived WAL starts at ${first.range.start}, after the base's start ${options.from.start}: restore from a later base`, '');
  }
  for (let i = 1; i < ranges.length; i++) {
    const [previous, next] = [ranges[i - 1]!.range, ranges[i]!.range];
    if (compareLogPositions('wal', next.start, previous.end) > 0) {
      throw new RestoreFailedError(`the archived WAL has a hole from ${previous.end} to ${next.start} (run ${ranges[i]!.runId}): restore to a time before ${previous.coveredUntil}`, '');
    }
  }
  if (options.until === 'consistent') return;
  // PostgreSQL refuses both only after it has replayed up to them: say so before anything is staged.
  if (options.until < options.from.consistentAt) {
    throw new RestoreFailedError(`this base is consistent only from ${options.from.consistentAt.toISOString()}: restore to a later time, or from an earlier base`, '');
  }
  const coveredUntil = new Date(ranges.at(-1)!.range.coveredUntil);
  if (options.until > coveredUntil) {
    throw new RestoreFailedError(`the archived WAL reaches ${coveredUntil.toISOString()}, before ${options.until.toISOString()}: push the logs up to then (vaultra logs push), or restore to an earlier time`, '');
  }
}

/** Unpacks every range, in log order; returns how many files are staged. */
async function stageSegments(stage: string, ranges: readonly ReplayRange[]): Promise<number> {
  const complete = new Set<string>();
  for (const { range, runId, open } of ranges) {
    if (range.format !== WAL_TAR_FORMAT) throw new RestoreFailedError(`run ${runId} holds WAL as ${range.format}, which this Vaultra cannot replay: upgrade Vaultra`, '');
    const incoming = join(stage, '.incoming');
    await rm(incoming, { recursive: true, force: true });
    await mkdir(incoming, { mode: 0o700 });
    await pipeline(await open(), await walTarExtractor(incoming, runId));
    for (const name of await readdir(incoming)) {
      const plain = plainSegmentName(name);
      const partial = plain !== name;
      // Only segments and history files: nothing else from a tar reaches the server.
      if (!(SEGMENT_FILE.test(name) || HISTORY_FILE.test(name)) || (partial && complete.has(plain))) continue;
      await rename(join(incoming, name), join(stage, plain));
      if (!partial) complete.add(plain);
    }
    await rm(incoming, { recursive: true, force: true });
  }
  return (await readdir(stage)).length;
}

function confString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

async function writeRecoverySettings(dir: string, stage: string, until: Date | 'consistent'): Promise<void> {
  await removeRecoverySettings(dir);
  // %f is the file the server asks for, %p where it wants it; a missing file is "not archived" (exit 1), not an error.
  const restore = `test -f '${stage}/%f' && cp '${stage}/%f' '%p'`;
  const targetLines =
    until === 'consistent'
      ? [`recovery_target = 'immediate'`]
      : [`recovery_target_time = ${confString(until.toISOString().replace('T', ' ').replace('Z', '+00'))}`, 'recovery_target_inclusive = on'];
  const block = [BLOCK_START, `restore_command = ${confString(restore)}`, ...targetLines, `recovery_target_action = 'promote'`, BLOCK_END, ''].join('\n');
  await appendFile(join(dir, 'postgresql.auto.conf'), `\n${block}`, { mode: 0o600 });
  await writeFile(join(dir, 'recovery.signal'), '', { mode: 0o600 });
}

async function removeRecoverySettings(dir: string): Promise<void> {
  const file = join(dir, 'postgresql.auto.conf');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined || !text.includes(BLOCK_START)) return;
  const start = text.indexOf(BLOCK_START);
  const end = text.indexOf(BLOCK_END, start);
  const after = end < 0 ? '' : text.slice(end + BLOCK_END.length).replace(/^\n/, '');
  await writeFile(file, text.slice(0, start).replace(/\n$/, '') + (after ? `\n${after}` : '\n'));
}
