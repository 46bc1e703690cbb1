import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KeyError } from '../../../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { invalidHeader, type Stanza } from './header.js';
import { FILE_KEY_BYTES, hkdfSha256, openWithSingleUseKey, sealWithSingleUseKey, TAG_BYTES } from './primitives.js';
import { rawPublicKey, x25519PrivateKey, x25519SharedSecret, X25519_KEY_BYTES } from './x25519-keys.js';

/**
 * The X25519 recipient stanza (age v1, "X25519 recipient stanza"):
 *
 *     -> X25519 <base64 ephemeral share>
 *     <base64 ChaCha20-Poly1305(wrapKey, zero nonce, fileKey)>
 *
 * wrapKey = HKDF-SHA256(ikm = X25519(ephemeral, recipient), salt = share || recipient,
 * info = "age-encryption.org/v1/X25519").
 */
export const X25519_STANZA_TYPE = 'X25519';
const WRAP_INFO = 'age-encryption.org/v1/X25519';

/** An identity ready for unwrapping: its private key object and raw public key. */
export interface X25519IdentityKey {
  readonly privateKey: KeyObject;
  readonly publicKey: Buffer;
}

export function x25519IdentityKey(secretKey: Uint8Array): X25519IdentityKey {
  const privateKey = x25519PrivateKey(secretKey);
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

export function wrapX25519(fileKey: Uint8Array, recipientPublicKey: Uint8Array): Stanza {
  const ephemeral = generateKeyPairSync('x25519');
  const share = rawPublicKey(ephemeral.publicKey);
  const shared = x25519SharedSecret(ephemeral.privateKey, recipientPublicKey);
  if (shared === undefined) throw new KeyError('invalid age recipient: the X25519 public key is a low-order point');
  const wrapKey = hkdfSha256(shared, Buffer.concat([share, recipientPublicKey]), WRAP_INFO);
  return { type: X25519_STANZA_TYPE, args: [encodeBase64(share)], body: sealWithSingleUseKey(wrapKey, fileKey) };
}

/**
 * The file key when the stanza was wrapped to `identity`, `undefined` when it was wrapped to
 * someone else. A malformed X25519 stanza is an error whoever it is for.
 */
export function unwrapX25519(stanza: Stanza, identity: X25519IdentityKey): Buffer | undefined {
  const [encodedShare, ...extra] = stanza.args;
  const share = encodedShare === undefined ? undefined : decodeBase64(encodedShare);
  if (share?.length !== X25519_KEY_BYTES || extra.length > 0) throw invalidHeader('malformed X25519 stanza arguments');
  if (stanza.body.length !== FILE_KEY_BYTES + TAG_BYTES) throw invalidHeader('X25519 stanza body has the wrong size');
  const shared = x25519SharedSecret(identity.privateKey, share);
  if (shared === undefined) throw invalidHeader('X25519 stanza has a low-order ephemeral share');
  const wrapKey = hkdfSha256(shared, Buffer.concat([share, identity.publicKey]), WRAP_INFO);
  return openWithSingleUseKey(wrapKey, stanza.body);
}
