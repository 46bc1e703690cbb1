/**
 * A {@link StorageBackend} that keeps objects in memory, for use-case tests that need a store
 * without a disk. Same contract as the real backends: `put` is atomic (an object becomes
 * visible only once its body has been read to the end), a failed or aborted `put` leaves
 * nothing behind, `get` of a missing key rejects with `NotFoundError`, `delete` is idempotent.
 */
import { Readable } from 'node:stream';
import type { IoOptions, ObjectInfo, StorageBackend } from '../../core/ports/storage-backend.js';
import { AbortedError, ConfigError, NotFoundError, StorageError } from '../../core/errors.js';

export class MemoryStorageBackend implements StorageBackend {
  readonly location: string;
  private readonly objects = new Map<string, Buffer>();
  /** Keys whose `put` has started and not yet finished: what a crash would leave half-written. */
  private readonly writing = new Set<string>();

  constructor(name = 'memory') {
    this.location = `memory://${name}`;
  }

  async put(key: string, body: Readable, options: IoOptions = {}): Promise<{ sizeBytes: number }> {
    checkKey(key);
    const chunks: Buffer[] = [];
    this.writing.add(key);
    try {
      options.signal?.throwIfAborted();
      const onAbort = () => body.destroy(new AbortedError(`writing ${key} was cancelled`));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const chunk of body) {
          chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
          // A body that always has data ready would keep this loop in microtasks forever, so
          // timers (and with them aborts) could never fire: a real store waits on I/O here.
          if (chunks.length % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
      options.signal?.throwIfAborted();
    } catch (error) {
      // Ours (or an upstream stage's) and aborts pass through, as FileStorageBackend does.
      if (error instanceof Error && ('kind' in error || error.name === 'AbortError')) throw error;
      throw new StorageError(`writing ${key} to ${this.location} failed: ${(error as Error).message}`, false, { cause: error });
    } finally {
      this.writing.delete(key);
    }
    // Only here, with every byte read, does the object appear (replacing any older one whole).
    const data = Buffer.concat(chunks);
    this.objects.set(key, data);
    return { sizeBytes: data.length };
  }

  async get(key: string, options: IoOptions = {}): Promise<Readable> {
    checkKey(key);
    options.signal?.throwIfAborted();
    const data = this.objects.get(key);
    if (!data) throw new NotFoundError(`no object ${key} in ${this.location}`);
    // Hand out a copy in 64 KiB pieces, so readers see several chunks like from a real store.
    const pieces: Buffer[] = [];
    for (let at = 0; at < data.length; at += 64 * 1024) pieces.push(Buffer.from(data.subarray(at, at + 64 * 1024)));
    return Readable.from(pieces, { objectMode: false });
  }

  async readRange(key: string, start: number, end: number, options: IoOptions = {}): Promise<Buffer> {
    checkKey(key);
    options.signal?.throwIfAborted();
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) throw new RangeError(`invalid byte range ${start}-${end} of ${key}`);
    const data = this.objects.get(key);
    if (!data) throw new NotFoundError(`no object ${key} in ${this.location}`);
    if (data.length < end) throw new StorageError(`reading bytes ${start}-${end - 1} of ${key} failed: the object ends before byte ${end}`, false);
    return Buffer.from(data.subarray(start, end));
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    options.signal?.throwIfAborted();
    for (const [key, data] of [...this.objects]) {
      if (key.startsWith(prefix)) yield { key, sizeBytes: data.length };
    }
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    checkKey(key);
    options.signal?.throwIfAborted();
    this.objects.delete(key);
  }

  /** Test helpers: every stored key (sorted), a stored object's bytes, and keys still being written. */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  bytesOf(key: string): Buffer | undefined {
    const data = this.objects.get(key);
    return data && Buffer.from(data);
  }

  inProgress(): string[] {
    return [...this.writing].sort();
  }
}

function checkKey(key: string): void {
  if (!key || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new ConfigError(`object key ${JSON.stringify(key)} is not a plain relative path`);
  }
}
