import * as z from 'zod';
import { jobNameSchema, runIdSchema } from './run.js';

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

export const manifestObjectSchema = z.strictObject({
  /** File name inside the run folder. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  role: z.enum(['data']),
  sizeBytes: z.number().int().nonnegative(),
  sha256: sha256Hex,
});

export const contentEntrySchema = z.strictObject({
  kind: z.enum(['table', 'view', 'materialized-view', 'sequence', 'collection', 'routine', 'event', 'directory', 'file', 'symlink']),
  schema: z.string().optional(),
  name: z.string(),
  rows: z.number().int().nonnegative().optional(),
  rowsExact: z.boolean().optional(),
  bytes: z.number().int().nonnegative().optional(),
  files: z.number().int().nonnegative().optional(),
});

export const manifestSchema = z.strictObject({
  schema: z.literal('vaultra.manifest/v1'),
  runId: runIdSchema,
  job: jobNameSchema,
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  source: z.strictObject({
    engine: z.enum(['postgres', 'sqlite', 'mysql', 'mongodb', 'directory']),
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
  encryption: z.strictObject({
    format: z.enum(['age-v1', 'none']),
    recipients: z.array(
      z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('x25519'), recipient: z.string().startsWith('age1') }),
        z.strictObject({ type: z.literal('scrypt'), workFactor: z.number().int() }),
        /** A cloud key service wraps the file key (age stanza `vaultra-kms`): which service and key, never key material. */
        z.strictObject({ type: z.literal('kms'), service: keyServiceIdSchema, keyId: kmsKeyIdSchema }),
      ]),
    ),
  }),
  plaintextBytes: z.number().int().nonnegative(),
  objects: z.array(manifestObjectSchema).min(1),
  contents: z.array(contentEntrySchema),
  vaultraVersion: z.string(),
});
export type Manifest = z.infer<typeof manifestSchema>;
