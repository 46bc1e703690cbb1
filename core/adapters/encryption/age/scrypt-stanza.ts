import { randomBytes, scrypt } from 'node:crypto';
import { ConfigError, KeyError } from '../../../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { invalidHeader, type Stanza } from './header.js';
import { FILE_KEY_BYTES, openWithSingleUseKey, sealWithSingleUseKey, TAG_BYTES } from './primitives.js';

/**
 * The scrypt passphrase stanza (age v1, "scrypt recipient stanza"):
 *
 *     -> scrypt <base64 16-byte salt> <log2 N>
 *     <base64 ChaCha20-Poly1305(key, zero nonce, fileKey)>
 *
 * key = scrypt(passphrase, "age-encryption.org/v1/scrypt" || salt, N = 2^logN, r = 8, p = 1, 32).
 * It must be the only stanza of a file, which the caller enforces.
 */
export const SCRYPT_STANZA_TYPE = 'scrypt';
/** age's own default: about a second on a current machine. */
export const DEFAULT_SCRYPT_WORK_FACTOR = 18;
/** age's own default ceiling when decrypting: 2^22 needs 4 GiB of memory. */
export const DEFAULT_MAX_SCRYPT_WORK_FACTOR = 22;
const MAX_ENCRYPT_WORK_FACTOR = 30;
const SALT_BYTES = 16;
const SALT_LABEL = Buffer.from('age-encryption.org/v1/scrypt', 'latin1');
const WORK_FACTOR = /^[1-9][0-9]*$/;
const BLOCK_SIZE = 8;

export function checkScryptWorkFactor(workFactor: number): void {
  if (!Number.isInteger(workFactor) || workFactor < 1 || workFactor > MAX_ENCRYPT_WORK_FACTOR) {
    throw new ConfigError(`invalid scrypt work factor ${String(workFactor)}: expected an integer from 1 to ${MAX_ENCRYPT_WORK_FACTOR} (log2 of N)`);
  }
}

export function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new ConfigError('the age passphrase is empty');
}

export async function wrapScrypt(fileKey: Uint8Array, passphrase: string, workFactor: number): Promise<Stanza> {
  checkScryptWorkFactor(workFactor);
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(passphrase, salt, workFactor);
  return { type: SCRYPT_STANZA_TYPE, args: [encodeBase64(salt), String(workFactor)], body: sealWithSingleUseKey(key, fileKey) };
}

/**
 * The file key when `passphrase` opens the stanza, `undefined` when it does not. A malformed
 * stanza is an `IntegrityError`; a work factor above `maxWorkFactor` is a `KeyError` (refused
 * before any work: a hostile file must not be able to make restore spend minutes and gigabytes).
 */
export async function unwrapScrypt(stanza: Stanza, passphrase: string, maxWorkFactor: number): Promise<Buffer | undefined> {
  const [encodedSalt, encodedWorkFactor, ...extra] = stanza.args;
  const salt = encodedSalt === undefined ? undefined : decodeBase64(encodedSalt);
  if (salt?.length !== SALT_BYTES || encodedWorkFactor === undefined || extra.length > 0) {
    throw invalidHeader('malformed scrypt stanza arguments');
  }
  if (!WORK_FACTOR.test(encodedWorkFactor)) throw invalidHeader('malformed scrypt work factor');
  if (stanza.body.length !== FILE_KEY_BYTES + TAG_BYTES) throw invalidHeader('scrypt stanza body has the wrong size');
  const workFactor = Number(encodedWorkFactor);
  if (workFactor > maxWorkFactor) {
    throw new KeyError(
      `this backup's passphrase uses scrypt work factor ${workFactor > 99 ? 'above 99' : workFactor}, above the allowed maximum ${maxWorkFactor}: raise the maximum only if you trust the file`,
    );
  }
  const key = await deriveKey(passphrase, salt, workFactor);
  return openWithSingleUseKey(key, stanza.body);
}

function deriveKey(passphrase: string, salt: Buffer, workFactor: number): Promise<Buffer> {
  const cost = 2 ** workFactor;
  // scrypt needs 128·r·N bytes for its table (+128·r·p); twice that leaves OpenSSL room to spare.
  const maxmem = 2 * 128 * BLOCK_SIZE * cost;
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(passphrase, 'utf8'),
      Buffer.concat([SALT_LABEL, salt]),
      32,
      { N: cost, r: BLOCK_SIZE, p: 1, maxmem },
      (error, key) => (error ? reject(new KeyError(`scrypt key derivation failed (work factor ${workFactor}): ${error.message}`)) : resolve(key)),
    );
  });
}
