/**
 * The chunked snapshot format (docs/chunked-snapshots.md): chunker parameters, object names and
 * the snapshot index's text lines, both ways. Pure: no streams, no I/O.
 */

/**
 * FastCDC sizes, chosen by measurement on a PostgreSQL table stream (255 MB, 1 % of rows changed,
 * 80 % of the updates among the newest rows): an incremental stored 20.8 % of the full at 8 KiB
 * average, 33.9 % at 16, 54.2 % at 32, 78.3 % at 64, while the full's compressed size moved by 3 %
 * (65.8, 63.9, 63.9, 64.6 MB). 16 KiB halves what a scattered change costs against 32, for an index
 * twice as long (~45 bytes per chunk, gzipped). Recorded in every manifest: a later version may
 * change them (the next run of a chain then stores most chunks anew, and restores are unaffected).
 */
export const CHUNKER_PARAMS = { algorithm: 'fastcdc', minBytes: 8 * 1024, avgBytes: 16 * 1024, maxBytes: 128 * 1024 } as const;
export interface ChunkerParams {
  readonly minBytes: number;
  readonly avgBytes: number;
  readonly maxBytes: number;
}

/** Stored bytes a pack grows to before the next one starts. */
export const PACK_TARGET_BYTES = 32 * 1024 * 1024;

export const INDEX_OBJECT_NAME = 'index.tsv.gz';
const INDEX_MAGIC = 'vaultra-snapshot-index';
const INDEX_VERSION = '1';

/** A stream of a snapshot: a table's rows, a schema section, or the whole dump of an engine that dumps as one. */
export interface SnapshotStream {
  /** Unique in the snapshot and stable across runs, e.g. `table/public.users`, `pre-data`, `dump`. */
  readonly name: string;
  /** The engine's word for what it is (`dump`, `pre-data`, `table`, `post-data`…): the restore acts on it. */
  readonly role: string;
}

/** Where a chunk lives: its pack, and where its stored (compressed) form sits in the pack's plaintext. */
export interface ChunkLocation {
  readonly pack: string;
  readonly offset: number;
  readonly storedLength: number;
  readonly rawLength: number;
}

/** One chunk of one stream, as an index line says. */
export interface ChunkRef extends ChunkLocation {
  readonly stream: number;
  /** 64 hex digits: HMAC-SHA-256 of the raw chunk under the dedup key. */
  readonly id: string;
}

/** `pack-<32 hex>.age` (or without `.age` for unencrypted packs). */
export function packName(randomHex: string, encrypted: boolean): string {
  return `pack-${randomHex}${encrypted ? '.age' : ''}`;
}

export const PACK_NAME_PATTERN = /^pack-[0-9a-f]{32}(\.age)?$/;

export function indexHeaderLine(): string {
  return `${INDEX_MAGIC}\t${INDEX_VERSION}\n`;
}

export function streamLine(number: number, stream: SnapshotStream): string {
  return `stream\t${number}\t${encodeURIComponent(stream.name)}\t${encodeURIComponent(stream.role)}\n`;
}

export function chunkLine(ref: ChunkRef): string {
  return `chunk\t${ref.stream}\t${ref.id}\t${ref.pack}\t${ref.offset}\t${ref.storedLength}\t${ref.rawLength}\n`;
}

/** What one index line says; `undefined` for the header line. Throws `Error` (the caller names the object) for a malformed line. */
export function parseIndexLine(line: string): { readonly stream: { number: number } & SnapshotStream } | { readonly chunk: ChunkRef } | undefined {
  const fields = line.split('\t');
  switch (fields[0]) {
    case INDEX_MAGIC:
      if (fields[1] !== INDEX_VERSION) throw new Error(`index version ${fields[1]} is not one this Vaultra reads (${INDEX_VERSION})`);
      return undefined;
    case 'stream': {
      if (fields.length !== 4) throw new Error('a stream line has 4 fields');
      return { stream: { number: count(fields[1]), name: decodeURIComponent(fields[2]!), role: decodeURIComponent(fields[3]!) } };
    }
    case 'chunk': {
      if (fields.length !== 7 || !/^[0-9a-f]{64}$/.test(fields[2]!) || !PACK_NAME_PATTERN.test(fields[3]!)) throw new Error('a chunk line has 7 fields: stream, 64-hex id, pack name, offset, stored length, raw length');
      return { chunk: { stream: count(fields[1]), id: fields[2]!, pack: fields[3]!, offset: count(fields[4]), storedLength: count(fields[5]), rawLength: count(fields[6]) } };
    }
    default:
      throw new Error(`unknown index record ${JSON.stringify(fields[0]?.slice(0, 20))}`);
  }
}

function count(field: string | undefined): number {
  if (field === undefined || !/^\d{1,15}$/.test(field)) throw new Error(`not a count: ${JSON.stringify(field?.slice(0, 20))}`);
  return Number(field);
}
