import { open, type FileHandle } from 'node:fs/promises';

/**
 * The binary log's file layout, read without the server's tools: a 4-byte magic, then events,
 * each with a 19-byte v4 header — timestamp (seconds, UInt32LE), type (1 byte), server id (4),
 * event size (4, header included), end position in the server's file (4), flags (2).
 *
 * A piece written by `mariadb-binlog --raw --start-position=N` is the magic, the file's format
 * description event, then the events from N on: its local offsets differ from the server's,
 * but every event still carries its server-side end position, so a piece says where it lies.
 */
export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const HEADER_BYTES = 19;
const READ_BYTES = 256 * 1024;

/** Event types the reader needs to tell apart (MariaDB's and MySQL's numbering agree on these). */
export const BINLOG_EVENT = {
  query: 2,
  stop: 3,
  rotate: 4,
  formatDescription: 15,
  xid: 16,
  heartbeat: 27,
  /** MySQL 5.6+: one per transaction (GTID_LOG_EVENT, ANONYMOUS_GTID_LOG_EVENT), and the file's PREVIOUS_GTIDS. */
  mysqlGtid: 33,
  mysqlAnonymousGtid: 34,
  mysqlPreviousGtids: 35,
  /** MariaDB 10.0+: BINLOG_CHECKPOINT, GTID (one per event group), GTID_LIST (the file's starting state). */
  mariadbCheckpoint: 161,
  mariadbGtid: 162,
  mariadbGtidList: 163,
} as const;

/** Events that describe the file rather than a change: never counted, never a commit time. */
const FILE_EVENTS: ReadonlySet<number> = new Set([
  BINLOG_EVENT.stop,
  BINLOG_EVENT.rotate,
  BINLOG_EVENT.formatDescription,
  BINLOG_EVENT.heartbeat,
  BINLOG_EVENT.mysqlPreviousGtids,
  BINLOG_EVENT.mariadbCheckpoint,
  BINLOG_EVENT.mariadbGtidList,
]);
const GROUP_STARTS: ReadonlySet<number> = new Set([BINLOG_EVENT.mariadbGtid, BINLOG_EVENT.mysqlGtid, BINLOG_EVENT.mysqlAnonymousGtid]);

export interface BinlogEventHeader {
  /** Where the event starts in the local file. */
  readonly offset: number;
  readonly size: number;
  /** Seconds since the epoch, as the server stamped the event (the statement's start time). */
  readonly timestamp: number;
  readonly type: number;
  /** Where the event ends in the server's file (0 for events a tool made up, e.g. a piece's copied format description). */
  readonly endPosition: number;
}

/** Every event header of a local binlog file, in order. Rejects when the file is not a binlog or ends inside an event. */
export async function* binlogEvents(path: string): AsyncGenerator<BinlogEventHeader> {
  const file = await open(path, 'r');
  try {
    const reader = new BlockReader(file, (await file.stat()).size);
    const magic = await reader.bytes(0, BINLOG_MAGIC.length);
    if (!magic?.equals(BINLOG_MAGIC)) throw new Error(`${path} is not a binary log (no binlog magic)`);
    for (let offset = BINLOG_MAGIC.length; offset < reader.size; ) {
      const header = await reader.bytes(offset, HEADER_BYTES);
      if (!header) throw new Error(`${path} ends inside an event header at ${offset}`);
      const size = header.readUInt32LE(9);
      if (size < HEADER_BYTES || offset + size > reader.size) throw new Error(`${path}: event at ${offset} claims ${size} bytes, past the end of the file`);
      yield { offset, size, timestamp: header.readUInt32LE(0), type: header[4]!, endPosition: header.readUInt32LE(13) };
      offset += size;
    }
  } finally {
    await file.close();
  }
}

/** What a binlog piece holds, as far as a range needs to know. */
export interface BinlogPieceSummary {
  /** Event groups (transactions, DDL statements) that start in the piece. */
  readonly groups: number;
  /** Time of the first group's first event, seconds. */
  readonly firstAt?: number;
  /** Time of the last change event, seconds (a group's commit: its XID or COMMIT). */
  readonly lastAt?: number;
  /** The server-side end position of the piece's last event kept (0 when it holds no event past the format description). */
  readonly endPosition: number;
  /** Local bytes to keep: everything up to the cut (the whole file without `stopAt`). */
  readonly keepBytes: number;
}

/**
 * Summarises a piece, cutting it (in the summary; the caller truncates) after the event that
 * ends at `stopAt` in the server's file: events the tool read past the position the range was
 * planned to end at belong to the next range.
 */
export async function summarizeBinlogPiece(path: string, stopAt?: number): Promise<BinlogPieceSummary> {
  let groups = 0;
  let commits = 0;
  let firstAt: number | undefined;
  let lastAt: number | undefined;
  let endPosition = 0;
  let keepBytes = BINLOG_MAGIC.length;
  for await (const event of binlogEvents(path)) {
    const madeUp = event.endPosition === 0;
    if (stopAt !== undefined && !madeUp && event.endPosition > stopAt) break;
    keepBytes = event.offset + event.size;
    if (!madeUp) endPosition = event.endPosition;
    if (FILE_EVENTS.has(event.type)) continue;
    if (GROUP_STARTS.has(event.type)) groups++;
    if (event.type === BINLOG_EVENT.xid) commits++;
    firstAt ??= event.timestamp;
    lastAt = event.timestamp;
  }
  // A log without group-start events (MySQL before 5.6 wrote none): count commits instead.
  return { groups: groups > 0 ? groups : commits, ...(firstAt !== undefined ? { firstAt } : {}), ...(lastAt !== undefined ? { lastAt } : {}), endPosition, keepBytes };
}

/**
 * The local offset of the first event that starts at or after `position` in the server's file
 * (to hand to `--start-position`), or `undefined` when the piece holds none.
 */
export async function localOffsetOf(path: string, position: number): Promise<number | undefined> {
  for await (const event of binlogEvents(path)) {
    if (event.endPosition === 0 || event.type === BINLOG_EVENT.formatDescription) continue;
    if (event.endPosition - event.size >= position) return event.offset;
  }
  return undefined;
}

/** Positional reads through one buffer: a header is 19 bytes, a syscall per event would dominate. */
class BlockReader {
  private block = Buffer.alloc(0);
  private blockStart = 0;

  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  /** `length` bytes at `offset`, or undefined past the end of the file. */
  async bytes(offset: number, length: number): Promise<Buffer | undefined> {
    if (offset + length > this.size) return undefined;
    if (offset < this.blockStart || offset + length > this.blockStart + this.block.length) {
      const want = Math.min(Math.max(READ_BYTES, length), this.size - offset);
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.file.read(buffer, 0, want, offset);
      this.block = buffer.subarray(0, bytesRead);
      this.blockStart = offset;
      if (bytesRead < length) return undefined;
    }
    return this.block.subarray(offset - this.blockStart, offset - this.blockStart + length);
  }
}
