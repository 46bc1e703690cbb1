import { IntegrityError, KeyError } from '../../../errors.js';
import type { RecipientDescription } from '../../../ports/encryptor.js';
import { decodeRecipient, encodeRecipient } from './bech32-keys.js';
import type { Stanza } from './header.js';
import { KMS_STANZA_TYPE, kmsStanzaTarget } from './kms-stanza.js';
import { SCRYPT_STANZA_TYPE } from './scrypt-stanza.js';
import { X25519_STANZA_TYPE } from './x25519-stanza.js';

/**
 * What a manifest says about who can open a backup, held against the age header itself. An
 * X25519 stanza does not name its recipient (only an ephemeral share), so the header shows the
 * kind and number of recipients, each passphrase's work factor and each key-service key; which
 * X25519 recipient a stanza is for shows only when an identity opens it.
 */
export class ExpectedRecipients {
  readonly #expected: readonly RecipientDescription[];
  readonly #x25519: readonly Buffer[];

  constructor(expected: readonly RecipientDescription[]) {
    this.#expected = expected;
    this.#x25519 = expected.flatMap((r) => (r.type === 'x25519' ? [publicKeyOf(r.recipient)] : []));
  }

  /** `IntegrityError` unless the header's stanzas are exactly the recipients the manifest lists. */
  checkStanzas(stanzas: readonly Stanza[]): void {
    const inHeader = stanzas.map(describeStanza).sort();
    const listed = this.#expected.map(describeRecipient).sort();
    if (inHeader.join('\n') !== listed.join('\n')) {
      throw new IntegrityError(`the data object is encrypted to ${summary(inHeader)}, its manifest lists ${summary(listed)}: the manifest or the object was altered`);
    }
  }

  /** `IntegrityError` when the X25519 identity that opened the file is not a recipient the manifest lists. */
  checkOpenedBy(publicKey: Buffer): void {
    if (this.#x25519.some((listed) => listed.equals(publicKey))) return;
    throw new IntegrityError(`the data object opens with recipient ${encodeRecipient(publicKey)}, which its manifest does not list: the manifest was altered`);
  }
}

function publicKeyOf(recipient: string): Buffer {
  try {
    return decodeRecipient(recipient);
  } catch (error) {
    if (error instanceof KeyError) throw new IntegrityError('the manifest lists a recipient that is not a valid age X25519 recipient: the manifest was altered');
    throw error;
  }
}

/** One stanza as a comparable line: its kind, and what the header says about whom it is for. */
function describeStanza(stanza: Stanza): string {
  switch (stanza.type) {
    case X25519_STANZA_TYPE:
      return 'X25519 recipient';
    case SCRYPT_STANZA_TYPE:
      return `passphrase (scrypt work factor ${stanza.args[1] ?? '?'})`;
    case KMS_STANZA_TYPE: {
      const target = kmsStanzaTarget(stanza);
      return target ? `${target.service} key ${target.keyId}` : `key service ${stanza.args[0] ?? '?'}`;
    }
    default:
      return `"${stanza.type}" stanza`;
  }
}

function describeRecipient(recipient: RecipientDescription): string {
  switch (recipient.type) {
    case 'x25519':
      return 'X25519 recipient';
    case 'scrypt':
      return `passphrase (scrypt work factor ${recipient.workFactor})`;
    case 'kms':
      return `${recipient.service} key ${recipient.keyId}`;
  }
}

/** `2 X25519 recipients and aws-kms key arn:…`, or `nobody`. */
function summary(lines: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  const parts = [...counts].map(([line, count]) => (count === 1 ? line : `${count}× ${line}`));
  return parts.length ? parts.join(', ') : 'nobody';
}
