import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import type { ArtifactObject } from '../../domain/manifest.js';
import { chunkLine, indexHeaderLine, INDEX_OBJECT_NAME, streamLine, type ChunkRef, type SnapshotStream } from '../../domain/snapshot-format.js';
import type { ArtifactWriter } from '../../ports/artifact.js';

/**
 * Writes a snapshot's index (docs/chunked-snapshots.md) while the dump runs: gzip-compressed text
 * lines, streamed into the run folder, so its size never sits in memory. Not encrypted: it holds
 * chunk ids (keyed hashes), sizes and stream names only, and the write-only runner reads its
 * base's index to deduplicate.
 */
export class IndexWriter {
  private readonly lines = new PassThrough({ highWaterMark: 256 * 1024 });
  private readonly written: Promise<unknown>;
  /** Every part of the write settled, stored or failed. */
  private readonly done: Promise<unknown>;
  private readonly object: ReturnType<ArtifactWriter['open']>;

  constructor(writer: ArtifactWriter, streams: readonly SnapshotStream[], signal?: AbortSignal) {
    this.object = writer.open({ name: INDEX_OBJECT_NAME, role: 'index' }, signal);
    const [tap, fan] = this.object.stages;
    const gzip = createGzip({ level: 6 });
    const piped = fan ? pipeline(this.lines, gzip, tap, fan, { signal }) : pipeline(this.lines, gzip, tap, { signal });
    this.written = Promise.all([piped, ...this.object.stored]);
    this.done = Promise.allSettled([piped, ...this.object.stored]);
    // Failures surface from close(); until then nothing may crash the process unhandled.
    this.written.catch(() => undefined);
    this.lines.write(indexHeaderLine());
    streams.forEach((stream, number) => this.lines.write(streamLine(number, stream)));
  }

  /** Adds a chunk line; resolves at once unless the index stream wants the writer to wait. */
  chunk(ref: ChunkRef): Promise<void> | undefined {
    if (this.lines.write(chunkLine(ref))) return undefined;
    return new Promise((resolve) => this.lines.once('drain', resolve));
  }

  /** Ends the index and waits until every destination stored it: the index as a manifest object. */
  async close(): Promise<ArtifactObject> {
    this.lines.end();
    await this.written;
    return this.object.described();
  }

  /** Stops writing (a failed run); the run's writer removes what was stored. */
  abort(error: Error): void {
    this.lines.destroy(error);
  }

  /** Resolves once the index's upload settled in every destination (after `abort`). */
  async settled(): Promise<void> {
    await this.done;
  }
}
