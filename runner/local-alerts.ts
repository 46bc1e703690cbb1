/**
 * The alerts of a backup that `vaultra run` starts on this machine (a laptop, a VM's cron): the
 * same as a cloud deployment sends from its functions, sent from the run's own lifecycle since
 * no function watches it. A start (routine: for a healthchecks.io `/start` ping), then the
 * failure, the all-clear after a failure or a missed RPO, or the routine success.
 *
 * A notifier that fails is reported on stderr as a warning and changes nothing else: the
 * backup's own outcome and exit code stay what they were.
 */
import type { Environment, ScheduledJob } from '../core/config/load-config.js';
import { notifiersFor } from '../core/adapters/notifiers/notifiers.js';
import { resolveSecret } from '../core/adapters/secrets/secret-resolvers.js';
import { systemClock } from '../core/domain/clock.js';
import type { RunRecord } from '../core/domain/run.js';
import { oneLine, VaultraError } from '../core/errors.js';
import type { Alert } from '../core/ports/notifier.js';
import type { Catalog } from '../core/ports/catalog.js';
import { runFailedAlert, runRecoveredAlert, runStartedAlert, runSucceededAlert } from '../core/usecases/alerts.js';
import { notifyAll } from '../core/usecases/notify-all.js';
import { streakEndedBy } from '../core/usecases/run-streak.js';

export interface LocalRun {
  readonly environment: Environment;
  readonly job: ScheduledJob;
  readonly runId: string;
  /** The catalog the run records into: where the previous run is looked up. */
  readonly catalog: () => Promise<Catalog>;
}

/** Runs `backup` between its start and end alerts; without notifiers configured, just runs it. */
export async function withRunAlerts(local: LocalRun, backup: () => Promise<RunRecord>): Promise<RunRecord> {
  const notifiers = notifiersFor(local.environment.notifications, { resolve: resolveSecret });
  if (notifiers.length === 0) return backup();
  const send = async (alert: Alert) => {
    const outcome = await notifyAll(notifiers, alert);
    for (const failure of outcome.failed) process.stderr.write(`vaultra: warning: alert not delivered: ${failure.error}\n`);
  };
  const environment = local.environment.name;
  const started: RunRecord = { runId: local.runId, job: local.job.name, kind: 'backup', status: 'running', startedAt: systemClock().toISOString() };
  await send(runStartedAlert(environment, started));
  let run: RunRecord;
  try {
    run = await backup();
  } catch (error) {
    // Stopped before it ran (a missing tool, an unusable key): still this job's failure.
    const finishedAt = systemClock().toISOString();
    const kind = error instanceof VaultraError ? error.kind : 'internal';
    await send(runFailedAlert(environment, { ...started, status: 'failed', finishedAt, error: { kind, message: oneLine(error) } }));
    throw error;
  }
  if (run.status !== 'succeeded') {
    await send(runFailedAlert(environment, run));
    return run;
  }
  const previous = await streakEndedBy(await local.catalog(), run, local.job).catch(() => undefined);
  await send(previous ? runRecoveredAlert(environment, run, previous) : runSucceededAlert(environment, run, !local.job.notifyOnSuccess));
  return run;
}
