import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';

/**
 * Raw 32-byte X25519 keys as Node KeyObjects. Node takes X25519 keys only as DER (or JWK), so the
 * raw bytes are framed with the fixed PKCS#8 / SPKI prefix for the X25519 OID (1.3.101.110).
 */
export const X25519_KEY_BYTES = 32;

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

export function x25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The raw 32-byte public key of a private or public X25519 KeyObject. */
export function rawPublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_PREFIX.length);
}

/**
 * X25519(privateKey, publicKey), or `undefined` when the result is the all-zero value, which a
 * low-order public key produces (OpenSSL refuses to return it; the check stays for any build
 * that does not).
 */
export function x25519SharedSecret(privateKey: KeyObject, publicKey: Uint8Array): Buffer | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: x25519PublicKey(publicKey) });
  } catch {
    return undefined;
  }
  let bits = 0;
  for (const byte of shared) bits |= byte;
  return bits === 0 ? undefined : shared;
}
