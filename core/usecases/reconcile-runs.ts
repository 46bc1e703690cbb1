import type { ExecutionTracker } from '../ports/execution-tracker.js';
import type { RunKind, RunRecord } from '../domain/run.js';
import { finishRun, type FinishRunDependencies, type FinishRunOutcome } from './finish-run.js';
import { systemClock } from '../domain/clock.js';

export interface ReconcileDependencies extends FinishRunDependencies {
  readonly tracker: ExecutionTracker;
}

export interface ReconciledRun {
  readonly job: string;
  readonly runId: string;
  readonly outcome: FinishRunOutcome['outcome'] | 'still-running' | 'no-execution';
}

/** How long after its timeout a finished run may still wait to be settled (a reconciler that was down). */
const SETTLE_HORIZON_MS = 24 * 3_600_000;
/**
 * The same for log pushes, shorter: a job pushes every few minutes, so a day of them is hundreds
 * of records to read at every reconcile. A push left unsettled past it keeps its lock only until
 * the lock expires, and the lag alert tells whether the archive suffered.
 */
const LOG_SETTLE_HORIZON_MS = 2 * 3_600_000;
/** Runs that ended with no execution to settle against: a refused launch, an overlap, the watchdog's timeout. */
const NEVER_EXECUTED = new Set(['launch', 'overlap', 'timeout']);

/**
 * The completion step on platforms that emit no task-stopped event (GCP, Azure; DESIGN.md §1).
 * A backup, log (of a job with `logs`) or drill run (of a job with `drill.schedule`) needs
 * settling until `finishRun` has stamped its execution's id on it (`taskId`):
 * - `pending`/`running` runs (the runner may have died without a word), and
 * - runs the runner itself recorded `succeeded` or `failed`, which it does before its
 *   execution ends — their lock is still held, their manifest unchecked, their alert unsent.
 * Each is looked up among the platform's executions; once its execution has ended it is settled
 * by `finishRun`, the same reconciliation of exit code, runner record and manifest as AWS's
 * task-finished (lock released, alerts, retention). Open runs with no execution found are left
 * to the watchdog's timeout (a trigger that died before its launch leaves one).
 */
export async function reconcileRuns(deps: ReconcileDependencies, options: { readonly signal?: AbortSignal } = {}): Promise<ReconciledRun[]> {
  const io = options.signal ? { signal: options.signal } : {};
  const now = (deps.now ?? systemClock)();
  const unsettled: RunRecord[] = [];
  for (const job of deps.environment.jobs) {
    // Log catch-ups (same runner task) and scheduled drills (the job's drill task) are launched and settled like backups.
    const kinds: RunKind[] = ['backup', ...(job.logs ? (['log'] as const) : []), ...(job.drill?.schedule ? (['drill'] as const) : [])];
    for (const kind of kinds) {
      const [timeoutMs, horizonMs] = kind === 'log' && job.logs ? [job.logs.timeoutMs, LOG_SETTLE_HORIZON_MS] : [job.timeoutMs, SETTLE_HORIZON_MS];
      const since = new Date(now.getTime() - timeoutMs - horizonMs).toISOString();
      for (const status of ['pending', 'running'] as const) unsettled.push(...(await deps.catalog.list({ job: job.name, status, kind }, io)));
      for (const status of ['succeeded', 'failed'] as const) {
        for (const run of await deps.catalog.list({ job: job.name, status, kind, since }, io)) {
          if (run.taskId === undefined && !run.prunedAt && !NEVER_EXECUTED.has(run.error?.kind ?? '')) unsettled.push(run);
        }
      }
    }
  }
  if (unsettled.length === 0) return [];
  const executions = await deps.tracker.statusOf(unsettled.map((run) => run.runId));
  const results: ReconciledRun[] = [];
  for (const run of unsettled) {
    const execution = executions.get(run.runId);
    if (!execution) {
      // A finished run whose execution the platform no longer lists has nothing to settle against.
      if (run.status === 'pending' || run.status === 'running') results.push({ job: run.job, runId: run.runId, outcome: 'no-execution' });
      continue;
    }
    if (execution.state === 'running') {
      results.push({ job: run.job, runId: run.runId, outcome: 'still-running' });
      continue;
    }
    const settled = await finishRun(deps, {
      job: run.job,
      runId: run.runId,
      taskId: execution.taskId,
      // Container Apps reports no exit code: a failed execution counts as exit 1.
      exitCode: execution.exitCode ?? (execution.state === 'succeeded' ? 0 : 1),
      ...(execution.reason ? { stoppedReason: execution.reason } : {}),
      ...(execution.finishedAt ? { stoppedAt: execution.finishedAt } : {}),
    });
    results.push({ job: run.job, runId: run.runId, outcome: settled.outcome });
  }
  return results;
}
