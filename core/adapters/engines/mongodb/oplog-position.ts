import type { Timestamp } from 'mongodb';

/**
 * Oplog positions in the notation of the log-archive contract (`<seconds>:<increment>`, see
 * core/domain/log-archive.ts) and the BSON timestamps the server keeps in `local.oplog.rs`.
 */

/** `Timestamp({ t: 1765000000, i: 3 })` → `1765000000:3`. */
export function positionOf(ts: Timestamp): string {
  return `${ts.t}:${ts.i}`;
}

/** `1765000000:3` → `{ t: 1765000000, i: 3 }` (the caller builds the driver's Timestamp from it). */
export function timestampParts(position: string): { readonly t: number; readonly i: number } {
  const match = /^(\d+):(\d+)$/.exec(position);
  if (!match) throw new RangeError(`not an oplog position (seconds:increment): ${position.slice(0, 80)}`);
  return { t: Number(match[1]), i: Number(match[2]) };
}

/** The server time an entry was written: its `wall` clock when it has one (MongoDB ≥ 3.6), else its timestamp's seconds. */
export function entryTime(entry: { readonly ts: Timestamp; readonly wall?: unknown }): Date {
  return entry.wall instanceof Date && !Number.isNaN(entry.wall.getTime()) ? entry.wall : new Date(entry.ts.t * 1000);
}

/**
 * mongorestore's `--oplogLimit` for "everything up to `until`, inclusive, to the second": the
 * tool applies entries strictly before the limit, so the limit is the next second's first
 * timestamp.
 */
export function oplogLimitFor(until: Date): string {
  return `${Math.floor(until.getTime() / 1000) + 1}:0`;
}
