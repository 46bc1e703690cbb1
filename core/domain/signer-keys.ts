import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { KeyError } from '../errors.js';
import type { SignatureAlgorithm } from './manifest-signature.js';

/**
 * A signer's public key as one line of text, for flags and config files:
 * `ed25519:<base64 SPKI DER>` (local keys from `vaultra keygen`) or `ecdsa-p256:<base64 SPKI DER>`
 * (a P-256 key in AWS KMS, Cloud KMS or Key Vault). SPKI is what openssl, `aws kms
 * get-public-key` and Cloud KMS print (as PEM), so the text converts both ways with base64 alone.
 */
export interface SignerPublicKey {
  /** The one-line form, also the key id local signers write into signature files. */
  readonly text: string;
  /** The one algorithm this key verifies. */
  readonly algorithm: SignatureAlgorithm;
  readonly key: KeyObject;
}

const PREFIX_OF: Record<SignatureAlgorithm, string> = { ed25519: 'ed25519', 'ecdsa-p256-sha256': 'ecdsa-p256' };
const SIGNER_KEY_TEXT = /^(ed25519|ecdsa-p256):([A-Za-z0-9+/]{40,400}={0,2})$/;

/** Whether `text` looks like a signer public key line (it may still fail to parse). */
export function isSignerKeyText(text: string): boolean {
  return /^(ed25519|ecdsa-p256):/.test(text.trim());
}

/** Parses `ed25519:…` / `ecdsa-p256:…`; the key inside must be of the type the prefix says. */
export function parseSignerKeyText(text: string): SignerPublicKey {
  const match = SIGNER_KEY_TEXT.exec(text.trim());
  if (!match) throw new KeyError(`not a signer public key: expected ed25519:<base64> or ecdsa-p256:<base64> as vaultra keygen prints it (got ${JSON.stringify(text.trim().slice(0, 40))})`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(match[2]!, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new KeyError(`signer public key ${match[1]}:${match[2]!.slice(0, 12)}… is not a valid public key (damaged when copied?)`);
  }
  const parsed = signerPublicKeyOf(key);
  if (PREFIX_OF[parsed.algorithm] !== match[1]) throw new KeyError(`signer public key says ${match[1]} but holds a ${PREFIX_OF[parsed.algorithm]} key`);
  return parsed;
}

/** A PEM `PUBLIC KEY` block (openssl, `aws kms get-public-key` after base64, Cloud KMS) as a signer key. */
export function parseSignerKeyPem(pem: string): SignerPublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new KeyError('not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  return signerPublicKeyOf(key);
}

/** The signer public key of a node:crypto public (or private) key: Ed25519 or ECDSA P-256 only. */
export function signerPublicKeyOf(keyObject: KeyObject): SignerPublicKey {
  const key = keyObject.type === 'private' ? createPublicKey(keyObject) : keyObject;
  let algorithm: SignatureAlgorithm;
  if (key.asymmetricKeyType === 'ed25519') algorithm = 'ed25519';
  else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') algorithm = 'ecdsa-p256-sha256';
  else throw new KeyError(`unsupported signing key type ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}: Vaultra signs with Ed25519 or ECDSA P-256`);
  const der = key.export({ type: 'spki', format: 'der' });
  return { text: `${PREFIX_OF[algorithm]}:${der.toString('base64')}`, algorithm, key };
}

/**
 * Whether `signature` is `publicKey`'s signature of `payload` under `algorithm`. ECDSA signs the
 * SHA-256 of the payload (as AWS KMS `ECDSA_SHA_256` over a raw message, Cloud KMS
 * `EC_SIGN_P256_SHA256` and Key Vault `ES256` over its digest do); its signature is DER.
 * Never throws: a malformed signature is simply not a valid one.
 */
export function verifySignature(publicKey: SignerPublicKey, algorithm: SignatureAlgorithm, payload: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.algorithm !== algorithm) return false;
  try {
    return algorithm === 'ed25519' ? verify(null, payload, publicKey.key, signature) : verify('sha256', payload, { key: publicKey.key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
