import { randomBytes } from 'node:crypto';
import * as z from 'zod';

export const runStatusSchema = z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const runKindSchema = z.enum(['backup', 'restore', 'verify']);
export type RunKind = z.infer<typeof runKindSchema>;

/** Job names become path segments and table keys: keep them boring. */
export const jobNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'job names are 1-63 chars of a-z, 0-9, ".", "_", "-", starting with a letter or digit');

/**
 * `20261122T031502.123Z-3f9c2a`: UTC start time to the millisecond (ISO 8601 basic format), then
 * 24 random bits. Sorts by time as a plain string, so "latest" is a sort, not a lookup.
 */
export const RUN_ID_PATTERN = /\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}/;
export const runIdSchema = z.string().regex(new RegExp(`^${RUN_ID_PATTERN.source}$`), 'run ids look like 20261122T031502.123Z-3f9c2a');

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** When a run id was made, from the id itself. */
export function runIdTime(runId: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z/.exec(runId);
  if (!m) throw new Error(`not a run id: ${runId}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!));
}

export const runErrorSchema = z.strictObject({
  kind: z.string(),
  message: z.string(),
});

export const runRecordSchema = z.strictObject({
  runId: runIdSchema,
  job: jobNameSchema,
  kind: runKindSchema,
  status: runStatusSchema,
  engine: z.string().optional(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
  durationMs: z.number().int().nonnegative().optional(),
  bytesRaw: z.number().int().nonnegative().optional(),
  bytesStored: z.number().int().nonnegative().optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Storage URL of the run folder. */
  location: z.string().optional(),
  /** Key of the manifest, relative to the storage root; present only once it is written. */
  manifestKey: z.string().optional(),
  error: runErrorSchema.optional(),
  /** The container task that runs it (ECS task ARN, Cloud Run execution, Container Apps execution). */
  taskId: z.string().optional(),
  /** Set when retention removed the backup's objects; the record stays as history. */
  prunedAt: z.iso.datetime().optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;
