import { createInterface } from 'node:readline';
import { DumpFailedError } from '../../../errors.js';
import { spawnTool } from '../../process/child-process.js';
import { INSTALL_HINT } from './postgres-psql.js';
import { pgTool } from './pg-tools.js';

/** The commit records of a stretch of WAL: how many, and the first and last commit times. */
export interface WalCommits {
  readonly count: number;
  readonly first?: Date;
  readonly last?: Date;
}

export interface WalDumpRange {
  /** A folder holding the segments under their plain names (pg_waldump ignores `.partial`). */
  readonly dir: string;
  /** `pg_waldump --start`: the first record at or after it. */
  readonly start: string;
  /** `pg_waldump --end`; without it, to the end of the segments found. */
  readonly end?: string;
  /** The end of the WAL may be where the files end (a single archived segment): an error reading past it is not a failure. */
  readonly tolerateTruncatedEnd?: boolean;
  readonly signal?: AbortSignal;
  /** The pg_waldump to run (of the WAL's major version). @default the newest installed */
  readonly walDump?: string;
}

/** The prefix of the logical decoding message Vaultra's own marker transactions write (pg-wal-reader.ts). */
export const MARKER_PREFIX = 'vaultra.log-push';

const MARKER_LINE = new RegExp(`\\btx:\\s+(\\d+),.*\\bdesc: MESSAGE transactional, prefix "${MARKER_PREFIX.replace('.', '\\.')}"`);

/** `desc: COMMIT 2026-12-06 19:00:12.550291 UTC` (pg_waldump runs with TZ=UTC). */
const COMMIT_LINE = /\btx:\s+(\d+),.*\bdesc: COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/;

/**
 * Reads the commit records with `pg_waldump --rmgr=Transaction`, line by line (a range may hold
 * millions). Commit times come from the WAL itself: they are the times `recovery_target_time`
 * compares against. Vaultra's own marker transactions (found by their logical message) are not
 * counted: they are no one's data.
 */
export async function readWalCommits(range: WalDumpRange): Promise<WalCommits> {
  const args = ['--rmgr=Transaction', '--rmgr=LogicalMessage', `--path=${range.dir}`, `--start=${range.start}`, ...(range.end ? [`--end=${range.end}`] : [])];
  const tool = await spawnTool(range.walDump ?? pgTool('pg_waldump'), args, { env: { TZ: 'UTC', LC_ALL: 'C' }, installHint: INSTALL_HINT });
  const onAbort = () => tool.kill();
  range.signal?.addEventListener('abort', onAbort, { once: true });
  let count = 0;
  let first: Date | undefined;
  let last: Date | undefined;
  const markers = new Set<string>();
  for await (const line of createInterface({ input: tool.child.stdout!, crlfDelay: Infinity })) {
    const marker = MARKER_LINE.exec(line);
    if (marker) markers.add(marker[1]!);
    const m = COMMIT_LINE.exec(line);
    if (!m || markers.delete(m[1]!)) continue;
    const at = new Date(`${m[2]!.replace(' ', 'T').slice(0, 23)}Z`);
    count++;
    first ??= at;
    last = at;
  }
  const exit = await tool.exited;
  range.signal?.removeEventListener('abort', onAbort);
  const truncatedEnd = range.tolerateTruncatedEnd && /could not (find|open|read) file|invalid record length|error in WAL record|contrecord/i.test(exit.stderrTail);
  if (exit.code !== 0 && !truncatedEnd) {
    throw new DumpFailedError(`pg_waldump cannot read the WAL it received (${exit.stderrTail.split('\n').at(-1) ?? `exit ${exit.code}`}): check the server's WAL`, exit.stderrTail);
  }
  return { count, ...(first ? { first } : {}), ...(last ? { last } : {}) };
}
