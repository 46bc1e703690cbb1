/**
 * A download as a Readable that fetches several byte ranges at once and emits them strictly in
 * order. Memory is bounded: at most `concurrency` ranges are fetched or waiting, plus what the
 * consumer has not read yet (the stream stops scheduling while `push()` says it is full).
 * Store-neutral: the adapter supplies `fetchRange` (with its own retries and consistency checks,
 * such as S3's If-Match on the ETag seen first).
 */
import { Readable } from 'node:stream';

export interface ParallelRangeReaderOptions {
  readonly sizeBytes: number;
  /** Bytes per range request; the last range is shorter. */
  readonly rangeBytes: number;
  /** Ranges fetched at once. */
  readonly concurrency: number;
  /**
   * Returns exactly the bytes `[start, end)`: one buffer, or better the chunks as they arrived
   * (copying them into one buffer doubles the garbage per byte, which shows in peak RSS).
   * `signal` aborts when the stream is destroyed. A rejection destroys the stream with that
   * error at once, even if earlier ranges are unread.
   */
  readonly fetchRange: (start: number, end: number, signal: AbortSignal) => Promise<Buffer | readonly Buffer[]>;
  /** Sees every byte in order, before it is emitted; throwing destroys the stream with that error. */
  readonly inspect?: (chunk: Buffer) => void;
  /** Runs after the last byte, before end-of-stream; throwing destroys the stream instead of ending it. */
  readonly finish?: () => void;
}

/** The stream's own buffer: a paused consumer holds at most this much beyond the window. */
const HIGH_WATER_MARK_BYTES = 1024 * 1024;

interface Pending {
  chunks?: readonly Buffer[];
  done: boolean;
}

export class ParallelRangeReader extends Readable {
  private readonly options: ParallelRangeReaderOptions;
  private readonly controller = new AbortController();
  private readonly window: Pending[] = [];
  private nextStart = 0;
  private wanted = false;
  private pumping = false;
  private pumpAgain = false;
  private ended = false;

  constructor(options: ParallelRangeReaderOptions) {
    super({ highWaterMark: Math.min(HIGH_WATER_MARK_BYTES, options.rangeBytes) });
    if (!(options.rangeBytes > 0) || !(options.concurrency >= 1)) throw new RangeError('rangeBytes and concurrency must be positive');
    this.options = options;
  }

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.controller.abort();
    this.window.length = 0;
    callback(error);
  }

  private schedule(): void {
    const { sizeBytes, rangeBytes, concurrency } = this.options;
    while (this.window.length < concurrency && this.nextStart < sizeBytes) {
      const start = this.nextStart;
      const end = Math.min(sizeBytes, start + rangeBytes);
      this.nextStart = end;
      const pending: Pending = { done: false };
      this.window.push(pending);
      this.options.fetchRange(start, end, this.controller.signal).then(
        (value) => {
          const chunks = Buffer.isBuffer(value) ? [value] : value;
          const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
          if (length !== end - start) {
            this.destroy(new Error(`range ${start}-${end - 1} returned ${length} bytes, expected ${end - start}`));
            return;
          }
          pending.chunks = chunks;
          pending.done = true;
          if (this.window[0] === pending) this.pump();
        },
        (error: unknown) => {
          if (!this.destroyed) this.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
    }
  }

  private pump(): void {
    // push() can call back into _read synchronously: loop instead of recursing.
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.emitReady();
      } while (this.pumpAgain && !this.destroyed);
    } finally {
      this.pumping = false;
    }
  }

  private emitReady(): void {
    if (this.destroyed) return;
    this.schedule();
    while (this.wanted && this.window[0]?.done) {
      const chunks = this.window.shift()!.chunks!;
      try {
        for (const chunk of chunks) this.options.inspect?.(chunk);
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      for (const chunk of chunks) {
        if (!this.push(chunk)) this.wanted = false;
      }
      this.schedule();
    }
    if (this.window.length === 0 && this.nextStart >= this.options.sizeBytes && !this.ended) {
      this.ended = true;
      try {
        this.options.finish?.();
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      this.push(null);
    }
  }
}
