import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ConfigError, IntegrityError, KeyError } from '../../../errors.js';
import { decodeIdentity, decodeRecipient } from './bech32-keys.js';
import { couldBeHeaderStart, encodeHeader, findHeaderEnd, headerMacMatches, notAnAgeFileError, parseHeader, type ParsedHeader, type Stanza } from './header.js';
import { FILE_KEY_BYTES } from './primitives.js';
import type { KeyService, KeyServiceId } from '../../../ports/key-service.js';
import { checkKmsKeyId, KMS_STANZA_TYPE, kmsStanzaTarget, unwrapKms, wrapKms, type KmsStanzaTarget } from './kms-stanza.js';
import {
  checkPassphrase,
  checkScryptWorkFactor,
  DEFAULT_MAX_SCRYPT_WORK_FACTOR,
  DEFAULT_SCRYPT_WORK_FACTOR,
  SCRYPT_STANZA_TYPE,
  unwrapScrypt,
  wrapScrypt,
} from './scrypt-stanza.js';
import { PayloadDecryptor, PayloadEncryptor } from './stream-cipher.js';
import { ExpectedRecipients } from './expected-recipients.js';
import type { RecipientDescription } from '../../../ports/encryptor.js';
import { unwrapX25519, wrapX25519, x25519IdentityKey, X25519_STANZA_TYPE, type X25519IdentityKey } from './x25519-stanza.js';

/**
 * age v1 (https://age-encryption.org/v1) as Node streams: the encrypting stage writes a complete
 * age file (header, payload nonce, STREAM payload) that `age -d` decrypts, and the decrypting
 * stage reads any age v1 file with X25519 or scrypt recipients. Plugin, ML-KEM and armored files
 * are not supported. Vaultra adds one stanza of its own, `vaultra-kms` (see kms-stanza.ts): the
 * file key wrapped by a cloud key service, which `age` skips as an unknown stanza.
 */
export type AgeRecipient =
  | { kind: 'x25519'; recipient: string }
  | { kind: 'scrypt'; passphrase: string; workFactor?: number }
  /** The file key wrapped by `keyService` under `keyId` (a network call when the first chunk arrives). */
  | { kind: 'kms'; keyService: KeyService; keyId: string };

export type AgeIdentity =
  | { kind: 'x25519'; identity: string }
  | { kind: 'scrypt'; passphrase: string; maxWorkFactor?: number }
  /**
   * Permission to unwrap `vaultra-kms` stanzas through the key services in `allowed` (each
   * stanza names its service and key), asked only when no other identity opens the file.
   */
  | { kind: 'kms'; allowed: readonly KeyServiceId[]; keyServiceFor: (id: KeyServiceId) => Promise<KeyService> };

/** The largest header the decrypting stage buffers: about 500 X25519 recipients. */
export const MAX_HEADER_BYTES = 64 * 1024;

const STREAM_OPTIONS = { readableHighWaterMark: 256 * 1024, writableHighWaterMark: 64 * 1024 } as const;

type PreparedRecipient =
  | { kind: 'x25519'; publicKey: Buffer }
  | { kind: 'scrypt'; passphrase: string; workFactor: number }
  | { kind: 'kms'; keyService: KeyService; keyId: string };

export type PreparedIdentity =
  | { kind: 'x25519'; key: X25519IdentityKey }
  | { kind: 'scrypt'; passphrase: string; maxWorkFactor: number }
  | { kind: 'kms'; allowed: ReadonlySet<KeyServiceId>; keyServiceFor: (id: KeyServiceId) => Promise<KeyService> };

/**
 * Checks recipients the way encryption will use them, so a bad key fails before any data flows:
 * `KeyError` for a malformed recipient, `ConfigError` for an unusable combination.
 */
export function prepareRecipients(recipients: readonly AgeRecipient[]): PreparedRecipient[] {
  if (recipients.length === 0) throw new ConfigError('age encryption needs at least one recipient or a passphrase');
  if (recipients.length > 1 && recipients.some((r) => r.kind === 'scrypt')) {
    throw new ConfigError('an age passphrase cannot be combined with other recipients or passphrases: use one or the other');
  }
  return recipients.map((recipient): PreparedRecipient => {
    switch (recipient.kind) {
      case 'x25519':
        return { kind: 'x25519', publicKey: decodeRecipient(recipient.recipient) };
      case 'scrypt': {
        checkPassphrase(recipient.passphrase);
        const workFactor = recipient.workFactor ?? DEFAULT_SCRYPT_WORK_FACTOR;
        checkScryptWorkFactor(workFactor);
        return { kind: 'scrypt', passphrase: recipient.passphrase, workFactor };
      }
      case 'kms':
        checkKmsKeyId(recipient.keyService.id, recipient.keyId);
        return { kind: 'kms', keyService: recipient.keyService, keyId: recipient.keyId };
      default:
        throw new ConfigError(`unknown age recipient kind "${String((recipient as { kind: unknown }).kind)}"`);
    }
  });
}

/** Checks identities up front: `KeyError` for a malformed identity. */
export function prepareIdentities(identities: readonly AgeIdentity[]): PreparedIdentity[] {
  return identities.map((identity): PreparedIdentity => {
    switch (identity.kind) {
      case 'x25519':
        return { kind: 'x25519', key: x25519IdentityKey(decodeIdentity(identity.identity)) };
      case 'scrypt': {
        const maxWorkFactor = identity.maxWorkFactor ?? DEFAULT_MAX_SCRYPT_WORK_FACTOR;
        if (!Number.isInteger(maxWorkFactor) || maxWorkFactor < 1) throw new ConfigError(`invalid maximum scrypt work factor ${maxWorkFactor}`);
        return { kind: 'scrypt', passphrase: identity.passphrase, maxWorkFactor };
      }
      case 'kms':
        return { kind: 'kms', allowed: new Set(identity.allowed), keyServiceFor: identity.keyServiceFor };
      default:
        throw new ConfigError(`unknown age identity kind "${String((identity as { kind: unknown }).kind)}"`);
    }
  });
}

/** Plaintext in, a complete age v1 file out. */
export function createAgeEncryptStream(recipients: readonly AgeRecipient[]): Transform {
  return new AgeEncryptStream(prepareRecipients(recipients));
}

/**
 * An age v1 file in, its authenticated plaintext out (see `Decryptor.decrypt` for the
 * guarantees). With `expected`, the header must hold exactly those recipients (IntegrityError).
 */
export function createAgeDecryptStream(identities: readonly AgeIdentity[], expected?: readonly RecipientDescription[]): Transform {
  return new AgeDecryptStream(prepareIdentities(identities), expected && new ExpectedRecipients(expected));
}

class AgeEncryptStream extends Transform {
  readonly #recipients: readonly PreparedRecipient[];
  /** Cancels a key-service call still running when the stream is destroyed. */
  readonly #abort = new AbortController();
  #payload: PayloadEncryptor | undefined;

  constructor(recipients: readonly PreparedRecipient[]) {
    super(STREAM_OPTIONS);
    this.#recipients = recipients;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const payload = this.#payload;
    if (payload !== undefined) {
      settle(() => payload.write(chunk), callback);
      return;
    }
    settle(async () => (await this.#start()).write(chunk), callback);
  }

  override _flush(callback: TransformCallback): void {
    const payload = this.#payload;
    if (payload !== undefined) {
      settle(() => payload.end(), callback);
      return;
    }
    settle(async () => (await this.#start()).end(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#abort.abort();
    callback(error);
  }

  /**
   * Wraps a fresh file key to every recipient and writes the header and payload nonce. Runs once,
   * on the first chunk (or at the end of an empty input); key-service calls happen here, awaited
   * before any byte is pushed, and never again for this file.
   */
  async #start(): Promise<PayloadEncryptor> {
    const fileKey = randomBytes(FILE_KEY_BYTES);
    const stanzas = await Promise.all(
      this.#recipients.map((recipient): Stanza | Promise<Stanza> => {
        switch (recipient.kind) {
          case 'x25519':
            return wrapX25519(fileKey, recipient.publicKey);
          case 'scrypt':
            return wrapScrypt(fileKey, recipient.passphrase, recipient.workFactor);
          case 'kms':
            return wrapKms(fileKey, recipient.keyService, recipient.keyId, this.#abort.signal);
        }
      }),
    );
    const payload = new PayloadEncryptor(fileKey, (bytes) => this.push(bytes));
    this.push(Buffer.concat([encodeHeader(stanzas, fileKey), payload.start()]));
    this.#payload = payload;
    return payload;
  }
}

class AgeDecryptStream extends Transform {
  readonly #identities: readonly PreparedIdentity[];
  readonly #expected: ExpectedRecipients | undefined;
  /** Cancels a key-service call still running when the stream is destroyed. */
  readonly #abort = new AbortController();
  /** The header being collected: at most MAX_HEADER_BYTES, then dropped. */
  #header: Buffer | undefined = Buffer.allocUnsafe(MAX_HEADER_BYTES);
  #headerLength = 0;
  #payload: PayloadDecryptor | undefined;

  constructor(identities: readonly PreparedIdentity[], expected: ExpectedRecipients | undefined) {
    super(STREAM_OPTIONS);
    this.#identities = identities;
    this.#expected = expected;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const payload = this.#payload;
    if (payload !== undefined) {
      settle(() => payload.write(chunk), callback);
      return;
    }
    settle(() => {
      const collected = this.#collectHeader(chunk);
      return collected === undefined ? undefined : this.#startPayload(collected.header, collected.rest);
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#abort.abort();
    callback(error);
  }

  override _flush(callback: TransformCallback): void {
    settle(() => {
      if (this.#payload === undefined) {
        throw this.#headerLength === 0 ? new IntegrityError('the age file is empty: the backup object was truncated') : truncatedHeader();
      }
      this.#payload.end();
    }, callback);
  }

  async #startPayload(header: Buffer, rest: Buffer): Promise<void> {
    const payload = new PayloadDecryptor(await this.#open(header), (bytes) => this.push(bytes));
    this.#payload = payload;
    payload.write(rest);
  }

  /** Adds `chunk` to the header; once the header is complete, the header and the bytes after it. */
  #collectHeader(chunk: Buffer): { header: Buffer; rest: Buffer } | undefined {
    const buffer = this.#header as Buffer;
    const copied = chunk.copy(buffer, this.#headerLength, 0, Math.min(chunk.length, MAX_HEADER_BYTES - this.#headerLength));
    this.#headerLength += copied;
    const collected = buffer.subarray(0, this.#headerLength);
    if (!couldBeHeaderStart(collected)) throw notAnAgeFileError(collected);
    const headerEnd = findHeaderEnd(collected);
    if (headerEnd === -1) {
      if (this.#headerLength === MAX_HEADER_BYTES) {
        throw new IntegrityError(`invalid age header: no MAC line in the first ${MAX_HEADER_BYTES / 1024} KiB: the backup object is damaged or not an age file`);
      }
      return undefined;
    }
    // The header is copied out so the 64 KiB collection buffer can be released.
    const header = Buffer.from(collected.subarray(0, headerEnd));
    const rest = Buffer.concat([collected.subarray(headerEnd), chunk.subarray(copied)]);
    this.#header = undefined;
    return { header, rest };
  }

  async #open(headerBytes: Buffer): Promise<Buffer> {
    return unwrapFileKey(this.#identities, this.#expected, headerBytes, this.#abort.signal);
  }
}

/**
 * The file key of the age file whose complete header is `headerBytes`, once an identity unwraps a
 * stanza and the header MAC checks out under it. `KeyError` when no identity opens it,
 * `IntegrityError` for a damaged header or one that does not hold exactly `expected`. Shared by the
 * decrypting stage and random-access reads (age-random-access.ts).
 */
export async function unwrapFileKey(identities: readonly PreparedIdentity[], expected: ExpectedRecipients | undefined, headerBytes: Buffer, signal: AbortSignal): Promise<Buffer> {
  const header = parseHeader(headerBytes);
  const { stanzas } = header;
  if (stanzas.some((s) => s.type === SCRYPT_STANZA_TYPE) && stanzas.length !== 1) {
    throw new IntegrityError('invalid age header: a passphrase (scrypt) stanza must be the only stanza: the backup object is damaged');
  }
  expected?.checkStanzas(stanzas);
  for (const identity of identities) {
    for (const stanza of stanzas) {
      let fileKey: Buffer | undefined;
      if (identity.kind === 'x25519' && stanza.type === X25519_STANZA_TYPE) {
        fileKey = unwrapX25519(stanza, identity.key);
      } else if (identity.kind === 'scrypt' && stanza.type === SCRYPT_STANZA_TYPE) {
        fileKey = await unwrapScrypt(stanza, identity.passphrase, identity.maxWorkFactor);
      }
      // Unknown stanza types are skipped, as the spec requires.
      if (fileKey === undefined) continue;
      const checked = checkedFileKey(header, fileKey);
      // The header is authentic now: if the manifest does not list this identity's recipient, the manifest lies.
      if (identity.kind === 'x25519') expected?.checkOpenedBy(identity.key.publicKey);
      return checked;
    }
  }
  // Only when no local identity opens the file: ask a key service (a network call).
  const kmsStanzas = stanzas.filter((stanza) => stanza.type === KMS_STANZA_TYPE).map((stanza) => ({ stanza, target: kmsStanzaTarget(stanza) }));
  const kms = identities.find((identity) => identity.kind === 'kms');
  let refusal: KeyError | undefined;
  for (const { stanza, target } of kmsStanzas) {
    if (!kms || !target || !kms.allowed.has(target.service)) continue;
    try {
      return checkedFileKey(header, await unwrapKms(stanza, target, kms.keyServiceFor, signal));
    } catch (error) {
      // Another stanza (an older key, another service) may still open it.
      if (!(error instanceof KeyError)) throw error;
      refusal ??= error;
    }
  }
  if (refusal) throw refusal;
  throw noIdentityMatched(kmsStanzas.map(({ target }) => target));
}

/** The file key, once its size and the header MAC under it check out. */
function checkedFileKey(header: ParsedHeader, fileKey: Buffer): Buffer {
  if (fileKey.length !== FILE_KEY_BYTES) throw new IntegrityError('invalid age header: the wrapped file key has the wrong size');
  if (!headerMacMatches(header, fileKey)) {
    throw new IntegrityError('age header failed authentication (bad MAC): the backup object was altered');
  }
  return fileKey;
}

function noIdentityMatched(kmsTargets: readonly (KmsStanzaTarget | undefined)[]): KeyError {
  const known = kmsTargets.filter((target): target is KmsStanzaTarget => target !== undefined);
  if (known.length > 0) {
    const keys = known.map((target) => `${target.service} key ${target.keyId}`).join(', ');
    return new KeyError(`no identity matched any recipient of this backup, and unwrapping through ${keys} is not allowed here: pass an identity it was encrypted to (--identity), or restore with access to that key`);
  }
  if (kmsTargets.length > 0) return new KeyError('no identity matched any recipient of this backup; its key-service stanza names a service this version of Vaultra does not know: upgrade Vaultra, or pass an identity it was encrypted to (--identity)');
  return new KeyError('no identity matched any recipient of this backup: pass the identity file it was encrypted to (--identity) or the right passphrase');
}

/**
 * Runs one step of a transform and reports its outcome to the stream exactly once, whether it
 * returns, throws or (when async) rejects: an error thrown inside a promise must never be lost
 * and leave the stream waiting forever.
 */
function settle(step: () => void | Promise<void>, callback: TransformCallback): void {
  let result: void | Promise<void>;
  try {
    result = step();
  } catch (error) {
    callback(error as Error);
    return;
  }
  if (result === undefined) {
    callback();
    return;
  }
  result.then(
    () => callback(),
    (error: unknown) => callback(error as Error),
  );
}

function truncatedHeader(): IntegrityError {
  return new IntegrityError('the age file ends inside its header: the backup object was truncated');
}
