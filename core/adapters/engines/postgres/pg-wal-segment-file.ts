import { mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { LogRead, LogReadOptions } from '../../../ports/log-archiver.js';
import type { LogRange } from '../../../domain/log-archive.js';
import { ConfigError } from '../../../errors.js';
import { readWalCommits } from './pg-wal-commits.js';
import { HISTORY_FILE, SEGMENT_FILE, formatLsn, segmentStart } from './pg-wal-positions.js';
import { walTarRead } from './pg-wal-tar.js';

const BACKUP_FILE = /^([0-9A-F]{8})[0-9A-F]{16}\.[0-9A-F]{8}\.backup$/;

/**
 * `archive_command = 'vaultra wal push %p'`: one file the server finished, as a log range of the
 * same format as a catch-up (`wal-tar/v1`, one member). A completed segment's range runs from its
 * start to its end; a timeline history file (`00000002.history`, needed to restore past a
 * promotion) and a backup history file (`….backup`) are stored too, as empty ranges at the
 * position they name, because the server retries a failing archive_command forever.
 *
 * `coveredUntil` is what the file itself proves: just before its last commit (a later commit
 * may sit in the next segment, and a recovery needs a commit after its target to stop at), or,
 * for a file without commits, its modification time (when the server last wrote it).
 */
export async function readWalFile(path: string, options: LogReadOptions): Promise<LogRead> {
  const file = resolve(path);
  const name = basename(file);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new ConfigError(`no WAL file at ${path}: archive_command must pass %p (the file's path), e.g. archive_command = 'vaultra wal push %p'`);
  const work = await mkdtemp(join(tmpdir(), 'vaultra-wal-'));
  try {
    const range = await rangeOf(file, name, info.size, info.mtime, work, options.signal);
    return await walTarRead('pg_waldump', dirname(file), [name], work, range);
  } catch (error) {
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

async function rangeOf(file: string, name: string, size: number, mtime: Date, work: string, signal?: AbortSignal): Promise<Omit<LogRange, 'kind' | 'format'>> {
  const segment = SEGMENT_FILE.exec(name) && !name.endsWith('.partial') ? segmentStart(name, size) : undefined;
  if (segment) {
    if (size < 1024 * 1024 || (size & (size - 1)) !== 0) throw new ConfigError(`${name} is ${size} bytes, not a whole WAL segment: archive only files the server hands to archive_command`);
    await symlink(file, join(work, name));
    const commits = await readWalCommits({ dir: work, start: formatLsn(segment.lsn), tolerateTruncatedEnd: true, signal });
    const start = formatLsn(segment.lsn);
    return {
      start,
      end: formatLsn(segment.lsn + BigInt(size)),
      timeline: segment.timeline,
      files: [name],
      events: commits.count,
      coveredUntil: (commits.last ? new Date(commits.last.getTime() - 1) : mtime).toISOString(),
      ...(commits.first ? { firstEventAt: commits.first.toISOString() } : {}),
      ...(commits.last ? { lastEventAt: commits.last.toISOString() } : {}),
    };
  }
  const history = HISTORY_FILE.exec(name);
  const backup = BACKUP_FILE.exec(name);
  if (!history && !backup) throw new ConfigError(`${name} is not a WAL segment, timeline history or backup history file: archive_command must pass %p`);
  const text = await readFile(file, 'utf8');
  // A history file lists the switch points (`<parent timeline>\t<LSN>\t<reason>`); a backup file its START WAL LOCATION.
  const positions = [...text.matchAll(history ? /^\d+\s+([0-9A-F]+\/[0-9A-F]+)/gm : /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+)/gm)].map((m) => m[1]!);
  const at = positions.at(-1) ?? '0/0';
  return { start: at, end: at, timeline: Number.parseInt((history ?? backup)![1]!, 16), files: [name], events: 0, coveredUntil: mtime.toISOString() };
}
