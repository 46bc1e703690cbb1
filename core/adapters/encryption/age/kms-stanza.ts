import { keyServiceIdSchema, kmsKeyIdSchema } from '../../../domain/manifest.js';
import { KeyError } from '../../../errors.js';
import type { KeyService, KeyServiceId } from '../../../ports/key-service.js';
import { invalidHeader, type Stanza } from './header.js';

/**
 * Vaultra's key-service stanza: the age file key wrapped by a cloud key service (AWS KMS, GCP
 * KMS, Azure Key Vault), beside any X25519 recipients:
 *
 *     -> vaultra-kms <service> <keyId>
 *     <base64 of what the service returned from wrapping the 16-byte file key>
 *
 * `service` is a `KeyServiceId` and `keyId` the service's full key name, both printable ASCII
 * without spaces (age's rule for stanza arguments). A restore reads both from the stanza and
 * asks that service to unwrap under that key, so it needs no flag, and a job that moves to a
 * new key id leaves its older backups naming the old one. The `age` CLI skips stanzas it does
 * not know, as the spec requires: a file that also has an X25519 recipient opens with
 * `age -d -i`.
 */
export const KMS_STANZA_TYPE = 'vaultra-kms';

/** Every key service id, checked against the port's `KeyServiceId` at compile time. */
export const KEY_SERVICE_IDS = keyServiceIdSchema.options satisfies readonly KeyServiceId[];
type Unlisted = Exclude<KeyServiceId, (typeof KEY_SERVICE_IDS)[number]>;
const everyServiceListed: Unlisted extends never ? true : never = true;
void everyServiceListed;

/** Where a key-service stanza points. */
export interface KmsStanzaTarget {
  readonly service: KeyServiceId;
  readonly keyId: string;
}

/** `KeyError` unless `keyId` can be a stanza argument (and a manifest's `keyId`). */
export function checkKmsKeyId(service: KeyServiceId, keyId: string): void {
  if (!kmsKeyIdSchema.safeParse(keyId).success) {
    throw new KeyError(`${service} key id "${keyId}" cannot be recorded in the backup: key ids must be printable ASCII without spaces`);
  }
}

/** Wraps `fileKey` under `keyId` through `keyService` (a network call) and returns the stanza. */
export async function wrapKms(fileKey: Uint8Array, keyService: KeyService, keyId: string, signal?: AbortSignal): Promise<Stanza> {
  checkKmsKeyId(keyService.id, keyId);
  const wrapped = await keyService.wrapKey(keyId, fileKey, signal);
  return { type: KMS_STANZA_TYPE, args: [keyService.id, keyId], body: Buffer.from(wrapped) };
}

/**
 * The service and key a `vaultra-kms` stanza names; `undefined` for a service this version does
 * not know (a newer Vaultra's: skipped, like any unknown stanza). A malformed stanza is damage.
 */
export function kmsStanzaTarget(stanza: Stanza): KmsStanzaTarget | undefined {
  const [service, keyId, ...extra] = stanza.args;
  if (service === undefined || keyId === undefined || extra.length > 0 || stanza.body.length === 0) throw invalidHeader('malformed vaultra-kms stanza');
  const known = keyServiceIdSchema.safeParse(service);
  return known.success ? { service: known.data, keyId } : undefined;
}

/** Asks the stanza's key service for the file key. Rejects with the service's `KeyError` when it refuses. */
export async function unwrapKms(stanza: Stanza, target: KmsStanzaTarget, keyServiceFor: (id: KeyServiceId) => Promise<KeyService>, signal?: AbortSignal): Promise<Buffer> {
  const service = await keyServiceFor(target.service);
  return Buffer.from(await service.unwrapKey(target.keyId, stanza.body, signal));
}
