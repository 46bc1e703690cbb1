import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../errors.js';

/**
 * What each tap may hold on either side. Taps only look at bytes on their way: the tools and
 * storage around them keep their own buffers, so a few chunks of slack are enough, and every
 * MiB more here was a MiB more of peak memory whenever the consumer (pg_restore, an upload) is
 * the slow end.
 */
const TAP_BUFFER_BYTES = 256 * 1024;

/** Counts bytes passing through. Passes chunks on untouched: no copy on the hot path. */
export class ByteCounter extends Transform {
  bytes = 0;

  constructor() {
    super({ highWaterMark: TAP_BUFFER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** Counts and SHA-256-hashes the bytes passing through (what is stored). */
export class Sha256Tap extends ByteCounter {
  private readonly hash = createHash('sha256');
  private digest: string | undefined;

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    super._transform(chunk, encoding, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    callback();
  }

  /** Hex SHA-256 of everything that passed; only after the stream ended. */
  get sha256(): string {
    if (!this.digest) throw new Error('Sha256Tap: the stream has not ended yet');
    return this.digest;
  }
}

/**
 * Hashes bytes read back from storage and fails at the end, before signalling end-of-stream
 * downstream, when they are not the bytes the manifest promised. Downstream stages therefore
 * never see a clean end of a corrupted object.
 */
export class Sha256Verifier extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;

  constructor(
    private readonly expected: { sha256: string; sizeBytes: number; name: string },
    private readonly onBytes?: (bytes: number) => void,
  ) {
    super({ highWaterMark: TAP_BUFFER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected.sizeBytes) {
      return callback(new IntegrityError(`${this.expected.name} is longer than the manifest says (${this.expected.sizeBytes} bytes): the stored object was altered`));
    }
    this.hash.update(chunk);
    this.onBytes?.(this.bytes);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expected.sizeBytes) {
      return callback(new IntegrityError(`${this.expected.name} is ${this.bytes} bytes, the manifest says ${this.expected.sizeBytes}: the stored object was truncated or altered`));
    }
    const actual = this.hash.digest('hex');
    if (actual !== this.expected.sha256) {
      return callback(new IntegrityError(`${this.expected.name} fails its SHA-256 check (expected ${this.expected.sha256.slice(0, 12)}…, got ${actual.slice(0, 12)}…): the stored object was altered`));
    }
    callback();
  }
}

/**
 * Counts the bytes passing through and fails, before signalling end-of-stream downstream, when
 * they are not exactly `expectedBytes`: what a manifest's `plaintextBytes` promises of the
 * decompressed dump. `describe` says what was counted, for the error.
 */
export class ExactSizeVerifier extends ByteCounter {
  constructor(
    private readonly expectedBytes: number,
    private readonly describe: (problem: string) => string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.bytes + chunk.length > this.expectedBytes) {
      return callback(new IntegrityError(this.describe(`is longer than the ${this.expectedBytes} bytes`)));
    }
    super._transform(chunk, encoding, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expectedBytes) return callback(new IntegrityError(this.describe(`is ${this.bytes} bytes, not the ${this.expectedBytes}`)));
    callback();
  }
}

/**
 * Passes bytes on untouched and shows the first `length` of them (fewer if the stream is
 * shorter) to `check`, which returns the error to fail with, if any: a cheap look at a format's
 * magic number before a stage that would fail later, or less clearly.
 */
export class LeadingBytesCheck extends Transform {
  private head = Buffer.alloc(0);
  private checked = false;

  constructor(
    private readonly length: number,
    private readonly check: (head: Buffer) => Error | undefined,
  ) {
    super({ highWaterMark: TAP_BUFFER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.checked) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, this.length - this.head.length)]);
      if (this.head.length === this.length) {
        const error = this.runCheck();
        if (error) return callback(error);
      }
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.checked ? null : this.runCheck());
  }

  private runCheck(): Error | undefined {
    this.checked = true;
    return this.check(this.head);
  }
}
