import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipelineCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BSON } from 'mongodb';
import type { ReplayOptions, ReplayRange, ReplayReport } from '../../../ports/log-archiver.js';
import { compareLogPositions } from '../../../domain/log-archive.js';
import { AbortedError, IntegrityError, RestoreFailedError, ToolMissingError } from '../../../errors.js';
import { loadDriver } from './mongodb-client.js';
import type { MongoConnection } from './mongodb-connection.js';
import { describeToolExit, INSTALL_HINT, mongoToolVersion, spawnMongoTool } from './mongo-tools.js';
import { BsonDocumentSplitter, OPLOG_FORMAT, selectEntry, type OplogSelection } from './oplog-entries.js';
import { entryTime, oplogLimitFor, positionOf, timestampParts } from './oplog-position.js';

/**
 * Replays archived oplog ranges into a restored base with `mongorestore --oplogReplay`: the
 * entries after the base's position up to the target time are written, as one `oplog.bson`,
 * into a private temp folder (streamed: one entry in memory at a time), keeping only the
 * backed-up database's changes and renaming them into the target's database, and mongorestore
 * applies them (`applyOps`, which MongoDB applies idempotently: entries the base already holds
 * change nothing). `--oplogLimit` repeats the upper bound for the tool.
 */
export async function replayOplog(connection: MongoConnection, ranges: readonly ReplayRange[], options: ReplayOptions): Promise<ReplayReport> {
  if (options.signal?.aborted) throw new AbortedError('cancelled');
  const selection = selectionFor(connection, options);
  const { BSON } = await loadDriver();
  // A file, not mongorestore's stdin (`--oplogFile /dev/stdin` works too): a range's integrity is
  // known only once it was read to its end, and nothing may be applied from a damaged one. The
  // disk it takes is the size of the selected entries.
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-oplog-'));
  try {
    const file = join(dir, 'oplog.bson');
    const written: Written = { events: 0 };
    await pipeline(Readable.from(selectedEntries(BSON, ranges, selection, written)), createWriteStream(file, { mode: 0o600, flags: 'wx' }), ...(options.signal ? [{ signal: options.signal }] : []));
    if (written.events === 0 || !written.last) {
      return { events: 0, notes: [`no oplog entry of ${selection.sourceDatabase ?? 'the instance'} falls between the base (${options.from.start}) and the target time: nothing replayed`] };
    }
    if (!(await mongoToolVersion('mongorestore'))) throw new ToolMissingError('mongorestore', INSTALL_HINT);
    await runOplogReplay(connection, dir, oplogLimit(options), options.signal);
    return {
      events: written.events,
      reachedAt: written.lastAt!,
      notes: [`${written.events} oplog entr${written.events === 1 ? 'y' : 'ies'} replayed into ${connection.display}, the last at ${written.last}`],
    };
  } catch (error) {
    if (options.signal?.aborted && !(error instanceof AbortedError)) throw new AbortedError('cancelled', { cause: error });
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Written {
  events: number;
  last?: string;
  lastAt?: Date;
}

/** The entries a replay applies, from `from.start` (exclusive) to `until` or the base's consistent position. */
export function selectionFor(connection: MongoConnection, options: Pick<ReplayOptions, 'until' | 'from' | 'sourceDatabase'>): OplogSelection {
  const sourceDatabase = options.sourceDatabase ? options.sourceDatabase : undefined;
  return {
    after: options.from.start,
    ...(options.until === 'consistent' ? { upTo: options.from.consistent } : { untilSeconds: Math.floor(options.until.getTime() / 1000) }),
    ...(sourceDatabase !== undefined ? { sourceDatabase } : {}),
    ...(sourceDatabase !== undefined && connection.database !== undefined ? { targetDatabase: connection.database } : {}),
  };
}

/** mongorestore applies entries strictly before its limit. */
function oplogLimit(options: ReplayOptions): string {
  if (options.until !== 'consistent') return oplogLimitFor(options.until);
  const { t, i } = timestampParts(options.from.consistent);
  return `${t}:${i + 1}`;
}

/** The selected entries of every range, in log order; stops opening ranges once past the selection's end. */
async function* selectedEntries(bson: typeof BSON, ranges: readonly ReplayRange[], selection: OplogSelection, written: Written): AsyncGenerator<Uint8Array> {
  let previous: string | undefined;
  for (const replayed of ranges) {
    if (replayed.range.format !== OPLOG_FORMAT) throw new IntegrityError(`log run ${replayed.runId} holds ${replayed.range.format}, not ${OPLOG_FORMAT}: it cannot be replayed into MongoDB`);
    // A range that ends at or before the base holds nothing to replay: it is not even opened.
    if (compareLogPositions('oplog', replayed.range.end, selection.after) <= 0) continue;
    // The oplog rolled over before this range was pushed: what lay between its gapFrom and start is lost.
    const lostAfterBase = replayed.range.gapFrom !== undefined && compareLogPositions('oplog', replayed.range.start, selection.after) > 0;
    const entries = new BsonDocumentSplitter();
    // The splitter fails with the source's error; leaving the loop early destroys both.
    pipelineCallback(await replayed.open(), entries, () => undefined);
    for await (const bytes of entries as AsyncIterable<Buffer>) {
      const verdict = selectEntry(bson, bytes, selection);
      if (verdict.kind === 'past') return;
      if (lostAfterBase) {
        throw new IntegrityError(
          `the archive lacks the oplog from ${replayed.range.gapFrom} to ${replayed.range.start} (it rolled over before log run ${replayed.runId} pushed it): restore to a time before that stretch, or from a base taken after it`,
        );
      }
      if (verdict.kind === 'skip') continue;
      const position = positionOf(verdict.entry.ts);
      if (previous !== undefined && compareLogPositions('oplog', position, previous) <= 0) {
        throw new IntegrityError(`log run ${replayed.runId} holds oplog entry ${position} after ${previous}: the ranges overlap or are out of order`);
      }
      previous = position;
      written.events += 1;
      written.last = position;
      written.lastAt = entryTime(verdict.entry as { ts: typeof verdict.entry.ts; wall?: unknown });
      yield verdict.bytes;
    }
  }
}

async function runOplogReplay(connection: MongoConnection, dir: string, limit: string, signal?: AbortSignal): Promise<void> {
  const tool = await spawnMongoTool('mongorestore', connection, ['--oplogReplay', '--oplogLimit', limit, '--dir', dir], { stdout: 'ignore' });
  const onAbort = () => tool.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await tool.exited;
    if (signal?.aborted) throw new AbortedError('cancelled: the oplog replay was stopped part-way; restore the base again before another replay');
    if (exit.code !== 0) {
      throw new RestoreFailedError(
        `mongorestore --oplogReplay into ${connection.display} failed (${describeToolExit(exit)}); the entries before the failing one are applied: restore the base again before another replay`,
        exit.stderrTail,
      );
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
