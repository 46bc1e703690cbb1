import * as z from 'zod';

/**
 * Point-in-time recovery's vocabulary (docs/point-in-time.md): the change log a server keeps
 * (MariaDB/MySQL binary log, PostgreSQL WAL, MongoDB oplog), the archived ranges of it a log
 * catch-up run (`vaultra logs push`) stores, and where a base backup sits in it.
 *
 * Positions are strings in the engine's own notation, compared by `compareLogPositions`:
 * - `binlog`: `<file>:<offset>`, e.g. `binlog.000012:4711` (files sort by their numeric suffix);
 * - `wal`: an LSN `<hi>/<lo>` in hex, e.g. `0/3000060` (the timeline travels beside it);
 * - `oplog`: a BSON timestamp `<seconds>:<increment>`, e.g. `1765000000:3`.
 */
export const logKindSchema = z.enum(['binlog', 'wal', 'oplog']);
export type LogKind = z.infer<typeof logKindSchema>;

const POSITION_PATTERNS: Record<LogKind, RegExp> = {
  binlog: /^[A-Za-z0-9._-]+\.(\d+):(\d+)$/,
  wal: /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/,
  oplog: /^(\d+):(\d+)$/,
};

export const logPositionSchema = z.string().min(1).max(300);

/** One archived stretch of a server's change log: what a log run stored, from where to where. */
export const logRangeSchema = z
  .strictObject({
    kind: logKindSchema,
    /** How the segment's plaintext is laid out, e.g. `binlog-tar/v1`, `wal-tar/v1`, `oplog-bson/v1`. */
    format: z.string().min(1),
    /** Where the stored log starts (inclusive). For WAL, the start of its first segment. */
    start: logPositionSchema,
    /** Where it ends: the next run reads from here. */
    end: logPositionSchema,
    /** PostgreSQL's timeline of the range. */
    timeline: z.number().int().positive().optional(),
    /** MariaDB/MySQL: the GTID position at `end`, when the server has one. */
    gtidEnd: z.string().optional(),
    /** Commit (event) times of the first and last transaction in the range; absent when it holds none. */
    firstEventAt: z.iso.datetime().optional(),
    lastEventAt: z.iso.datetime().optional(),
    /**
     * Every change the server had committed before this time is in the archive up to `end`: the
     * time the run read the server's current position. A restore can reach any time up to it.
     */
    coveredUntil: z.iso.datetime(),
    /**
     * Transactions (binlog event groups, WAL commit records, oplog entries) in the range; absent
     * when they could not be counted (PostgreSQL without a pg_waldump of the server's major).
     */
    events: z.number().int().nonnegative().optional(),
    /** Files the range holds, in order (binlog file names, WAL segment names). */
    files: z.array(z.string().min(1).max(200)).max(100_000).optional(),
    /**
     * The start does not follow the archive's previous end: the server no longer had the log
     * from there (purged before it was archived). What was lost is `gapFrom`…`start`.
     */
    gapFrom: logPositionSchema.optional(),
  })
  .refine((range) => POSITION_PATTERNS[range.kind].test(range.start) && POSITION_PATTERNS[range.kind].test(range.end), {
    message: 'start and end must be positions of the log kind (binlog file:offset, WAL LSN hi/lo, oplog seconds:increment)',
  });
export type LogRange = z.infer<typeof logRangeSchema>;

/**
 * Where a base backup sits in the log, saved in its manifest's `dump.details` (strings, so a
 * manifest of any version carries them) under these keys.
 */
export const BASE_LOG_DETAILS = {
  kind: 'logKind',
  /** Replay starts here: the first change not in the base. */
  start: 'logStart',
  /** The base is consistent once replay has reached here (PostgreSQL: the backup's end LSN); else `logStart`. */
  consistent: 'logConsistent',
  /** The server time of `logConsistent`: the earliest time a restore from this base reaches. */
  consistentAt: 'logConsistentAt',
  /** PostgreSQL's timeline. */
  timeline: 'logTimeline',
} as const;

/** A base's place in the log, read back from its manifest's `dump.details`. */
export interface BaseLogPosition {
  readonly kind: LogKind;
  readonly start: string;
  readonly consistent: string;
  readonly consistentAt: Date;
  readonly timeline?: number;
}

/** The details a dump saves for its log position (an engine's `dump.details` spreads them in). */
export function baseLogDetails(position: BaseLogPosition): Record<string, string> {
  return {
    [BASE_LOG_DETAILS.kind]: position.kind,
    [BASE_LOG_DETAILS.start]: position.start,
    [BASE_LOG_DETAILS.consistent]: position.consistent,
    [BASE_LOG_DETAILS.consistentAt]: position.consistentAt.toISOString(),
    ...(position.timeline !== undefined ? { [BASE_LOG_DETAILS.timeline]: String(position.timeline) } : {}),
  };
}

/** The base position a manifest's details record, or `undefined` when the dump recorded none (or a malformed one). */
export function baseLogPositionOf(details: Readonly<Record<string, string>> | undefined): BaseLogPosition | undefined {
  if (!details) return undefined;
  const kind = logKindSchema.safeParse(details[BASE_LOG_DETAILS.kind]);
  const start = details[BASE_LOG_DETAILS.start];
  const consistent = details[BASE_LOG_DETAILS.consistent] ?? start;
  const at = details[BASE_LOG_DETAILS.consistentAt];
  if (!kind.success || !start || !consistent || !at) return undefined;
  if (!isLogPosition(kind.data, start) || !isLogPosition(kind.data, consistent)) return undefined;
  const consistentAt = new Date(at);
  if (Number.isNaN(consistentAt.getTime())) return undefined;
  const timeline = details[BASE_LOG_DETAILS.timeline] ? Number(details[BASE_LOG_DETAILS.timeline]) : undefined;
  return { kind: kind.data, start, consistent, consistentAt, ...(timeline !== undefined && Number.isInteger(timeline) && timeline > 0 ? { timeline } : {}) };
}

export function isLogPosition(kind: LogKind, position: string): boolean {
  return POSITION_PATTERNS[kind].test(position);
}

/**
 * Orders two positions of one log: negative when `a` comes first. Binlog files compare by their
 * numeric suffix (a server's files share one base name); WAL LSNs and oplog timestamps as the
 * pairs of numbers they are.
 */
export function compareLogPositions(kind: LogKind, a: string, b: string): number {
  const [a1, a2] = positionParts(kind, a);
  const [b1, b2] = positionParts(kind, b);
  if (a1 !== b1) return a1 < b1 ? -1 : 1;
  if (a2 !== b2) return a2 < b2 ? -1 : 1;
  return 0;
}

function positionParts(kind: LogKind, position: string): [bigint, bigint] {
  const m = POSITION_PATTERNS[kind].exec(position);
  if (!m) throw new RangeError(`not a ${kind} position: ${position.slice(0, 80)}`);
  const radix = kind === 'wal' ? 16 : 10;
  return [BigInt(radix === 16 ? `0x${m[1]!}` : m[1]!), BigInt(radix === 16 ? `0x${m[2]!}` : m[2]!)];
}

/** What a log run's one object's name starts with (`log.binlog-tar.zst.age`): a listing tells a log run's folder from a backup's by it. */
export const LOG_OBJECT_PREFIX = 'log.';
