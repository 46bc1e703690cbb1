import * as z from 'zod';
import { jobNameSchema, runIdSchema } from './run.js';
import { CONTENT_KINDS, ENGINE_IDS } from './engine-vocabulary.js';

/**
 * `manifest.json`: everything a restore needs, written last as the run's commit marker.
 * Restore reads algorithms and key descriptions from here, never from flags.
 * Versioned: readers accept every `schema` they know; writers write the newest.
 */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** The key services a backup's file key may be wrapped by (the port's `KeyServiceId`): never rename a value, only add. */
export const keyServiceIdSchema = z.enum(['aws-kms', 'gcp-kms', 'azure-keyvault']);

/** A key service's own full key name; it is an age stanza argument, so printable ASCII without spaces. */
export const kmsKeyIdSchema = z.string().regex(/^[\x21-\x7e]{1,2048}$/, 'printable ASCII without spaces');

/**
 * A plain file name in the run folder, read from nowhere else: no `/`, no `.` or `..`, no
 * hidden name (temp files start with one), not the manifest itself. A manifest is untrusted
 * input: a name that could point outside its folder is an integrity error, not a path.
 */
export const objectNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, 'object names are plain file names in the run folder (letters, digits, ".", "_", "-"; not starting with ".")')
  .max(255)
  .refine((name) => name !== 'manifest.json', 'an object cannot be named manifest.json: that name is the manifest');

/**
 * What an object of an artifact is for. `data`: the whole (compressed, encrypted) dump in one
 * object, the only role this version writes and reads. Never rename a value, only add (a chunked
 * snapshot adds its index and packs: issue 14).
 */
export const objectRoleSchema = z.enum(['data']);
export type ObjectRole = z.infer<typeof objectRoleSchema>;

/**
 * Where an object lives (v2 and later). `run`: the run folder, the object is the run's own and
 * goes with it. `shared`: the job's content-addressed area (`<job>/shared/<name>`, object-layout.ts),
 * for objects several runs reference (a chunked snapshot's packs, issue 14): only a sweep that
 * knows every kept manifest may delete one. Absent in a manifest means `run`.
 */
export const objectScopeSchema = z.enum(['run', 'shared']);
export type ObjectScope = z.infer<typeof objectScopeSchema>;

/** An object as `vaultra.manifest/v1` lists it: always in the run folder. */
export const manifestObjectSchema = z.strictObject({
  /** File name inside the run folder. */
  name: objectNameSchema,
  role: z.enum(['data']),
  sizeBytes: z.number().int().nonnegative(),
  sha256: sha256Hex,
});

/** An object of an artifact (v2 and the in-memory model): a v1 object, plus where it lives. */
export const artifactObjectSchema = manifestObjectSchema.extend({
  role: objectRoleSchema,
  scope: objectScopeSchema.optional(),
});
export type ArtifactObject = z.infer<typeof artifactObjectSchema>;

export const contentEntrySchema = z.strictObject({
  kind: z.enum(CONTENT_KINDS),
  schema: z.string().optional(),
  name: z.string(),
  rows: z.number().int().nonnegative().optional(),
  rowsExact: z.boolean().optional(),
  bytes: z.number().int().nonnegative().optional(),
  files: z.number().int().nonnegative().optional(),
});

/** `vaultra.manifest/v1`, exactly as the first versions wrote it: read forever, written no more. */
export const manifestV1Schema = z.strictObject({
  schema: z.literal('vaultra.manifest/v1'),
  runId: runIdSchema,
  job: jobNameSchema,
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  source: z.strictObject({
    engine: z.enum(ENGINE_IDS),
    database: z.string(),
    serverVersion: z.string(),
  }),
  dump: z.strictObject({
    tool: z.string(),
    toolVersion: z.string(),
    format: z.string(),
    consistency: z.string(),
    /** Engine-specific facts, e.g. MySQL GTID handling, MongoDB oplog: strings only. */
    details: z.record(z.string(), z.string()).optional(),
  }),
  compression: z.strictObject({
    id: z.enum(['zstd', 'gzip', 'none']),
    level: z.number().int(),
    implementation: z.string(),
  }),
  encryption: z
    .strictObject({
      format: z.enum(['age-v1', 'none']),
      recipients: z.array(
        z.discriminatedUnion('type', [
          z.strictObject({ type: z.literal('x25519'), recipient: z.string().startsWith('age1') }),
          z.strictObject({ type: z.literal('scrypt'), workFactor: z.number().int() }),
          /** A cloud key service wraps the file key (age stanza `vaultra-kms`): which service and key, never key material. */
          z.strictObject({ type: z.literal('kms'), service: keyServiceIdSchema, keyId: kmsKeyIdSchema }),
        ]),
      ),
    })
    // What age allows: an encrypted file has recipients, a passphrase is the only one, plain data has none.
    .refine((e) => (e.format === 'none' ? e.recipients.length === 0 : e.recipients.length > 0), { message: 'recipients must be listed for age-v1 and only for age-v1', path: ['recipients'] })
    .refine((e) => !e.recipients.some((r) => r.type === 'scrypt') || e.recipients.length === 1, { message: 'a passphrase (scrypt) recipient must be the only recipient', path: ['recipients'] }),
  plaintextBytes: z.number().int().nonnegative(),
  objects: z
    .array(manifestObjectSchema)
    .min(1)
    .refine((objects) => new Set(objects.map((o) => o.name)).size === objects.length, 'object names must be unique in a run folder'),
  contents: z.array(contentEntrySchema),
  vaultraVersion: z.string(),
});

const uniqueNames = (objects: readonly ArtifactObject[]) => new Set(objects.map((o) => `${o.scope ?? 'run'}/${o.name}`)).size === objects.length;

/**
 * `vaultra.manifest/v2`, what this version writes: v1 whose objects also say where they live
 * (`scope`), so an artifact can be many objects, some shared between runs.
 */
export const manifestV2Schema = manifestV1Schema.extend({
  schema: z.literal('vaultra.manifest/v2'),
  objects: z.array(artifactObjectSchema).min(1).refine(uniqueNames, 'object names must be unique in a run folder and in the shared area'),
});

/**
 * The manifest as the use cases hold it, whichever version it was read from (`schema` says
 * which): manifest-codec.ts turns stored bytes of every known version into this, and this into
 * the newest version's bytes.
 */
export const manifestSchema = manifestV2Schema.extend({
  schema: z.enum(['vaultra.manifest/v1', 'vaultra.manifest/v2']),
});
export type Manifest = z.infer<typeof manifestSchema>;
