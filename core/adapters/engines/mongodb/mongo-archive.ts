/**
 * A streaming reader of the mongodump archive format (mongo-tools `common/archive/spec.md`):
 *
 * ```
 * archive   = magic-number(0x8199e26d LE), header doc, *collection-metadata doc, terminator,
 *             *(namespace-header doc, +document, terminator | eof-header doc, terminator)
 * terminator = 0xffffffff
 * ```
 *
 * Namespaces are interleaved (mongodump writes several collections at once); each one ends
 * with an EOF header carrying the CRC-64/ECMA of all its documents. {@link ArchiveChecker}
 * reads the whole stream in bounded memory (one document at a time), checks every document's
 * BSON structure and every namespace's CRC, and at the end that every namespace announced in
 * the prelude was closed: a dump cut short, or damaged, cannot pass.
 */
import { BsonStructureError, checkDocument, readHeaderFields } from './bson-walk.js';

export const ARCHIVE_MAGIC = 0x8199e26d;
const TERMINATOR = -1;
/** mongo-tools' `db.MaxBSONSize`: no archive document is larger. */
const MAX_BSON_BYTES = 16 * 1024 * 1024;

/** What the archive's prelude says: its header and the namespaces it will carry. */
export interface ArchivePrelude {
  readonly formatVersion: string;
  readonly serverVersion: string;
  readonly toolVersion: string;
  /** In prelude order. `db` is empty for the oplog (`collection: 'oplog'`). */
  readonly namespaces: readonly ArchiveNamespace[];
}

export interface ArchiveNamespace {
  readonly db: string;
  readonly collection: string;
  /** `''` for collections, `'view'`, `'timeseries'`. */
  readonly type: string;
}

export interface ArchiveSummary {
  readonly prelude: ArchivePrelude;
  /** Documents per namespace (`db.collection`), for every namespace that had a data block. */
  readonly documents: ReadonlyMap<string, number>;
  readonly totalDocuments: number;
}

/** The archive is not a complete, well-formed mongodump archive. The message says where. */
export class ArchiveFormatError extends Error {}

export function namespaceOf(db: string, collection: string): string {
  return `${db}.${collection}`;
}

/** The oplog of a `mongodump --oplog` archive. */
export function isOplog(ns: ArchiveNamespace): boolean {
  return ns.db === '' && ns.collection === 'oplog';
}

type State = 'magic' | 'header' | 'metadata' | 'block' | 'documents' | 'eof-terminator';

interface NamespaceProgress {
  readonly crc: Crc64;
  documents: number;
  ended: boolean;
}

/**
 * Feed it the archive with {@link ArchiveChecker.push} (any chunking), then call
 * {@link ArchiveChecker.finish}. Both throw {@link ArchiveFormatError} at the first problem.
 * `onPrelude` fires once, as soon as the prelude has been read (before any document).
 */
export class ArchiveChecker {
  private readonly queue = new ByteQueue();
  private state: State = 'magic';
  private prelude: { formatVersion: string; serverVersion: string; toolVersion: string; namespaces: ArchiveNamespace[] } | undefined;
  private readonly progress = new Map<string, NamespaceProgress>();
  private current: NamespaceProgress | undefined;
  private currentName = '';
  private offset = 0;
  private totalDocuments = 0;

  constructor(private readonly onPrelude?: (prelude: ArchivePrelude) => void) {}

  /** The prelude, once read. */
  get preludeRead(): ArchivePrelude | undefined {
    return this.state === 'magic' || this.state === 'header' || this.state === 'metadata' ? undefined : this.prelude;
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk);
    this.drain();
  }

  /** The stream ended: checks that it ended at a block boundary with every namespace closed. */
  finish(): ArchiveSummary {
    if (this.state === 'magic' && this.queue.length === 0 && this.offset === 0) throw new ArchiveFormatError('the archive is empty');
    if (this.state !== 'block' || this.queue.length > 0) {
      const where = this.state === 'documents' ? ` inside the documents of ${this.currentName}` : this.state === 'block' ? '' : ` in the ${this.state === 'eof-terminator' ? 'end marker' : `archive ${this.state}`}`;
      throw new ArchiveFormatError(`the archive is truncated${where} (at byte ${this.offset + this.queue.length})`);
    }
    const prelude = this.prelude!;
    const open: string[] = [];
    for (const ns of prelude.namespaces) {
      // Views carry no documents, only metadata: mongodump writes no data block for them.
      if (ns.type === 'view') continue;
      const name = namespaceOf(ns.db, ns.collection);
      if (!this.progress.get(name)?.ended) open.push(name);
    }
    for (const [name, p] of this.progress) if (!p.ended && !open.includes(name)) open.push(name);
    if (open.length > 0) throw new ArchiveFormatError(`the archive is incomplete: no end marker for ${preview(open)}`);
    const documents = new Map<string, number>();
    for (const [name, p] of this.progress) documents.set(name, p.documents);
    return { prelude, documents, totalDocuments: this.totalDocuments };
  }

  private drain(): void {
    for (;;) {
      switch (this.state) {
        case 'magic': {
          const magic = this.queue.take(4);
          if (!magic) return;
          if (magic.readUInt32LE(0) !== ARCHIVE_MAGIC) throw new ArchiveFormatError('not a mongodump archive (the magic number at its start is wrong)');
          this.advance(4);
          this.state = 'header';
          break;
        }
        case 'header': {
          const doc = this.takeDocument('the archive header', false);
          if (!doc) return;
          const fields = readHeaderFields(doc);
          if (typeof fields.version !== 'string') throw new ArchiveFormatError('the archive header has no format version');
          this.prelude = {
            formatVersion: fields.version,
            serverVersion: typeof fields.server_version === 'string' ? fields.server_version : '',
            toolVersion: typeof fields.tool_version === 'string' ? fields.tool_version : '',
            namespaces: [],
          };
          this.state = 'metadata';
          break;
        }
        case 'metadata': {
          const doc = this.takeDocument('the collection metadata', true);
          if (doc === undefined) return;
          if (doc === null) {
            this.state = 'block';
            this.onPrelude?.(this.prelude!);
            break;
          }
          const fields = readHeaderFields(doc);
          if (typeof fields.db !== 'string' || typeof fields.collection !== 'string') throw new ArchiveFormatError(`collection metadata at byte ${this.offset - doc.length} names no namespace`);
          this.prelude!.namespaces.push({ db: fields.db, collection: fields.collection, type: typeof fields.type === 'string' ? fields.type : '' });
          break;
        }
        case 'block': {
          const doc = this.takeDocument('a namespace header', true);
          if (doc === undefined) return;
          if (doc === null) throw new ArchiveFormatError(`two terminators in a row at byte ${this.offset - 4}`);
          const fields = readHeaderFields(doc);
          if (typeof fields.db !== 'string' || typeof fields.collection !== 'string') throw new ArchiveFormatError(`namespace header at byte ${this.offset - doc.length} names no namespace`);
          const name = namespaceOf(fields.db, fields.collection);
          let progress = this.progress.get(name);
          if (!progress) {
            progress = { crc: new Crc64(), documents: 0, ended: false };
            this.progress.set(name, progress);
          }
          if (progress.ended) throw new ArchiveFormatError(`data for ${name} after its end marker`);
          this.current = progress;
          this.currentName = name;
          if (fields.EOF === true) {
            const expected = typeof fields.CRC === 'bigint' ? fields.CRC : typeof fields.CRC === 'number' ? BigInt(fields.CRC) : undefined;
            const actual = BigInt.asIntN(64, progress.crc.digest());
            if (expected === undefined) throw new ArchiveFormatError(`the end marker of ${name} has no CRC`);
            if (expected !== actual) throw new ArchiveFormatError(`the documents of ${name} do not match their CRC (the archive was altered)`);
            progress.ended = true;
            this.state = 'eof-terminator';
          } else {
            this.state = 'documents';
          }
          break;
        }
        case 'eof-terminator': {
          const bytes = this.queue.take(4);
          if (!bytes) return;
          if (bytes.readInt32LE(0) !== TERMINATOR) throw new ArchiveFormatError(`the end marker of ${this.currentName} is not followed by a terminator (byte ${this.offset})`);
          this.advance(4);
          this.state = 'block';
          break;
        }
        case 'documents': {
          const doc = this.takeDocument(`a document of ${this.currentName}`, true);
          if (doc === undefined) return;
          if (doc === null) {
            this.state = 'block';
            break;
          }
          this.current!.crc.update(doc);
          this.current!.documents += 1;
          this.totalDocuments += 1;
          break;
        }
      }
    }
  }

  /**
   * The next BSON document (checked), `null` for a terminator when one is allowed, or
   * `undefined` when more bytes are needed.
   */
  private takeDocument(what: string, terminatorAllowed: boolean): Buffer | null | undefined {
    const size = this.queue.peekInt32();
    if (size === undefined) return undefined;
    if (size === TERMINATOR && terminatorAllowed) {
      this.queue.take(4);
      this.advance(4);
      return null;
    }
    if (size < 5 || size > MAX_BSON_BYTES) throw new ArchiveFormatError(`${what} at byte ${this.offset} has an impossible length (${size})`);
    const doc = this.queue.take(size);
    if (!doc) return undefined;
    try {
      checkDocument(doc);
    } catch (error) {
      if (error instanceof BsonStructureError) throw new ArchiveFormatError(`${what} at byte ${this.offset} is not valid BSON: ${error.message}`);
      throw error;
    }
    this.advance(size);
    return doc;
  }

  private advance(bytes: number): void {
    this.offset += bytes;
  }
}

function preview(names: readonly string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** Chunks in arrival order; hands out contiguous byte ranges, copying only across chunk edges. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  peekInt32(): number | undefined {
    if (this.length < 4) return undefined;
    const first = this.chunks[0]!;
    if (first.length - this.head >= 4) return first.readInt32LE(this.head);
    return this.copy(4, false).readInt32LE(0);
  }

  take(bytes: number): Buffer | undefined {
    if (this.length < bytes) return undefined;
    const first = this.chunks[0]!;
    if (first.length - this.head >= bytes) {
      const out = first.subarray(this.head, this.head + bytes);
      this.head += bytes;
      this.length -= bytes;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    return this.copy(bytes, true);
  }

  private copy(bytes: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    let index = 0;
    let head = this.head;
    while (filled < bytes) {
      const chunk = this.chunks[index]!;
      const n = Math.min(chunk.length - head, bytes - filled);
      chunk.copy(out, filled, head, head + n);
      filled += n;
      head += n;
      if (head === chunk.length) {
        index += 1;
        head = 0;
      }
    }
    if (consume) {
      this.chunks.splice(0, index);
      this.head = head;
      this.length -= bytes;
    }
    return out;
  }
}

// CRC-64/ECMA as Go's hash/crc64 computes it (reflected polynomial 0xC96C5795D7870F42, initial
// value and final XOR all ones), on two 32-bit halves: BigInt per byte would be far too slow.
const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let bit = 0; bit < 8; bit++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi >>>= 1;
    if (odd) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

export class Crc64 {
  private hi = 0xffffffff;
  private lo = 0xffffffff;

  update(bytes: Uint8Array): void {
    let hi = this.hi;
    let lo = this.lo;
    for (let k = 0; k < bytes.length; k++) {
      const index = (lo ^ bytes[k]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ TABLE_LO[index]!;
      hi = (hi >>> 8) ^ TABLE_HI[index]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  /** The CRC as an unsigned 64-bit value. */
  digest(): bigint {
    return (BigInt(~this.hi >>> 0) << 32n) | BigInt(~this.lo >>> 0);
  }
}
