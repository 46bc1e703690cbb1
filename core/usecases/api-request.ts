import * as z from 'zod';
import type { Catalog } from '../ports/catalog.js';
import type { JobLauncher } from '../ports/job-launcher.js';
import type { InlineRunOrder, InlineRunQueue } from '../ports/inline-run-queue.js';
import type { Alert } from '../ports/notifier.js';
import { jobOf, type Environment, type ScheduledJob } from '../config/environments.js';
import { runsInline } from '../config/inline-runtime.js';
import { jobNameSchema, newRunId, runIdSchema, runStatusSchema, runKindSchema, type RunRecord } from '../domain/run.js';
import { parseAtEdge } from '../domain/validate.js';
import { oneLine, VaultraError } from '../errors.js';
import { redact } from '../domain/redact.js';
import { urlCarriesPassword } from '../domain/shared-schemas.js';
import { startBackup } from './start-backup.js';
import { restoreCommandLine, verifyCommandLine, type RunnerTarget } from './runner-commands.js';
import { systemClock, type Clock } from '../domain/clock.js';

const runRef = z.union([runIdSchema, z.literal('latest')]);

/** On-demand requests (the api function's event, an authenticated HTTP body on GCP/Azure). */
export const apiRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('backup'), job: jobNameSchema }),
  z.strictObject({
    action: z.literal('restore'),
    job: jobNameSchema,
    runId: runRef.default('latest'),
    /** Where to restore: a secret reference, or a URL without password. */
    target: z.string().min(1).refine((value) => !urlCarriesPassword(value), 'the target URL carries a password, which a request must not hold: give a secret reference (secret+aws://…) instead'),
    tables: z.array(z.string().min(1)).optional(),
    dryRun: z.boolean().optional(),
    force: z.boolean().optional(),
  }),
  z.strictObject({ action: z.literal('verify'), job: jobNameSchema, runId: runRef.default('latest') }),
  z.strictObject({
    action: z.literal('list'),
    job: jobNameSchema.optional(),
    status: runStatusSchema.optional(),
    kind: runKindSchema.optional(),
    limit: z.number().int().min(1).max(100).default(20),
  }),
  z.strictObject({ action: z.literal('status'), job: jobNameSchema, runId: runIdSchema.optional() }),
]);
export type ApiRequest = z.input<typeof apiRequestSchema>;

export type ApiResponse =
  | ({ readonly ok: true; readonly action: string } & Record<string, unknown>)
  | { readonly ok: false; readonly error: { readonly kind: string; readonly message: string } };

export interface ApiDependencies {
  readonly environment: Environment;
  readonly catalog: Catalog;
  readonly launcher: JobLauncher;
  readonly target: RunnerTarget;
  readonly notify: (alert: Alert) => Promise<unknown>;
  /** @default systemClock */
  readonly now?: Clock;
  readonly runnerEnvironment?: Readonly<Record<string, string>>;
  /**
   * Where the backups, restores and verifies of `runtime: inline` jobs go (AWS, an environment
   * with inline jobs): to the inline functions, as their schedules' backups do, not to a task.
   * @default none: every run starts through `launcher`
   */
  readonly inlineRuns?: InlineRunQueue;
}

export interface ApiRequestOptions {
  readonly signal?: AbortSignal;
  /**
   * The id a restore or verify records its run as, when the caller chose it and answered with it
   * already (the api function, handing the request to the inline restore function).
   * @default a new run id
   */
  readonly runId?: string;
}

/**
 * Answers one on-demand request with JSON. Backups go through the same start as scheduled ones
 * (lock, record, launch); restores and verifies start a runner task that records its own run.
 * A `runtime: inline` job's backup, restore or verify is queued for the inline functions instead
 * (`deps.inlineRuns`), and answered with the run id it will be recorded as.
 * Never throws: a bad request or a failure is an `{ ok: false, error }` answer, redacted.
 */
export async function handleApiRequest(deps: ApiDependencies, raw: unknown, options: ApiRequestOptions = {}): Promise<ApiResponse> {
  try {
    return await dispatch(deps, parseAtEdge(apiRequestSchema, raw, 'request'), options);
  } catch (error) {
    return { ok: false, error: { kind: error instanceof VaultraError ? error.kind : 'internal', message: redact(oneLine(error)) } };
  }
}

async function dispatch(deps: ApiDependencies, request: z.infer<typeof apiRequestSchema>, options: ApiRequestOptions): Promise<ApiResponse> {
  const { signal } = options;
  const io = signal ? { signal } : {};
  switch (request.action) {
    case 'backup': {
      const job = jobOf(deps.environment, request.job);
      const runId = newRunId((deps.now ?? systemClock)());
      const inline = inlineQueueFor(deps, job);
      if (inline) return queueInline(inline, { action: 'backup', job: job.name, runId }, io);
      const started = await startBackup(deps, { job, runId, ...(deps.runnerEnvironment ? { runnerEnvironment: deps.runnerEnvironment } : {}), ...io });
      const ok = started.outcome === 'started';
      return ok
        ? { ok: true, action: 'backup', outcome: started.outcome, runId, taskId: started.taskId }
        : { ok: false, error: { kind: started.outcome, message: started.run?.error?.message ?? started.outcome } };
    }
    case 'restore':
    case 'verify': {
      const job = jobOf(deps.environment, request.job);
      const taskRunId = options.runId ?? newRunId((deps.now ?? systemClock)());
      const inline = inlineQueueFor(deps, job);
      if (inline) return queueInline(inline, { action: request.action, job: job.name, runId: taskRunId, request }, io);
      const command = request.action === 'restore' ? restoreCommandLine(job, { ...request, runId: request.runId }, deps.target) : verifyCommandLine(job, request.runId, deps.target);
      // readsBackups: the launcher starts it under the identity that may decrypt, never a backup's.
      const { taskId } = await deps.launcher.launch(
        { job: job.name, runId: taskRunId, command, environment: { VAULTRA_CATALOG: deps.target.catalogUrl, ...deps.runnerEnvironment }, readsBackups: true },
        signal,
      );
      // The runner records the run under taskRunId (VAULTRA_RUN_ID), so the caller can follow it with status.
      return { ok: true, action: request.action, runId: taskRunId, taskId, note: `the runner records the ${request.action} as run ${taskRunId}: ask {"action":"status","job":"${job.name}","runId":"${taskRunId}"}` };
    }
    case 'list': {
      const runs = await deps.catalog.list({ ...(request.job ? { job: request.job } : {}), ...(request.status ? { status: request.status } : {}), ...(request.kind ? { kind: request.kind } : {}), limit: request.limit }, io);
      return { ok: true, action: 'list', runs };
    }
    case 'status': {
      const job = jobOf(deps.environment, request.job);
      if (request.runId) {
        const run = await deps.catalog.get(job.name, request.runId, io);
        return run ? { ok: true, action: 'status', run } : { ok: false, error: { kind: 'not-found', message: `job ${job.name} has no run ${request.runId}` } };
      }
      const [latest] = await deps.catalog.list({ job: job.name, kind: 'backup', limit: 1 }, io);
      const lastSuccess = await deps.catalog.latestSuccessful(job.name, io);
      return { ok: true, action: 'status', job: job.name, latest: latest ?? null, lastSuccess: lastSuccess ?? null, rpoSeconds: job.rpoMs / 1000, ...rpoState(lastSuccess, job.rpoMs, (deps.now ?? systemClock)()) };
    }
  }
}

/** The inline functions' queue, when `job` runs inline and the deployment has one. */
function inlineQueueFor(deps: ApiDependencies, job: ScheduledJob): InlineRunQueue | undefined {
  return deps.inlineRuns && runsInline(job) ? deps.inlineRuns : undefined;
}

/**
 * Hands an inline job's run to its function and answers at once: the run is recorded as `runId`
 * once the function starts it (a backup may still fail over to Fargate there), so the caller
 * follows it with `status`. `taskId` names the queued invocation, whose log is the run's.
 */
async function queueInline(queue: InlineRunQueue, order: InlineRunOrder, io: { readonly signal?: AbortSignal }): Promise<ApiResponse> {
  const { invocationId } = await queue.enqueue(order, io);
  const { action, job, runId } = order;
  return {
    ok: true,
    action,
    outcome: 'queued',
    runtime: 'inline',
    runId,
    taskId: `inline-invocation:${invocationId}`,
    note: `job ${job} runs inline: its function records the ${action} as run ${runId} when it starts it; ask {"action":"status","job":"${job}","runId":"${runId}"}`,
  };
}

function rpoState(lastSuccess: RunRecord | undefined, rpoMs: number, now: Date): { secondsSinceLastSuccess: number | null; withinRpo: boolean } {
  if (!lastSuccess) return { secondsSinceLastSuccess: null, withinRpo: false };
  const age = now.getTime() - Date.parse(lastSuccess.finishedAt ?? lastSuccess.startedAt);
  return { secondsSinceLastSuccess: Math.round(age / 1000), withinRpo: age <= rpoMs };
}
