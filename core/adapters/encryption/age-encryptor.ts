import { PassThrough, type Transform } from 'node:stream';
import { ConfigError, IntegrityError } from '../../errors.js';
import { LeadingBytesCheck } from '../../pipeline/byte-taps.js';
import { INTRO } from './age/header.js';
import type { Decryptor, EncryptionFormat, Encryptor, RecipientDescription } from '../../ports/encryptor.js';
import { createAgeDecryptStream, createAgeEncryptStream, prepareIdentities, prepareRecipients, type AgeIdentity, type AgeRecipient } from './age/age-stream.js';
import { DEFAULT_SCRYPT_WORK_FACTOR } from './age/scrypt-stanza.js';

const AGE_INTRO = Buffer.from(INTRO, 'latin1');

/**
 * Encryption and decryption stages for the pipeline. Keys and passphrases live in private
 * (`#`) fields, so they never show up when an adapter is logged or serialized; `recipients`
 * describes who can decrypt without any key material.
 */
export class AgeEncryptor implements Encryptor {
  readonly format = 'age-v1' as const;
  readonly recipients: readonly RecipientDescription[];
  readonly #recipients: readonly AgeRecipient[];

  /** Throws `KeyError` for a malformed recipient and `ConfigError` for an unusable combination. */
  constructor(recipients: readonly AgeRecipient[]) {
    prepareRecipients(recipients);
    this.#recipients = recipients.map((recipient) => ({ ...recipient }));
    this.recipients = recipients.map(describeRecipient);
  }

  encrypt(): Transform {
    return createAgeEncryptStream(this.#recipients);
  }
}

/** What the manifest says about a recipient: public keys, work factors, key ids — never key material. */
function describeRecipient(recipient: AgeRecipient): RecipientDescription {
  switch (recipient.kind) {
    case 'x25519':
      return { type: 'x25519', recipient: recipient.recipient.trim().toLowerCase() };
    case 'scrypt':
      return { type: 'scrypt', workFactor: recipient.workFactor ?? DEFAULT_SCRYPT_WORK_FACTOR };
    case 'kms':
      return { type: 'kms', service: recipient.keyService.id, keyId: recipient.keyId };
  }
}

export class AgeDecryptor implements Decryptor {
  readonly #identities: readonly AgeIdentity[];

  /**
   * Throws `KeyError` for a malformed identity. No identities is allowed: it still reads `none`.
   * A `kms` entry lets the stage unwrap `vaultra-kms` stanzas through the services it allows.
   */
  constructor(identities: readonly AgeIdentity[]) {
    prepareIdentities(identities);
    this.#identities = identities.map((identity) => ({ ...identity }));
  }

  decrypt(format: EncryptionFormat, recipients?: readonly RecipientDescription[]): Transform {
    switch (format) {
      case 'age-v1':
        return createAgeDecryptStream(this.#identities, recipients);
      case 'none':
        // Plain data that is an age file means the manifest's format was changed.
        return new LeadingBytesCheck(AGE_INTRO.length, (head) =>
          head.equals(AGE_INTRO) ? new IntegrityError('the data object is age-encrypted, but its manifest says it is not encrypted: the manifest was altered') : undefined,
        );
      default:
        throw new ConfigError(`unsupported encryption format "${String(format)}": this version of Vaultra reads age-v1 and none`);
    }
  }
}

/** No encryption: the stage passes bytes through unchanged. */
export class NoEncryptor implements Encryptor {
  readonly format = 'none' as const;
  readonly recipients: readonly RecipientDescription[] = [];

  encrypt(): Transform {
    return new PassThrough({ highWaterMark: 1024 * 1024 });
  }
}
