import * as z from 'zod';
import { backupTypeSchema, jobNameSchema, runIdSchema, type BackupType } from './run.js';
import { CONTENT_KINDS, ENGINE_IDS } from './engine-vocabulary.js';
import { logRangeSchema } from './log-archive.js';

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
 * object. A chunked snapshot (v3, docs/chunked-snapshots.md) has an `index` in its run folder and
 * the `pack`s it references in the shared area. Never rename a value, only add.
 */
export const objectRoleSchema = z.enum(['data', 'index', 'pack']);
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

/** An object as v2 lists it: a v1 object, plus where it lives. */
const manifestV2ObjectSchema = manifestObjectSchema.extend({
  scope: objectScopeSchema.optional(),
});

/**
 * An object of an artifact (v3 and the in-memory model): a v2 object of any role, and for an
 * encrypted pack the SHA-256 of its header, which a reader that fetches only ranges checks.
 */
export const artifactObjectSchema = manifestV2ObjectSchema.extend({
  role: objectRoleSchema,
  headerSha256: sha256Hex.optional(),
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
  objects: z.array(manifestV2ObjectSchema).min(1).refine(uniqueNames, 'object names must be unique in a run folder and in the shared area'),
});

export { backupTypeSchema, type BackupType };

/** How a chunked snapshot was made and what it added (docs/chunked-snapshots.md). */
export const snapshotSchema = z.strictObject({
  format: z.literal('vaultra.chunked/v1'),
  /** `single-stream`: the engine's ordinary dump as one stream; `multi-stream`: its own streams (StreamedDump). */
  layout: z.enum(['single-stream', 'multi-stream']),
  chunker: z.strictObject({ algorithm: z.literal('fastcdc'), minBytes: z.number().int().positive(), avgBytes: z.number().int().positive(), maxBytes: z.number().int().positive() }),
  /** Chunk ids are HMAC-SHA-256 under the job's dedup key; `keyId` tells keys apart without revealing one. */
  chunkIds: z.strictObject({ algorithm: z.literal('hmac-sha256'), keyId: z.string().regex(/^[0-9a-f]{16}$/) }),
  streams: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  /** Chunks and stored bytes this run wrote (the rest it references from earlier runs). */
  newChunks: z.number().int().nonnegative(),
  newStoredBytes: z.number().int().nonnegative(),
  /** Stored bytes of every chunk the snapshot references: what a chunked full of the same data stores. */
  storedBytes: z.number().int().nonnegative(),
  /** The chunk codec, e.g. `zstd 1.5.6 (zstd-napi)`. */
  chunkCompression: z.string(),
});
export type SnapshotSummary = z.infer<typeof snapshotSchema>;

/**
 * `vaultra.manifest/v3`, what this version writes: v2 with the backup's type, its base, and for a
 * chunked snapshot its summary, index and packs.
 */
export const manifestV3Schema = manifestV2Schema
  .extend({
    schema: z.literal('vaultra.manifest/v3'),
    type: backupTypeSchema,
    baseRunId: runIdSchema.optional(),
    snapshot: snapshotSchema.optional(),
    /** A log run's range (point-in-time recovery, docs/point-in-time.md): the run stored a stretch of the server's change log, not a backup. */
    log: logRangeSchema.optional(),
    objects: z.array(artifactObjectSchema).min(1).refine(uniqueNames, 'object names must be unique in a run folder and in the shared area'),
  })
  .refine((m) => m.log === undefined || (m.type === 'full' && m.snapshot === undefined), { message: 'a log run stores one range of the log, as one object', path: ['log'] })
  .refine((m) => (m.type === 'full') === (m.baseRunId === undefined), { message: 'a differential or incremental backup names its base run, a full none', path: ['baseRunId'] })
  .refine((m) => m.type === 'full' || m.snapshot !== undefined, { message: 'a differential or incremental backup is a chunked snapshot', path: ['snapshot'] })
  .refine((m) => (m.snapshot !== undefined) === m.objects.some((o) => o.role === 'index'), { message: 'a chunked snapshot has exactly its index among its objects', path: ['objects'] });

/**
 * The manifest as the use cases hold it, whichever version it was read from (`schema` says
 * which): manifest-codec.ts turns stored bytes of every known version into this, and this into
 * the newest version's bytes. `type` is absent in v1 and v2: read it with `backupTypeOf`.
 */
export const manifestSchema = manifestV2Schema.extend({
  schema: z.enum(['vaultra.manifest/v1', 'vaultra.manifest/v2', 'vaultra.manifest/v3']),
  type: backupTypeSchema.optional(),
  baseRunId: runIdSchema.optional(),
  snapshot: snapshotSchema.optional(),
  log: logRangeSchema.optional(),
  objects: z.array(artifactObjectSchema).min(1).refine(uniqueNames, 'object names must be unique in a run folder and in the shared area'),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** Whether a manifest is a log run's (a stretch of the server's change log), not a backup's. */
export function isLogManifest(manifest: Pick<Manifest, 'log'>): boolean {
  return manifest.log !== undefined;
}

/** A manifest's backup type: before v3 every backup was a full one. */
export function backupTypeOf(manifest: Pick<Manifest, 'type'>): BackupType {
  return manifest.type ?? 'full';
}
