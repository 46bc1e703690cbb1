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
