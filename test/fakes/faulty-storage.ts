/**
 * A {@link StorageBackend} wrapper that injects failures per method, for testing what the use
 * cases do when storage breaks (kopia's "faulty storage", restic's wrappers): it implements the
 * same interface as what it wraps, passes every call through, and fails the calls a rule
 * matches.
 *
 * @example
 * const storage = new FaultyStorageBackend(new FileStorageBackend(dir))
 *   .failPutAfterBytes(5 * 1024 * 1024, { keys: (key) => key.includes('/data.') })
 *   .failPutOfKey((key) => key.endsWith('/manifest.json'));
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { IoOptions, ObjectInfo, StorageBackend } from '../../core/ports/storage-backend.js';
import { StorageError } from '../../core/errors.js';

export type KeyPredicate = (key: string) => boolean;
export type StorageMethod = 'put' | 'get' | 'readRange' | 'list' | 'delete';

export interface FaultOptions {
  /** Which keys (for `list`: prefixes) the fault applies to. @default every key */
  readonly keys?: KeyPredicate;
  /** The error to reject with. @default a non-retryable `StorageError` naming the key */
  readonly error?: (key: string) => Error;
  /** How many matching calls fail; later ones pass through. @default Infinity */
  readonly times?: number;
}

export interface PutAfterBytesOptions extends FaultOptions {
  /**
   * What becomes of the body once the fault fires. `'abandon'` (default) stops reading it and
   * leaves it open, like a backend whose connection dropped: the caller must tear its pipeline
   * down itself. `'destroy'` destroys it with the error, like a backend built on `pipeline()`.
   */
  readonly body?: 'abandon' | 'destroy';
}

interface Rule {
  readonly method: StorageMethod;
  readonly keys: KeyPredicate;
  readonly error: (key: string) => Error;
  remaining: number;
  /** put/get: fail after this many bytes went through; undefined: fail before any I/O. */
  readonly afterBytes?: number;
  readonly body?: 'abandon' | 'destroy';
}

/** One call that reached the wrapper, and whether a fault fired for it. */
export interface RecordedCall {
  readonly method: StorageMethod;
  readonly key: string;
  readonly failed: boolean;
}

export class FaultyStorageBackend implements StorageBackend {
  readonly location: string;
  /** Every call, in order: what the use case did to the store. */
  readonly calls: RecordedCall[] = [];
  private readonly rules: Rule[] = [];

  constructor(readonly inner: StorageBackend) {
    this.location = inner.location;
  }

  /**
   * `put` passes the first `bytes` bytes of the body on to the wrapped backend (which starts a
   * real write), then fails that write (so the wrapped backend must remove what it started)
   * and rejects with the fault's error once the wrapped backend has given up. A body shorter
   * than `bytes` is stored normally.
   */
  failPutAfterBytes(bytes: number, options: PutAfterBytesOptions = {}): this {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`failPutAfterBytes: bytes must be a non-negative integer, got ${bytes}`);
    this.rules.push({ ...ruleBase('put', options), afterBytes: bytes, body: options.body ?? 'abandon' });
    return this;
  }

  /** `put` of a matching key rejects at once, without reading the body or touching the wrapped backend. */
  failPutOfKey(keys: KeyPredicate, options: Omit<FaultOptions, 'keys'> = {}): this {
    this.rules.push(ruleBase('put', { ...options, keys }));
    return this;
  }

  /** `get` of a matching key rejects at once. */
  failGetOfKey(keys: KeyPredicate, options: Omit<FaultOptions, 'keys'> = {}): this {
    this.rules.push(ruleBase('get', { ...options, keys }));
    return this;
  }

  /** `get` resolves, but the stream errors after `bytes` bytes, as when a connection drops mid-read. */
  failGetAfterBytes(bytes: number, options: FaultOptions = {}): this {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`failGetAfterBytes: bytes must be a non-negative integer, got ${bytes}`);
    this.rules.push({ ...ruleBase('get', options), afterBytes: bytes });
    return this;
  }

  /** `readRange` of a matching key rejects at once. */
  failReadRangeOfKey(keys: KeyPredicate, options: Omit<FaultOptions, 'keys'> = {}): this {
    this.rules.push(ruleBase('readRange', { ...options, keys }));
    return this;
  }

  /** `delete` of a matching key rejects (and deletes nothing). */
  failDeleteOfKey(keys: KeyPredicate, options: Omit<FaultOptions, 'keys'> = {}): this {
    this.rules.push(ruleBase('delete', { ...options, keys }));
    return this;
  }

  /** `list` of a matching prefix rejects before yielding anything. */
  failList(options: FaultOptions = {}): this {
    this.rules.push(ruleBase('list', options));
    return this;
  }

  /** Removes every rule: the wrapper passes everything through again. */
  heal(): this {
    this.rules.length = 0;
    return this;
  }

  /** How many calls a fault fired for. */
  get faultsFired(): number {
    return this.calls.filter((call) => call.failed).length;
  }

  async put(key: string, body: Readable, options?: IoOptions): Promise<{ readonly sizeBytes: number }> {
    const rule = this.take('put', key);
    if (!rule) {
      this.calls.push({ method: 'put', key, failed: false });
      return this.inner.put(key, body, options);
    }
    if (rule.afterBytes === undefined) {
      this.calls.push({ method: 'put', key, failed: true });
      throw rule.error(key);
    }
    const error = rule.error(key);
    const limit = rule.afterBytes;
    let fired = false;
    // Not destroyed when the loop below stops: what happens to the body is the rule's choice.
    const source = body.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
    const limited = Readable.from(
      (async function* () {
        let passed = 0;
        for await (const chunk of { [Symbol.asyncIterator]: () => source }) {
          const room = limit - passed;
          if (chunk.length < room) {
            passed += chunk.length;
            yield chunk;
            continue;
          }
          if (room > 0) yield chunk.subarray(0, room);
          fired = true;
          throw error;
        }
        if (limit === 0) {
          fired = true;
          throw error;
        }
      })(),
      { objectMode: false },
    );
    try {
      const result = await this.inner.put(key, limited, options);
      this.calls.push({ method: 'put', key, failed: false });
      return result;
    } catch (innerError) {
      this.calls.push({ method: 'put', key, failed: fired });
      if (!fired) throw innerError;
      if (rule.body === 'destroy') body.destroy(error);
      throw error;
    }
  }

  async get(key: string, options?: IoOptions): Promise<Readable> {
    const rule = this.take('get', key);
    this.calls.push({ method: 'get', key, failed: Boolean(rule) });
    if (!rule) return this.inner.get(key, options);
    if (rule.afterBytes === undefined) throw rule.error(key);
    const stream = await this.inner.get(key, options);
    const cut = new CutAfter(rule.afterBytes, () => rule.error(key));
    stream.on('error', (error) => cut.destroy(error));
    cut.once('close', () => stream.destroy());
    return stream.pipe(cut);
  }

  async readRange(key: string, start: number, end: number, options?: IoOptions): Promise<Buffer> {
    const rule = this.take('readRange', key);
    this.calls.push({ method: 'readRange', key, failed: Boolean(rule) });
    if (rule) throw rule.error(key);
    return this.inner.readRange(key, start, end, options);
  }

  async *list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    const rule = this.take('list', prefix);
    this.calls.push({ method: 'list', key: prefix, failed: Boolean(rule) });
    if (rule) throw rule.error(prefix);
    yield* this.inner.list(prefix, options);
  }

  async delete(key: string, options?: IoOptions): Promise<void> {
    const rule = this.take('delete', key);
    this.calls.push({ method: 'delete', key, failed: Boolean(rule) });
    if (rule) throw rule.error(key);
    return this.inner.delete(key, options);
  }

  /** The first rule for this call that still has failures left, counted as used. */
  private take(method: StorageMethod, key: string): Rule | undefined {
    const rule = this.rules.find((r) => r.method === method && r.remaining > 0 && r.keys(key));
    if (rule) rule.remaining--;
    return rule;
  }
}

function ruleBase(method: StorageMethod, options: FaultOptions): Rule {
  return {
    method,
    keys: options.keys ?? (() => true),
    error: options.error ?? ((key) => new StorageError(`injected ${method} fault for ${key}`, false)),
    remaining: options.times ?? Number.POSITIVE_INFINITY,
  };
}

/** Passes `limit` bytes on, then errors. */
class CutAfter extends Transform {
  private passed = 0;

  constructor(
    private readonly limit: number,
    private readonly error: () => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const room = this.limit - this.passed;
    if (chunk.length < room) {
      this.passed += chunk.length;
      callback(null, chunk);
      return;
    }
    if (room > 0) this.push(chunk.subarray(0, room));
    this.passed = this.limit;
    callback(this.error());
  }
}
