import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { IntegrityError } from '../../../errors.js';
import { ByteQueue } from './byte-queue.js';
import { hkdfSha256, TAG_BYTES } from './primitives.js';

/**
 * The age payload (age v1, "Payload"): a 16-byte random nonce, then the plaintext in 64 KiB
 * chunks, each sealed with ChaCha20-Poly1305 under payloadKey = HKDF-SHA256(fileKey, nonce,
 * "payload") and the 12-byte nonce `11-byte big-endian chunk counter || last-chunk flag`.
 * The last chunk carries flag 0x01; it is empty only when the whole payload is empty.
 *
 * Both directions hold back one chunk until they know whether more data follows, because the
 * last-chunk flag is part of the nonce. Chunks are fed to OpenSSL as views of the buffers the
 * stream received; nothing walks the bytes in JavaScript.
 */
export const PAYLOAD_NONCE_BYTES = 16;
export const CHUNK_BYTES = 64 * 1024;
const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;
const CIPHER = 'chacha20-poly1305';
const CIPHER_OPTIONS = { authTagLength: TAG_BYTES } as const;

type Push = (bytes: Buffer) => void;

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return hkdfSha256(fileKey, nonce, 'payload');
}

/** The 12-byte STREAM nonce of one chunk, rewritten in place for each chunk. */
class ChunkNonce {
  readonly bytes = Buffer.alloc(12);
  private counter = 0;

  get index(): number {
    return this.counter;
  }

  /** The nonce for the current chunk; then moves on to the next one. */
  next(last: boolean): Buffer {
    // 2^48 chunks of 64 KiB is 16 EiB: six counter bytes are all a number can ever need.
    this.bytes.writeUIntBE(this.counter, 5, 6);
    this.bytes[11] = last ? 1 : 0;
    this.counter++;
    return this.bytes;
  }
}

export class PayloadEncryptor {
  private readonly key: Buffer;
  private readonly nonce = new ChunkNonce();
  private readonly pending = new ByteQueue();
  private started = false;
  private finished = false;

  constructor(
    fileKey: Uint8Array,
    private readonly push: Push,
    private readonly payloadNonce: Buffer = randomBytes(PAYLOAD_NONCE_BYTES),
  ) {
    this.key = payloadKey(fileKey, payloadNonce);
  }

  /** The payload nonce; pass it on before the first `write`'s output. */
  start(): Buffer {
    this.started = true;
    return this.payloadNonce;
  }

  write(plaintext: Buffer): void {
    if (!this.started) this.push(this.start());
    this.pending.push(plaintext);
    // A full chunk is known not to be the last only once a byte after it has arrived.
    while (this.pending.length > CHUNK_BYTES) this.seal(this.pending.take(CHUNK_BYTES), false);
  }

  end(): void {
    if (this.finished) return;
    if (!this.started) this.push(this.start());
    this.finished = true;
    // Never empty unless the whole payload is: write() always leaves 1..64 KiB behind.
    this.seal(this.pending.take(this.pending.length), true);
  }

  private seal(pieces: Buffer[], last: boolean): void {
    const cipher = createCipheriv(CIPHER, this.key, this.nonce.next(last), CIPHER_OPTIONS);
    const out: Buffer[] = [];
    let length = TAG_BYTES;
    for (const piece of pieces) {
      const sealed = cipher.update(piece);
      out.push(sealed);
      length += sealed.length;
    }
    cipher.final();
    out.push(cipher.getAuthTag());
    // One buffer per sealed chunk: pushing the 16-byte tag on its own measured ~30% slower end
    // to end, because every downstream stage (hashing, file and upload writes) pays per chunk.
    this.push(Buffer.concat(out, length));
  }
}

export class PayloadDecryptor {
  private key: Buffer | undefined;
  private readonly nonce = new ChunkNonce();
  private readonly pending = new ByteQueue();

  constructor(
    private readonly fileKey: Uint8Array,
    private readonly push: Push,
  ) {}

  write(bytes: Buffer): void {
    this.pending.push(bytes);
    if (this.key === undefined) {
      if (this.pending.length < PAYLOAD_NONCE_BYTES) return;
      this.key = payloadKey(this.fileKey, this.pending.takeContiguous(PAYLOAD_NONCE_BYTES));
    }
    // Hold back the last full chunk until a byte after it proves it is not the final one.
    while (this.pending.length > SEALED_CHUNK_BYTES) this.open(SEALED_CHUNK_BYTES, false);
  }

  end(): void {
    const remaining = this.pending.length;
    if (this.key === undefined || remaining < TAG_BYTES) throw truncated();
    // An empty final chunk is only valid as the sole chunk of an empty payload.
    if (remaining === TAG_BYTES && this.nonce.index > 0) throw altered();
    this.open(remaining, true);
  }

  private open(sealedLength: number, last: boolean): void {
    const key = this.key as Buffer;
    const decipher = createDecipheriv(CIPHER, key, this.nonce.next(last), CIPHER_OPTIONS);
    const pieces = this.pending.take(sealedLength - TAG_BYTES);
    decipher.setAuthTag(this.pending.takeContiguous(TAG_BYTES));
    const out: Buffer[] = [];
    let length = 0;
    for (const piece of pieces) {
      const opened = decipher.update(piece);
      out.push(opened);
      length += opened.length;
    }
    try {
      decipher.final();
    } catch {
      throw altered();
    }
    // Only authenticated plaintext leaves: everything above ran before anything was pushed.
    if (length > 0) this.push(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, length));
  }
}

function altered(): IntegrityError {
  return new IntegrityError('age payload failed authentication: the backup object was altered or truncated');
}

function truncated(): IntegrityError {
  return new IntegrityError('age payload is truncated: the backup object ends before its last chunk');
}
