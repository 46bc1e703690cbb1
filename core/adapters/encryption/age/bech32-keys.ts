import { randomBytes } from 'node:crypto';
import { bech32 } from '@scure/base';
import { KeyError } from '../../../errors.js';
import { rawPublicKey, x25519PrivateKey, X25519_KEY_BYTES } from './x25519-keys.js';

/**
 * The textual form of age X25519 keys: Bech32 (BIP 173, not bech32m) with the HRP `age` for a
 * recipient (`age1…`, lowercase, 62 characters) and `age-secret-key-` for an identity
 * (`AGE-SECRET-KEY-1…`, written uppercase, 74 characters). Errors name what is wrong and never
 * echo the input: an identity is a secret, and @scure/base puts the whole string in its messages.
 */
const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';
/** Both forms are far below this; it only bounds the work spent on a garbage argument. */
const MAX_KEY_CHARS = 200;

export function encodeRecipient(publicKey: Uint8Array): string {
  return bech32.encode(RECIPIENT_HRP, bech32.toWords(publicKey), MAX_KEY_CHARS);
}

export function encodeIdentity(secretKey: Uint8Array): string {
  return bech32.encode(IDENTITY_HRP, bech32.toWords(secretKey), MAX_KEY_CHARS).toUpperCase();
}

/** The raw X25519 public key of an `age1…` recipient. */
export function decodeRecipient(recipient: string): Buffer {
  const bytes = decodeBech32(recipient.trim(), RECIPIENT_HRP);
  if (bytes === 'malformed') {
    throw new KeyError('malformed age recipient: expected an X25519 public key like "age1…" (62 characters, as printed by age-keygen)');
  }
  if (bytes === 'wrong-type') {
    throw new KeyError(
      recipient.trim().toUpperCase().startsWith('AGE-SECRET-KEY-1')
        ? 'an age identity (secret key) was given where a recipient (public key "age1…") is expected: pass the public key instead'
        : 'unsupported age recipient: only X25519 recipients ("age1…") are supported',
    );
  }
  return bytes;
}

/** The raw X25519 secret key of an `AGE-SECRET-KEY-1…` identity. */
export function decodeIdentity(identity: string): Buffer {
  const bytes = decodeBech32(identity.trim(), IDENTITY_HRP);
  if (bytes === 'malformed') {
    throw new KeyError('malformed age identity: expected an X25519 secret key "AGE-SECRET-KEY-1…" (74 characters, as written by age-keygen)');
  }
  if (bytes === 'wrong-type') {
    throw new KeyError(
      identity.trim().toLowerCase().startsWith('age1')
        ? 'an age recipient (public key) was given where an identity (secret key "AGE-SECRET-KEY-1…") is expected'
        : 'unsupported age identity: only X25519 identities ("AGE-SECRET-KEY-1…") are supported',
    );
  }
  return bytes;
}

export function generateX25519Identity(): { identity: string; recipient: string } {
  const secretKey = randomBytes(X25519_KEY_BYTES);
  return { identity: encodeIdentity(secretKey), recipient: encodeRecipient(rawPublicKey(x25519PrivateKey(secretKey))) };
}

/** The recipient (public key) that belongs to an identity. */
export function recipientOf(identity: string): string {
  return encodeRecipient(rawPublicKey(x25519PrivateKey(decodeIdentity(identity))));
}

/**
 * The identities in an identity file as age reads them: one per line, `#` comment lines and
 * blank lines skipped (age-keygen writes `# created: …` and `# public key: age1…` above the key).
 */
export function parseIdentityFile(text: string): string[] {
  const identities: string[] = [];
  const lines = text.split('\n');
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      decodeIdentity(line);
    } catch (error) {
      const reason = error instanceof KeyError ? error.message : 'malformed age identity';
      throw new KeyError(`identity file line ${index + 1}: ${reason}`);
    }
    identities.push(line.toUpperCase());
  }
  if (identities.length === 0) {
    throw new KeyError('the identity file holds no age identity: expected a line "AGE-SECRET-KEY-1…" (generate one with `age-keygen`)');
  }
  return identities;
}

/** An identity file in the layout age-keygen writes, which `age -d -i <file>` reads. */
export function formatIdentityFile(identity: string, created: Date = new Date()): string {
  const timestamp = created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `# created: ${timestamp}\n# public key: ${recipientOf(identity)}\n${decodeAndNormalize(identity)}\n`;
}

function decodeAndNormalize(identity: string): string {
  return encodeIdentity(decodeIdentity(identity));
}

function decodeBech32(text: string, expectedHrp: string): Buffer | 'malformed' | 'wrong-type' {
  if (text.length > MAX_KEY_CHARS) return 'malformed';
  let decoded: { prefix: string; words: number[] };
  let bytes: Uint8Array;
  try {
    decoded = bech32.decode(text as `${string}1${string}`, MAX_KEY_CHARS);
    bytes = bech32.fromWords(decoded.words);
  } catch {
    return 'malformed';
  }
  if (decoded.prefix !== expectedHrp) return 'wrong-type';
  if (bytes.length !== X25519_KEY_BYTES) return 'malformed';
  return Buffer.from(bytes);
}
