import type { Transform } from 'node:stream';
import type { KeyServiceId } from './key-service.js';

/** Saved in manifests: never rename a value, only add. */
export type EncryptionFormat = 'age-v1' | 'none';

/** The public description of one recipient, as it goes into a manifest: never key material. */
export type RecipientDescription =
  | { readonly type: 'x25519'; readonly recipient: string }
  | { readonly type: 'scrypt'; readonly workFactor: number }
  /** The file key wrapped by a cloud key service under `keyId` (a key ARN, a CryptoKey name, a Key Vault key URL). */
  | { readonly type: 'kms'; readonly service: KeyServiceId; readonly keyId: string };

export interface Encryptor {
  readonly format: EncryptionFormat;
  readonly recipients: readonly RecipientDescription[];
  /** A fresh encrypting stage: plaintext in, the complete encrypted file out. */
  encrypt(): Transform;
}

export interface Decryptor {
  /**
   * A fresh decrypting stage. It passes on only authenticated plaintext; it errors with
   * `KeyError` when no identity opens the file, and with `IntegrityError` when the file was
   * altered or truncated, so a consumer must not act on what it received before the stage ends.
   * With `recipients` (a manifest's), the file must be encrypted to exactly those, as far as
   * the file shows them, and opened by one of them; `IntegrityError` otherwise. Data read as
   * `none` must not be an encrypted file.
   */
  decrypt(format: EncryptionFormat, recipients?: readonly RecipientDescription[]): Transform;
}

/**
 * One encrypted file opened for reading ranges of its plaintext without reading it all
 * (age: 64 KiB segments, each authenticated on its own; docs/chunked-snapshots.md).
 */
export interface RandomAccessFile {
  /** The encrypted file's header, exactly as stored (its SHA-256 is what a manifest pins). */
  readonly header: Buffer;
  /**
   * The stored byte range `[start, end)` holding plaintext `[from, to)` (whole segments), and the
   * plaintext offset that range begins at. `fileBytes`: the stored object's size.
   */
  cipherRange(from: number, to: number, fileBytes: number): { readonly start: number; readonly end: number; readonly plaintextStart: number };
  /**
   * The plaintext of a range `cipherRange` gave, authenticated segment by segment (the file's last
   * segment as the last one). Throws `IntegrityError` when any segment fails.
   */
  decryptRange(range: { readonly start: number; readonly end: number }, stored: Buffer, fileBytes: number): Buffer;
}

export interface RandomAccessDecryptor {
  /**
   * How many of an encrypted file's first bytes to fetch so that they surely hold its header
   * (`openFile` says when they did not).
   */
  readonly headerProbeBytes: number;
  /**
   * Opens a file from its first bytes: parses the header, unwraps the file key with this
   * decryptor's identities (`KeyError` when none opens it), checks it against `recipients` as
   * `Decryptor.decrypt` does. `IntegrityError` for a damaged header; `RangeError` when `prefix`
   * is too short to hold it (fetch more and retry).
   */
  openFile(format: EncryptionFormat, prefix: Buffer, recipients?: readonly RecipientDescription[], signal?: AbortSignal): Promise<RandomAccessFile>;
}

/** Where an encrypted file's header ends, from its first bytes (`undefined`: not in these bytes yet). For pinning a pack's header in the manifest. */
export type HeaderLength = (prefix: Buffer) => number | undefined;
