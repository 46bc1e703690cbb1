/**
 * Reads an object of known size as several ranges fetched in parallel, emitted strictly in
 * order, with bounded memory: at most `rangesInFlight` ranges are fetched or held at once, and
 * new ranges are requested only as the consumer reads. The whole stream's MD5 is checked
 * against the stored one before the last bytes are emitted, so a consumer never sees a clean
 * end of damaged data.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { IntegrityError } from '../../../errors.js';

/**
 * Fetches `count` bytes at `offset`, all of them or rejects (retries are the caller's), as the
 * chunks the network delivered: they are emitted as they are, never copied into one buffer.
 */
export type FetchRange = (offset: number, count: number, signal: AbortSignal) => Promise<readonly Buffer[]>;

export interface RangedDownloadOptions {
  readonly sizeBytes: number;
  /** @default 8 MiB */
  readonly rangeSizeBytes?: number;
  /** @default 4 */
  readonly rangesInFlight?: number;
  /** The object's stored MD5 (`Content-MD5`); when absent, no whole-object check is made. */
  readonly expectedMd5?: Uint8Array;
  /** Names the object in an integrity error. */
  readonly name: string;
  /** Aborting it destroys the stream (and cancels the ranges in flight). */
  readonly signal?: AbortSignal;
}

export function rangedDownload(fetchRange: FetchRange, options: RangedDownloadOptions): Readable {
  const rangeSize = options.rangeSizeBytes ?? 8 * 1024 * 1024;
  const inFlight = options.rangesInFlight ?? 4;
  const controller = new AbortController();
  const md5 = createHash('md5');
  const queue: Promise<readonly Buffer[]>[] = [];
  let nextOffset = 0;
  let delivering = false;

  const fill = () => {
    while (queue.length < inFlight && nextOffset < options.sizeBytes) {
      const count = Math.min(rangeSize, options.sizeBytes - nextOffset);
      const fetching = fetchRange(nextOffset, count, controller.signal);
      fetching.catch(() => undefined); // observed in deliver(); never an unhandled rejection
      queue.push(fetching);
      nextOffset += count;
    }
  };

  const verify = (): Error | undefined => {
    if (!options.expectedMd5) return undefined;
    const actual = md5.digest();
    if (actual.equals(Buffer.from(options.expectedMd5))) return undefined;
    return new IntegrityError(`${options.name} is damaged: its MD5 is ${actual.toString('base64')}, the stored Content-MD5 is ${Buffer.from(options.expectedMd5).toString('base64')}`);
  };

  const stream: Readable = new Readable({
    highWaterMark: rangeSize,
    read() {
      if (delivering) return;
      fill();
      const head = queue[0];
      if (!head) {
        const damage = verify();
        if (damage) stream.destroy(damage);
        else stream.push(null);
        return;
      }
      delivering = true;
      head.then(
        (chunks) => {
          delivering = false;
          if (stream.destroyed) return;
          queue.shift();
          fill();
          for (const chunk of chunks) md5.update(chunk);
          const last = queue.length === 0 && nextOffset >= options.sizeBytes;
          const damage = last ? verify() : undefined;
          if (damage) return void stream.destroy(damage);
          for (const chunk of chunks) stream.push(chunk);
          if (last) stream.push(null);
        },
        (error: unknown) => {
          delivering = false;
          stream.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
    },
    destroy(error, callback) {
      options.signal?.removeEventListener('abort', onAbort);
      controller.abort(error ?? undefined);
      callback(error);
    },
  });
  const onAbort = () => stream.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  return stream;
}
