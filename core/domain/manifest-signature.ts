import * as z from 'zod';
import { jobNameSchema, runIdSchema } from './run.js';

/**
 * What a backup's signature covers, and the file that carries it.
 *
 * The signed payload binds the manifest's exact bytes (so every object's name, size and SHA-256,
 * and every other field) to the place the manifest was written: its job, run id and key. It is a
 * small JSON text with a fixed field order, every value drawn from a restricted alphabet, so it
 * has one byte form; `purpose` separates it from anything else the same key might ever sign, and
 * `v` lets a later version sign more without any older signature meaning something new.
 *
 * The key is relative to the storage location (it holds no bucket or prefix), so a backup copied
 * whole to another bucket still verifies, but a manifest (with its signature) copied into another
 * run folder, job or date does not.
 */
export const SIGNED_PAYLOAD_PURPOSE = 'vaultra.manifest-signature';

/** The signature sits beside the manifest: `<run folder>/manifest.json.sig`. */
export const SIGNATURE_SUFFIX = '.sig';

export function signatureKeyOf(manifestKey: string): string {
  return `${manifestKey}${SIGNATURE_SUFFIX}`;
}

/** Saved in signature files: never rename a value, only add. */
export const signatureAlgorithmSchema = z.enum(['ed25519', 'ecdsa-p256-sha256']);
export type SignatureAlgorithm = z.infer<typeof signatureAlgorithmSchema>;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const signedFieldsSchema = z
  .strictObject({
    job: jobNameSchema,
    runId: runIdSchema,
    /** `<job>/<YYYY>/<MM>/<DD>/<runId>/manifest.json`, relative to the storage location: where the manifest is. */
    manifestKey: z.string().regex(/^[a-z0-9._-]+\/\d{4}\/\d{2}\/\d{2}\/[0-9TZ.a-f-]+\/manifest\.json$/),
    manifestSha256: sha256Hex,
  })
  .refine((fields) => fields.manifestKey.startsWith(`${fields.job}/`) && fields.manifestKey.endsWith(`/${fields.runId}/manifest.json`), 'the manifest key must be in the folder of its job and run id');
export type SignedFields = z.infer<typeof signedFieldsSchema>;

/**
 * The exact bytes a signer signs for one manifest (UTF-8 JSON, no whitespace):
 * `{"purpose":"vaultra.manifest-signature","v":1,"job":…,"runId":…,"manifestKey":…,"manifestSha256":…}`.
 * Fields are validated first, so nothing outside their alphabets (quotes, escapes) can reach the text.
 */
export function signedPayload(fields: SignedFields): Buffer {
  const { job, runId, manifestKey, manifestSha256 } = signedFieldsSchema.parse(fields);
  return Buffer.from(JSON.stringify({ purpose: SIGNED_PAYLOAD_PURPOSE, v: 1, job, runId, manifestKey, manifestSha256 }), 'utf8');
}

/** Printable ASCII without spaces: a public key text, or a key service's key name. */
const keyIdSchema = z.string().regex(/^[\x21-\x7e]{1,2048}$/, 'printable ASCII without spaces');

/**
 * `manifest.json.sig`. `keyId` says which key made it (`ed25519:<public key>` or
 * `aws-kms:<key ARN>`, …), for messages only: a verifier accepts a signature only if it verifies
 * under a public key it trusts, whatever `keyId` claims. `payload` is the signed text, so anyone
 * can check the signature with openssl alone; verifiers rebuild it from what they read instead.
 * `signature` is base64: 64 raw bytes for Ed25519, DER (as openssl and the key services write it)
 * for ECDSA.
 */
export const signatureFileSchema = z.strictObject({
  schema: z.literal('vaultra.signature/v1'),
  algorithm: signatureAlgorithmSchema,
  keyId: keyIdSchema,
  payload: z.string().min(1).max(4096),
  signature: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64'),
});
export type SignatureFile = z.infer<typeof signatureFileSchema>;

/** The signature file's text, as stored. */
export function formatSignatureFile(file: SignatureFile): string {
  return JSON.stringify(signatureFileSchema.parse(file), null, 2) + '\n';
}
