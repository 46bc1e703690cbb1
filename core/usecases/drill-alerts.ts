import type { Alert } from '../ports/notifier.js';
import type { DrillOutcome, RunRecord } from '../domain/run.js';
import { formatDurationMs } from '../config/durations.js';
import { redact } from '../domain/redact.js';

/** Facts every drill alert carries: which backup, how long each phase took, how many checks failed. */
function drillFacts(run: RunRecord): Record<string, string> {
  const drill = run.drill;
  if (!drill) return {};
  const phases = Object.entries(drill.phasesMs).map(([phase, ms]) => `${phase} ${seconds(ms)}`);
  return {
    backup: drill.backupRunId,
    rto: seconds(drill.rtoMs),
    phases: phases.join(', '),
    checks: `${drill.checks - drill.failedChecks} of ${drill.checks} passed`,
    ...(drill.scratch ? { scratch: drill.scratch } : {}),
  };
}

/** A drill failed: the backup did not come back as recorded, or could not be restored at all. */
export function drillFailedAlert(environment: string, run: RunRecord): Alert {
  return {
    kind: 'drill-failed',
    severity: 'critical',
    environment,
    job: run.job,
    runId: run.runId,
    title: `${run.job}: restore drill failed`,
    detail: `${redact(run.error?.message ?? 'no reason recorded')}. The backup ${run.drill?.backupRunId ?? ''} may not restore when you need it: run vaultra drill ${run.drill?.backupRunId ?? 'latest'} --job ${run.job} --report drill.md to see every check, and take a new backup once the cause is fixed. The scratch target was removed.`,
    at: run.finishedAt ?? run.startedAt,
    facts: drillFacts(run),
  };
}

/** A drill passed but took longer than the job's RTO budget. */
export function rtoBreachAlert(environment: string, run: RunRecord, drill: DrillOutcome): Alert {
  return {
    kind: 'rto-breach',
    severity: 'warning',
    environment,
    job: run.job,
    runId: run.runId,
    title: `${run.job}: restore drill took ${seconds(drill.rtoMs)}, past its RTO of ${formatDurationMs(drill.rtoBudgetMs ?? 0)}`,
    detail: `The backup restored and every check passed, but a restore would take longer than the job allows. Look at the slowest phase (${slowest(drill)}): a larger runner, a closer region, or a chunked backup restored with --jobs shorten it; or raise drill.rto if the budget is wrong.`,
    at: run.finishedAt ?? run.startedAt,
    facts: drillFacts(run),
  };
}

function slowest(drill: DrillOutcome): string {
  const [phase, ms] = Object.entries(drill.phasesMs).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0] ?? ['restore', 0];
  return `${phase}, ${seconds(ms ?? 0)}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
