import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { logRangeSchema } from './log-archive.js';

export const runStatusSchema = z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']);
export type RunStatus = z.infer<typeof runStatusSchema>;

/**
 * `log`: a log catch-up run (`vaultra logs push`), which stores a range of the server's change log for point-in-time recovery.
 * `drill`: a restore drill (`vaultra drill`), a backup restored into a scratch target and checked there; it stores nothing.
 */
export const runKindSchema = z.enum(['backup', 'restore', 'verify', 'log', 'drill']);

/** What a backup stores: everything (`full`), or what changed since the chain's full (`differential`) or since the run before (`incremental`). */
export const backupTypeSchema = z.enum(['full', 'differential', 'incremental']);
export type BackupType = z.infer<typeof backupTypeSchema>;
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

/**
 * The process carrying out a run, recorded while it runs: on the same host, a later run (or
 * `vaultra catalog repair`) can tell a run whose process is gone from one still working.
 */
export const runnerProcessSchema = z.strictObject({
  pid: z.number().int().positive(),
  hostname: z.string().min(1),
});
export type RunnerProcess = z.infer<typeof runnerProcessSchema>;

/** Something a failed run left in storage that it could not remove, and how it goes away. */
export const leftBehindSchema = z.strictObject({
  /** `multipart-upload`, `resumable-session`, `uncommitted-blocks`, `object`… */
  kind: z.string(),
  /** Printable URL of the object it belongs to. */
  location: z.string(),
  /** The store's id for it (an S3 upload id), when it has one. */
  id: z.string().optional(),
  /** Who removes it: the next backup of the job, `vaultra catalog repair`, the service's expiry. */
  cleanup: z.string(),
});
export type LeftBehind = z.infer<typeof leftBehindSchema>;

/**
 * What a drill measured (docs/drills.md). `rtoMs` is the time from the first read of the backup to
 * the last check: fetch, restore (download, decryption, decompression and load, streamed together
 * as a real restore runs them) and verify. Starting the scratch server is measured apart
 * (`scratchMs`): in an outage the server to restore into is provisioned by other means.
 */
export const drillOutcomeSchema = z.strictObject({
  backupRunId: runIdSchema,
  rtoMs: z.number().int().nonnegative(),
  phasesMs: z.strictObject({
    fetch: z.number().int().nonnegative(),
    restore: z.number().int().nonnegative().optional(),
    verify: z.number().int().nonnegative().optional(),
  }),
  scratchMs: z.number().int().nonnegative().optional(),
  /** The job's RTO budget when one was set: a drill whose `rtoMs` passes it alerts. */
  rtoBudgetMs: z.number().int().positive().optional(),
  checks: z.number().int().nonnegative(),
  failedChecks: z.number().int().nonnegative(),
  /** Where the backup was restored, safe to print: `throwaway postgres 15.8`, `127.0.0.1:5432/vaultra_drill_…`. */
  scratch: z.string().optional(),
});
export type DrillOutcome = z.infer<typeof drillOutcomeSchema>;

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
  /** The process that ran it, as the runner recorded it when the run started. */
  runner: runnerProcessSchema.optional(),
  /** How long the run may take: past this, a run still `running` or `pending` is abandoned. */
  timeoutMs: z.number().int().positive().optional(),
  /** What a failed run left in storage, to be removed later (the error message says the same). */
  leftBehind: z.array(leftBehindSchema).optional(),
  /** A chunked snapshot's type (absent: a single-object full backup, as every backup before chunked snapshots). */
  type: backupTypeSchema.optional(),
  /** The run a differential or incremental deduplicated against. */
  baseRunId: runIdSchema.optional(),
  /** A log run's range: what point-in-time restores plan from. */
  log: logRangeSchema.optional(),
  /** A drill's measurements and check counts (kind `drill`). */
  drill: drillOutcomeSchema.optional(),
  /**
   * How long each phase of the run took, in milliseconds by the phase's name as its trace span
   * names it (`resolve secrets`, `claim`, `dump, compress, encrypt, upload`, `sign`, `commit`…), in
   * the order the phases started. The record's own final write is not in it: a record cannot time
   * its own writing.
   */
  phasesMs: z.record(z.string().min(1), z.number().int().nonnegative()).optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;
