import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { ManifestSigner } from '../../ports/manifest-signer.js';
import type { SignatureAlgorithm } from '../../domain/manifest-signature.js';
import { signerPublicKeyOf, type SignerPublicKey } from '../../domain/signer-keys.js';
import { KeyError } from '../../errors.js';

/**
 * Signs with a private key this process holds: the Ed25519 key `vaultra keygen` writes next to the
 * age identity (or any Ed25519 / ECDSA P-256 PKCS#8 key). Its key id is its public key text, so a
 * signature names the exact key to trust.
 */
export class LocalKeySigner implements ManifestSigner {
  readonly algorithm: SignatureAlgorithm;
  readonly keyId: string;
  readonly publicKey: SignerPublicKey;
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject) {
    if (privateKey.type !== 'private') throw new KeyError('a signing key must be a private key');
    this.publicKey = signerPublicKeyOf(privateKey);
    this.algorithm = this.publicKey.algorithm;
    this.keyId = this.publicKey.text;
    this.#privateKey = privateKey;
  }

  /** A new Ed25519 key. */
  static generate(): LocalKeySigner {
    return new LocalKeySigner(generateKeyPairSync('ed25519').privateKey);
  }

  sign(payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const signature = this.algorithm === 'ed25519' ? sign(null, payload, this.#privateKey) : sign('sha256', payload, { key: this.#privateKey, dsaEncoding: 'der' });
    return Promise.resolve(signature);
  }

  /** The key as PKCS#8 PEM, for the key file. */
  privateKeyPem(): string {
    return this.#privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }
}

const PEM_BLOCK = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/;

/**
 * The text of a signing key file: comments that say what it is and its public key (to paste into
 * `--trust` or `signing.trusted`), then the PKCS#8 PEM block openssl reads as is.
 */
export function formatSigningKeyFile(signer: LocalKeySigner, now = new Date()): string {
  return [
    '# Vaultra signing key: restores trust backups signed with it. Keep it secret, keep a copy.',
    `# created: ${now.toISOString()}`,
    `# public key: ${signer.publicKey.text}`,
    signer.privateKeyPem().trim(),
    '',
  ].join('\n');
}

/** The signer of a signing key file's text (comments ignored). Errors never echo key material. */
export function parseSigningKeyFile(text: string, path: string): LocalKeySigner {
  const block = PEM_BLOCK.exec(text)?.[0];
  if (!block) throw new KeyError(`${path} holds no signing key (-----BEGIN PRIVATE KEY----- block): is it a public key or an age identity?`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block, format: 'pem' });
  } catch {
    throw new KeyError(`${path}: the signing key is damaged (not a readable PKCS#8 private key)`);
  }
  return new LocalKeySigner(key);
}
