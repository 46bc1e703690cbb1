/**
 * Random-access reads of age v1 files (docs/chunked-snapshots.md, "Reading a chunk"): the header is
 * opened once, then any plaintext range is decrypted from just the 64 KiB segments holding it, each
 * authenticated on its own. Segment `i` is sealed under the nonce `11-byte big-endian i || flag`,
 * the flag being 1 only for the file's last segment, which the file's stored size tells.
 */
import { createDecipheriv } from 'node:crypto';
import { ConfigError, IntegrityError } from '../../errors.js';
import type { EncryptionFormat, HeaderLength, RandomAccessDecryptor, RandomAccessFile, RecipientDescription } from '../../ports/encryptor.js';
import { MAX_HEADER_BYTES, prepareIdentities, unwrapFileKey, type AgeIdentity, type PreparedIdentity } from './age/age-stream.js';
import { ExpectedRecipients } from './age/expected-recipients.js';
import { couldBeHeaderStart, findHeaderEnd, INTRO, notAnAgeFileError } from './age/header.js';
import { TAG_BYTES } from './age/primitives.js';
import { CHUNK_BYTES, PAYLOAD_NONCE_BYTES, payloadKey } from './age/stream-cipher.js';

const SEGMENT_BYTES = CHUNK_BYTES;
const SEALED_SEGMENT_BYTES = SEGMENT_BYTES + TAG_BYTES;
const AGE_INTRO = Buffer.from(INTRO, 'latin1');

/**
 * Where the age header ends in the first bytes of an age file (just past the MAC line's newline),
 * or `undefined` when `prefix` does not hold all of it. The payload nonce follows the header and is
 * not part of it. For pinning a pack's header (`headerSha256`) as it is written.
 */
export const ageHeaderLength: HeaderLength = (prefix) => {
  const end = findHeaderEnd(prefix);
  return end === -1 ? undefined : end;
};

/**
 * Opens age (and plain) files for ranged reads, from the same identities `AgeDecryptor` takes, so a
 * restore builds both from one list (`runner/keys.ts`). Identities live in a private field: never
 * logged nor serialized.
 */
export class AgeRandomAccessDecryptor implements RandomAccessDecryptor {
  /** Headers with a handful of recipients are a few hundred bytes; `openFile` asks for more when they are not. */
  readonly headerProbeBytes = 4096;
  readonly #identities: readonly PreparedIdentity[];

  /** Throws `KeyError` for a malformed identity. No identities is allowed: it still reads `none`. */
  constructor(identities: readonly AgeIdentity[]) {
    this.#identities = prepareIdentities(identities);
  }

  async openFile(format: EncryptionFormat, prefix: Buffer, recipients?: readonly RecipientDescription[], signal?: AbortSignal): Promise<RandomAccessFile> {
    switch (format) {
      case 'age-v1':
        return this.#openAge(prefix, recipients, signal);
      case 'none':
        return openPlainFile(prefix);
      default:
        throw new ConfigError(`unsupported encryption format "${String(format)}": this version of Vaultra reads age-v1 and none`);
    }
  }

  async #openAge(prefix: Buffer, recipients: readonly RecipientDescription[] | undefined, signal: AbortSignal | undefined): Promise<RandomAccessFile> {
    if (!couldBeHeaderStart(prefix)) throw notAnAgeFileError(prefix);
    const headerBytes = ageHeaderLength(prefix);
    if (headerBytes === undefined) {
      if (prefix.length >= MAX_HEADER_BYTES) throw new IntegrityError(`invalid age header: no MAC line in the first ${MAX_HEADER_BYTES / 1024} KiB: the object is damaged or not an age file`);
      throw new RangeError(`the first ${prefix.length} bytes do not hold the whole age header: fetch more`);
    }
    if (prefix.length < headerBytes + PAYLOAD_NONCE_BYTES) throw new RangeError(`the first ${prefix.length} bytes do not hold the payload nonce after the age header: fetch more`);
    const header = Buffer.from(prefix.subarray(0, headerBytes));
    const fileKey = await unwrapFileKey(this.#identities, recipients && new ExpectedRecipients(recipients), header, signal ?? new AbortController().signal);
    const key = payloadKey(fileKey, prefix.subarray(headerBytes, headerBytes + PAYLOAD_NONCE_BYTES));
    return new AgeRandomAccessFile(header, key);
  }
}

/** An opened age file: its header and payload key; ranges are located from the stored size alone. */
class AgeRandomAccessFile implements RandomAccessFile {
  readonly #payloadKey: Buffer;
  readonly #payloadStart: number;

  constructor(
    readonly header: Buffer,
    payloadKey: Buffer,
  ) {
    this.#payloadKey = payloadKey;
    this.#payloadStart = header.length + PAYLOAD_NONCE_BYTES;
  }

  cipherRange(from: number, to: number, fileBytes: number): { start: number; end: number; plaintextStart: number } {
    const { plaintextBytes } = this.#layout(fileBytes);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) throw new RangeError(`invalid plaintext range ${from}-${to}`);
    if (to > plaintextBytes) throw new IntegrityError(`plaintext bytes ${from}-${to} lie past the end of an age file of ${plaintextBytes} plaintext bytes: the index or the file was altered`);
    if (from === to) return { start: this.#payloadStart, end: this.#payloadStart, plaintextStart: from };
    const first = Math.floor(from / SEGMENT_BYTES);
    const last = Math.floor((to - 1) / SEGMENT_BYTES);
    return {
      start: this.#payloadStart + first * SEALED_SEGMENT_BYTES,
      end: Math.min(fileBytes, this.#payloadStart + (last + 1) * SEALED_SEGMENT_BYTES),
      plaintextStart: first * SEGMENT_BYTES,
    };
  }

  decryptRange(range: { readonly start: number; readonly end: number }, stored: Buffer, fileBytes: number): Buffer {
    const { segments } = this.#layout(fileBytes);
    const offset = range.start - this.#payloadStart;
    if (offset < 0 || offset % SEALED_SEGMENT_BYTES !== 0 || range.end > fileBytes || range.end < range.start) throw new RangeError(`stored range ${range.start}-${range.end} is not one cipherRange gave`);
    if (stored.length !== range.end - range.start) throw new RangeError(`stored range ${range.start}-${range.end} is ${range.end - range.start} bytes, ${stored.length} were given`);
    const opened: Buffer[] = [];
    let index = offset / SEALED_SEGMENT_BYTES;
    for (let at = 0; at < stored.length; at += SEALED_SEGMENT_BYTES, index++) {
      const sealed = stored.subarray(at, Math.min(stored.length, at + SEALED_SEGMENT_BYTES));
      const isLast = index === segments - 1;
      // Only the file's last segment may be short: a short one elsewhere is a range that ends mid-segment.
      if (sealed.length < TAG_BYTES || (!isLast && sealed.length !== SEALED_SEGMENT_BYTES)) throw new RangeError(`stored range ${range.start}-${range.end} does not end on a segment boundary`);
      opened.push(openSegment(this.#payloadKey, index, isLast, sealed));
    }
    return opened.length === 1 ? opened[0]! : Buffer.concat(opened);
  }

  /** How many segments the payload of a `fileBytes` file has and what plaintext they hold; `IntegrityError` for a size no age file has. */
  #layout(fileBytes: number): { segments: number; plaintextBytes: number } {
    const payloadBytes = fileBytes - this.#payloadStart;
    if (!Number.isSafeInteger(fileBytes) || payloadBytes < TAG_BYTES) throw new IntegrityError(`an age file of ${fileBytes} bytes ends before its first segment: it was truncated`);
    const segments = Math.ceil(payloadBytes / SEALED_SEGMENT_BYTES);
    const lastSealed = payloadBytes - (segments - 1) * SEALED_SEGMENT_BYTES;
    // The last segment holds 1..64 KiB, and is empty only when it is the only one (an empty plaintext).
    if (lastSealed < TAG_BYTES || (lastSealed === TAG_BYTES && segments > 1)) throw new IntegrityError(`an age file of ${fileBytes} bytes cannot end where it does: it was truncated or extended`);
    return { segments, plaintextBytes: payloadBytes - segments * TAG_BYTES };
  }
}

/** The 12-byte STREAM nonce of segment `index` (age v1, "Payload"). */
function segmentNonce(index: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  // 2^48 segments of 64 KiB is 16 EiB: six counter bytes are all a number can ever need.
  nonce.writeUIntBE(index, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** One segment's plaintext, only once its tag authenticates it. */
function openSegment(key: Buffer, index: number, last: boolean, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('chacha20-poly1305', key, segmentNonce(index, last), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    throw new IntegrityError(`age segment ${index} failed authentication: the object was altered or truncated`);
  }
  return plaintext;
}

/** A file stored as its plaintext (`encryption: none`): no header, ranges are themselves. */
function openPlainFile(prefix: Buffer): RandomAccessFile {
  // Plain data that is an age file means the manifest's format was changed (as `AgeDecryptor` checks).
  if (prefix.length >= AGE_INTRO.length && prefix.subarray(0, AGE_INTRO.length).equals(AGE_INTRO)) {
    throw new IntegrityError('the object is age-encrypted, but its manifest says it is not encrypted: the manifest was altered');
  }
  return {
    header: Buffer.alloc(0),
    cipherRange(from, to, fileBytes) {
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) throw new RangeError(`invalid plaintext range ${from}-${to}`);
      if (to > fileBytes) throw new IntegrityError(`bytes ${from}-${to} lie past the end of a file of ${fileBytes} bytes: the index or the file was altered`);
      return { start: from, end: to, plaintextStart: from };
    },
    decryptRange(range, stored) {
      if (stored.length !== range.end - range.start) throw new RangeError(`stored range ${range.start}-${range.end} is ${range.end - range.start} bytes, ${stored.length} were given`);
      return stored;
    },
  };
}
