import type { ExecutionTracker } from '../ports/execution-tracker.js';
import type { RunRecord } from '../domain/run.js';
import { finishRun, type FinishRunDependencies, type FinishRunOutcome } from './finish-run.js';

export interface ReconcileDependencies extends FinishRunDependencies {
  readonly tracker: ExecutionTracker;
}

export interface ReconciledRun {
  readonly job: string;
  readonly runId: string;
  readonly outcome: FinishRunOutcome['outcome'] | 'still-running' | 'no-execution';
}

/**
 * The completion step on platforms that emit no task-stopped event (GCP, Azure; DESIGN.md §1):
 * every `pending`/`running` backup run of the environment's jobs is looked up on the platform,
 * and each whose execution has ended is settled by `finishRun` — the same reconciliation of
 * exit code, runner record and manifest as AWS's task-finished. Runs whose execution cannot be
 * found are left to the watchdog's timeout (a trigger that died before its launch leaves one).
 */
export async function reconcileRuns(deps: ReconcileDependencies): Promise<ReconciledRun[]> {
  const open: RunRecord[] = [];
  for (const job of deps.environment.jobs) {
    for (const status of ['pending', 'running'] as const) open.push(...(await deps.catalog.list({ job: job.name, status, kind: 'backup' })));
  }
  if (open.length === 0) return [];
  const executions = await deps.tracker.statusOf(open.map((run) => run.runId));
  const results: ReconciledRun[] = [];
  for (const run of open) {
    const execution = executions.get(run.runId);
    if (!execution) {
      results.push({ job: run.job, runId: run.runId, outcome: 'no-execution' });
      continue;
    }
    if (execution.state === 'running') {
      results.push({ job: run.job, runId: run.runId, outcome: 'still-running' });
      continue;
    }
    const exitCode = execution.exitCode ?? (execution.state === 'succeeded' ? 0 : 1);
    const settled = await finishRun(deps, {
      job: run.job,
      runId: run.runId,
      taskId: execution.taskId,
      exitCode,
      ...(execution.reason ? { stoppedReason: execution.reason } : {}),
      ...(execution.finishedAt ? { stoppedAt: execution.finishedAt } : {}),
    });
    results.push({ job: run.job, runId: run.runId, outcome: settled.outcome });
  }
  return results;
}
