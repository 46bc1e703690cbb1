import { Transform, type TransformCallback } from 'node:stream';
import type { BSON, Document, Timestamp } from 'mongodb';
import { compareLogPositions } from '../../../domain/log-archive.js';
import { IntegrityError } from '../../../errors.js';
import { positionOf } from './oplog-position.js';

/**
 * Oplog entries as the archive holds them (`oplog-bson/v1`: the server's `local.oplog.rs`
 * documents, BSON, concatenated, exactly what mongorestore's `oplog.bson` takes), and the
 * selection a replay makes of them: a stretch of the log, one database's changes, renamed into
 * the restore's target database.
 *
 * mongorestore renames nothing during `--oplogReplay` (its `--nsFrom`/`--nsTo` apply to
 * collections only; mongo-tools 100.12 `mongorestore/oplog.go`), so the renaming happens here,
 * in `ns` and in the namespaces commands carry (`applyOps` entries of transactions,
 * `renameCollection`'s `to`).
 */

export const OPLOG_FORMAT = 'oplog-bson/v1';

/** The largest document a server writes (16 MiB) plus room for the oplog entry around it. */
const MAX_ENTRY_BYTES = 17 * 1024 * 1024;

/** What a replay keeps of the archived log. */
export interface OplogSelection {
  /** Entries after this position only (exclusive): where the base sits. */
  readonly after: string;
  /** Entries up to this position only (inclusive), e.g. where a base is consistent. */
  readonly upTo?: string;
  /** Entries whose timestamp's seconds are at or before this many seconds since the epoch. */
  readonly untilSeconds?: number;
  /** Only the changes to this database (the backed-up one); all of them when absent. */
  readonly sourceDatabase?: string;
  /** Written into this database instead of `sourceDatabase` (a restore into another name). */
  readonly targetDatabase?: string;
}

/** One entry's fate: kept (maybe rewritten), skipped, or past the end of the selection (so is everything after it). */
export type EntryVerdict =
  | { readonly kind: 'keep'; readonly bytes: Uint8Array; readonly entry: Document & { ts: Timestamp } }
  | { readonly kind: 'skip' }
  | { readonly kind: 'past' };

/** Databases whose entries are never replayed: the server's own bookkeeping. */
const SERVER_DATABASES = new Set(['local', 'config']);

/**
 * Decides what a replay does with one archived entry (`bytes`: one BSON document). An entry
 * is rewritten only when it must be renamed; otherwise its bytes pass unchanged.
 */
export function selectEntry(bson: typeof BSON, bytes: Uint8Array, selection: OplogSelection): EntryVerdict {
  // promoteValues off: a rewritten entry keeps its exact BSON types (Int32 stays Int32, Long stays Long).
  const entry = bson.deserialize(bytes, { promoteValues: false, promoteBuffers: false, bsonRegExp: true }) as Document & { ts?: unknown; ns?: unknown; op?: unknown };
  const ts = entry.ts;
  if (!isTimestamp(ts)) throw new IntegrityError('an archived oplog entry has no timestamp: the range is not oplog-bson/v1 or is damaged');
  const position = positionOf(ts);
  if (compareLogPositions('oplog', position, selection.after) <= 0) return { kind: 'skip' };
  if (selection.upTo !== undefined && compareLogPositions('oplog', position, selection.upTo) > 0) return { kind: 'past' };
  if (selection.untilSeconds !== undefined && ts.t > selection.untilSeconds) return { kind: 'past' };
  const op = typeof entry.op === 'string' ? entry.op : '';
  const ns = typeof entry.ns === 'string' ? entry.ns : '';
  if (op === 'n' || SERVER_DATABASES.has(databaseOf(ns))) return { kind: 'skip' };
  const { sourceDatabase } = selection;
  if (sourceDatabase === undefined) return { kind: 'keep', bytes, entry: entry as Document & { ts: Timestamp } };

  if (ns === 'admin.$cmd' && isTransactionControl(entry)) return { kind: 'keep', bytes, entry: entry as Document & { ts: Timestamp } };
  const nested = nestedOps(entry);
  if (nested) {
    // A transaction (`applyOps` on admin.$cmd) may touch several databases: keep its part in ours.
    const ours = nested.filter((inner) => typeof inner.ns === 'string' && databaseOf(inner.ns) === sourceDatabase);
    // A link of a transaction written as several entries stays, even empty: mongorestore applies
    // the chain's operations when it reaches its last link (prevOpTime, partialTxn).
    if (ours.length === 0 && !isTransactionLink(entry)) return { kind: 'skip' };
    const renamed = ours.map((inner) => renameEntry(inner, selection));
    if (ours.length === nested.length && renamed.every((inner, i) => inner === ours[i])) return { kind: 'keep', bytes, entry: entry as Document & { ts: Timestamp } };
    const rewritten = { ...entry, o: { ...(entry.o as Document), applyOps: renamed } };
    return { kind: 'keep', bytes: bson.serialize(rewritten), entry: rewritten as Document & { ts: Timestamp } };
  }
  if (databaseOf(ns) !== sourceDatabase) return { kind: 'skip' };
  const renamed = renameEntry(entry, selection);
  return renamed === entry ? { kind: 'keep', bytes, entry: entry as Document & { ts: Timestamp } } : { kind: 'keep', bytes: bson.serialize(renamed), entry: renamed as Document & { ts: Timestamp } };
}

/** The entry with its namespaces moved from the source to the target database; the same object when nothing changes. */
export function renameEntry<T extends Document>(entry: T, selection: Pick<OplogSelection, 'sourceDatabase' | 'targetDatabase'>): T {
  const { sourceDatabase: from, targetDatabase: to } = selection;
  if (from === undefined || to === undefined || from === to) return entry;
  let changed = false;
  const move = (value: unknown): unknown => {
    if (typeof value !== 'string' || databaseOf(value) !== from || value.length === from.length) return value;
    changed = true;
    return `${to}${value.slice(from.length)}`;
  };
  const renamed: Document = { ...entry, ns: move(entry.ns) };
  const o = entry.o as Document | undefined;
  if (entry.op === 'c' && o && typeof o === 'object') {
    const command: Document = { ...o };
    // renameCollection: { renameCollection: 'db.a', to: 'db.b' }: both full namespaces.
    if ('renameCollection' in command) {
      command.renameCollection = move(command.renameCollection);
      command.to = move(command.to);
    }
    if (Array.isArray(command.applyOps)) {
      command.applyOps = (command.applyOps as Document[]).map((inner) => {
        const moved = renameEntry(inner, selection);
        if (moved !== inner) changed = true;
        return moved;
      });
    }
    renamed.o = command;
  }
  return changed ? (renamed as T) : entry;
}

/** `commitTransaction`/`abortTransaction` of a prepared transaction: they apply (or drop) what earlier links held. */
function isTransactionControl(entry: Document): boolean {
  const o = entry.o as Document | undefined;
  return entry.op === 'c' && entry.lsid !== undefined && entry.txnNumber !== undefined && !!o && ('commitTransaction' in o || 'abortTransaction' in o);
}

/** Part of a transaction written as several oplog entries: a partial link, a prepare, or a link that points back to one. */
function isTransactionLink(entry: Document): boolean {
  if (entry.lsid === undefined || entry.txnNumber === undefined) return false;
  const o = entry.o as Document;
  const previous = (entry.prevOpTime as Document | undefined)?.ts as Timestamp | undefined;
  return o.partialTxn === true || o.prepare === true || (isTimestamp(previous) && (previous.t !== 0 || previous.i !== 0));
}

function nestedOps(entry: Document): Document[] | undefined {
  const o = entry.o as Document | undefined;
  return entry.op === 'c' && o && Array.isArray(o.applyOps) && databaseOf(String(entry.ns)) === 'admin' ? (o.applyOps as Document[]) : undefined;
}

/** `shop.items` → `shop`, `shop.$cmd` → `shop`. */
export function databaseOf(ns: string): string {
  const dot = ns.indexOf('.');
  return dot < 0 ? ns : ns.slice(0, dot);
}

function isTimestamp(value: unknown): value is Timestamp {
  return typeof value === 'object' && value !== null && (value as { _bsontype?: unknown })._bsontype === 'Timestamp';
}

/**
 * Splits a byte stream of concatenated BSON documents into one Buffer per document (object
 * mode out), holding at most one document and a chunk in memory. A stream that ends inside a
 * document, or a length prefix no oplog entry can have, fails with {@link IntegrityError}.
 */
export class BsonDocumentSplitter extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor() {
    super({ readableObjectMode: true, readableHighWaterMark: 64 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    try {
      this.emitDocuments();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.pendingBytes === 0 ? null : new IntegrityError(`an archived oplog range ends inside an entry (${this.pendingBytes} byte(s) left over): the range is truncated`));
  }

  private emitDocuments(): void {
    // Joining chunks only once the first document is whole keeps a 16 MiB entry from being copied once per chunk.
    if (this.pendingBytes < 4) return;
    const head = this.pending[0]!.length >= 4 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    if (this.pendingBytes < checkedSize(head.readInt32LE(0))) return;
    let buffer = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    let at = 0;
    while (buffer.length - at >= 4) {
      const size = checkedSize(buffer.readInt32LE(at));
      if (buffer.length - at < size) break;
      this.push(buffer.subarray(at, at + size));
      at += size;
    }
    buffer = buffer.subarray(at);
    this.pending = buffer.length > 0 ? [buffer] : [];
    this.pendingBytes = buffer.length;
  }
}

function checkedSize(size: number): number {
  if (size < 5 || size > MAX_ENTRY_BYTES) throw new IntegrityError(`an archived oplog range holds an entry of ${size} byte(s): it is not oplog-bson/v1 or is damaged`);
  return size;
}
