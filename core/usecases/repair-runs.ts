import { canSweep } from '../ports/storage-backend.js';
import { settleAbandonedRuns, type SettleDependencies, type SettledRun } from './settle-runs.js';
import { sweepLeftovers, type SweepReport } from './sweep-leftovers.js';

export interface RepairReport extends SweepReport {
  /** The storage repaired, as a printable URL. */
  readonly location: string;
  readonly settled: SettledRun[];
  /** What this store leaves that it cannot list, when an abandoned backup may have left some. */
  readonly notes: string[];
}

/**
 * Brings a store and its catalog back in line after crashes: settles abandoned runs (see
 * `settleAbandonedRuns`), then removes what no live run owns (see `sweepLeftovers`). Runs at the
 * end of every backup for its job, and for a whole store with `vaultra catalog repair`.
 * Idempotent: a second pass finds nothing.
 */
export async function repairRuns(deps: SettleDependencies, options: { job?: string; exceptRunId?: string; signal?: AbortSignal } = {}): Promise<RepairReport> {
  const settled = await settleAbandonedRuns(deps, options);
  const swept = await sweepLeftovers(deps, options);
  const unlisted = canSweep(deps.storage) ? deps.storage.unlistedLeftovers : undefined;
  const notes = unlisted && settled.some((run) => (run.kind === 'backup' || run.kind === 'log') && run.status === 'failed') ? [unlisted] : [];
  return { location: deps.storage.location, settled, ...swept, notes };
}

/** Whether a repair found anything to report. */
export function repairedAnything(report: RepairReport): boolean {
  return report.settled.length > 0 || report.removed.length > 0 || report.failed.length > 0 || report.notes.length > 0;
}
