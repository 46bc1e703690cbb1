import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ArtifactObject } from '../../domain/manifest.js';
import { objectKeyOf } from '../../domain/object-layout.js';
import { parseIndexLine, type ChunkRef, type SnapshotStream } from '../../domain/snapshot-format.js';
import type { StorageBackend } from '../../ports/storage-backend.js';
import { IntegrityError } from '../../errors.js';
import { Sha256Verifier } from '../byte-taps.js';

/** A snapshot's index, read whole: its streams, and each stream's chunks in order. */
export interface SnapshotIndex {
  readonly streams: readonly SnapshotStream[];
  readonly chunks: readonly (readonly ChunkRef[])[];
}

/**
 * Reads the index object `index` of the backup whose manifest is at `manifestKey`, checking its
 * SHA-256 and size against the manifest before its last record counts, and calls `onChunk` for
 * each chunk line as it comes (the dedup table is filled this way without holding the lines).
 * Rejects with `IntegrityError` for an index that is damaged or not one this version reads.
 */
export async function scanSnapshotIndex(
  storage: StorageBackend,
  manifestKey: string,
  index: ArtifactObject,
  onChunk: (chunk: ChunkRef) => void,
  signal?: AbortSignal,
): Promise<SnapshotStream[]> {
  const streams: SnapshotStream[] = [];
  let rest = '';
  let lineNumber = 0;
  const take = (line: string) => {
    lineNumber++;
    if (line === '') return;
    let record;
    try {
      record = parseIndexLine(line);
      if (lineNumber === 1 && record !== undefined) throw new Error('the first line is not the index header');
    } catch (error) {
      throw new IntegrityError(`${index.name} line ${lineNumber}: ${(error as Error).message}: the snapshot index is damaged`);
    }
    if (!record) return;
    if ('stream' in record) {
      if (record.stream.number !== streams.length) throw new IntegrityError(`${index.name} line ${lineNumber}: streams are not numbered in order: the snapshot index is damaged`);
      streams.push({ name: record.stream.name, role: record.stream.role });
    } else {
      if (record.chunk.stream >= streams.length) throw new IntegrityError(`${index.name} line ${lineNumber}: a chunk of stream ${record.chunk.stream}, which the index does not declare: the snapshot index is damaged`);
      onChunk(record.chunk);
    }
  };
  const lines = new Writable({
    decodeStrings: true,
    write(bytes: Buffer, _encoding, callback) {
      try {
        const text = rest + bytes.toString('utf8');
        const parts = text.split('\n');
        rest = parts.pop()!;
        for (const line of parts) take(line);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    final(callback) {
      try {
        if (rest !== '') throw new IntegrityError(`${index.name} ends inside a line: the snapshot index is truncated`);
        if (lineNumber === 0) throw new IntegrityError(`${index.name} is empty: the snapshot index is damaged`);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  const source = await storage.get(objectKeyOf(manifestKey, index), { signal });
  try {
    await pipeline(source, new Sha256Verifier(index), createGunzip(), lines, { signal });
  } catch (error) {
    // zlib's own errors (Z_DATA_ERROR…) come on bytes that passed no checksum yet: damage.
    if (!String((error as { code?: unknown }).code ?? '').startsWith('Z_')) throw error;
    throw new IntegrityError(`${index.name} is not a valid gzip stream (${(error as Error).message}): the snapshot index is damaged`);
  }
  return streams;
}

/** The whole index: what a restore or verify reads. */
export async function readSnapshotIndex(storage: StorageBackend, manifestKey: string, index: ArtifactObject, signal?: AbortSignal): Promise<SnapshotIndex> {
  const chunks: ChunkRef[][] = [];
  const streams = await scanSnapshotIndex(storage, manifestKey, index, (chunk) => (chunks[chunk.stream] ??= []).push(chunk), signal);
  return { streams, chunks: streams.map((_, number) => chunks[number] ?? []) };
}
