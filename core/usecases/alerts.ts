import type { Alert } from '../ports/notifier.js';
import type { RunRecord } from '../domain/run.js';
import { formatDurationMs } from '../config/durations.js';
import type { LogRange } from '../domain/log-archive.js';
import { redact } from '../domain/redact.js';

/**
 * The alerts the orchestration raises, worded for the person paged at 3 a.m.: the title says
 * what broke, the detail says what to look at next.
 */

function runFacts(run: RunRecord, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const facts: Record<string, string | undefined> = {
    status: run.status,
    engine: run.engine,
    duration: run.durationMs === undefined ? undefined : run.durationMs < 1000 ? `${run.durationMs} ms` : `${(run.durationMs / 1000).toFixed(1)} s`,
    'bytes dumped': run.bytesRaw?.toString(),
    'bytes stored': run.bytesStored?.toString(),
    location: run.location,
    task: run.taskId,
    ...extra,
  };
  return Object.fromEntries(Object.entries(facts).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export function runFailedAlert(environment: string, run: RunRecord, extra: Record<string, string | undefined> = {}): Alert {
  const reason = redact(run.error?.message ?? 'no reason recorded');
  return {
    kind: 'run-failed',
    severity: 'critical',
    environment,
    job: run.job,
    runId: run.runId,
    runKind: run.kind,
    title: `${run.job}: ${run.kind === 'log' ? 'log push' : run.kind} failed`,
    detail:
      run.kind === 'log'
        ? `${reason}. The archived log is untouched; the next push starts again from its end. Look at the runner's log for run ${run.runId}: while pushes fail, restores cannot reach past the last archived time (this page comes once per streak; the lag alert follows past the RPO).`
        : `${reason}. No backup of this run is listed; earlier backups are untouched. Look at the runner's log for run ${run.runId}, fix the cause, then start a backup on demand.`,
    at: run.finishedAt ?? new Date().toISOString(),
    facts: runFacts(run, extra),
  };
}

/** @param routine whether nobody asked to read it (the job has no `notifyOnSuccess`): then only run trackers get it. */
export function runSucceededAlert(environment: string, run: RunRecord, routine = false): Alert {
  return {
    ...(routine ? { routine } : {}),
    kind: 'run-succeeded',
    severity: 'info',
    environment,
    job: run.job,
    runId: run.runId,
    runKind: run.kind,
    title: `${run.job}: ${run.kind} succeeded`,
    detail: `Backup ${run.runId} is stored and its manifest written.`,
    at: run.finishedAt ?? new Date().toISOString(),
    facts: runFacts(run),
  };
}

/** A scheduled run's task was launched: routine, for run trackers (a healthchecks.io `/start` ping). */
export function runStartedAlert(environment: string, run: RunRecord): Alert {
  return {
    kind: 'run-started',
    severity: 'info',
    routine: true,
    environment,
    job: run.job,
    runId: run.runId,
    runKind: run.kind,
    title: `${run.job}: ${run.kind === 'log' ? 'log push' : run.kind} started`,
    detail: `Run ${run.runId} was handed to the runner.`,
    at: run.startedAt,
  };
}

/**
 * A run succeeded after the job's previous one of its kind failed (or, for a backup, after its
 * RPO had passed): the all-clear for the failure page, which closes a PagerDuty incident.
 */
export function runRecoveredAlert(environment: string, run: RunRecord, previous: RunRecord): Alert {
  const what = run.kind === 'log' ? 'log push' : run.kind;
  const before = previous.status === 'failed' ? `after the failure of run ${previous.runId}` : 'after the job had gone past its RPO';
  return {
    kind: 'run-recovered',
    severity: 'info',
    environment,
    job: run.job,
    runId: run.runId,
    runKind: run.kind,
    title: `${run.job}: ${what} succeeded again`,
    detail: `Run ${run.runId} succeeded ${before}. Nothing more to do unless the cause may come back.`,
    at: run.finishedAt ?? new Date().toISOString(),
    facts: runFacts(run, { 'previous run': `${previous.runId} (${previous.status})` }),
  };
}

export function runSkippedAlert(environment: string, run: RunRecord): Alert {
  return {
    kind: 'run-skipped',
    severity: 'warning',
    environment,
    job: run.job,
    runId: run.runId,
    runKind: run.kind,
    title: `${run.job}: scheduled backup skipped, the previous run is still going`,
    detail: `Another run of ${run.job} holds the job's lock, so this trigger started no second dump against the same database. If this repeats, the job takes longer than its schedule allows: widen the schedule or give the runner more CPU.`,
    at: run.startedAt,
    facts: runFacts(run),
  };
}

export function launchFailedAlert(environment: string, run: RunRecord): Alert {
  return {
    kind: 'launch-failed',
    severity: 'critical',
    environment,
    job: run.job,
    runId: run.runId,
    runKind: run.kind,
    title: `${run.job}: the ${run.kind === 'log' ? 'log push' : 'backup'} task could not be started`,
    detail: `${redact(run.error?.message ?? 'no reason recorded')}. Nothing ran. Check the cluster's capacity and the task definition, then start a backup on demand.`,
    at: run.finishedAt ?? new Date().toISOString(),
    facts: runFacts(run),
  };
}

export function rpoBreachAlert(environment: string, job: string, rpoMs: number, lastSuccess: RunRecord | undefined, ageMs: number, now: Date): Alert {
  return {
    kind: 'rpo-breach',
    severity: 'critical',
    environment,
    job,
    ...(lastSuccess ? { runId: lastSuccess.runId } : {}),
    title: `${job}: no successful backup for ${formatDurationMs(Math.floor(ageMs / 60_000) * 60_000)} (RPO ${formatDurationMs(rpoMs)})`,
    detail: lastSuccess
      ? `The newest successful backup is ${lastSuccess.runId}. Every run since has failed, been skipped or not run at all: check the job's recent runs and its schedule.`
      : `The job has never had a successful backup. Check its recent runs and its schedule.`,
    at: now.toISOString(),
    facts: { rpo: formatDurationMs(rpoMs), ...(lastSuccess ? { 'last success': lastSuccess.finishedAt ?? lastSuccess.startedAt } : {}) },
  };
}

export function runStuckAlert(environment: string, run: RunRecord, timeoutMs: number, now: Date): Alert {
  return {
    kind: 'run-stuck',
    severity: 'critical',
    environment,
    job: run.job,
    runId: run.runId,
    runKind: run.kind,
    title: `${run.job}: run ${run.runId} was ${run.status} past its ${formatDurationMs(timeoutMs)} timeout`,
    detail: `The run never reported back, so it is now recorded as failed and the job's lock released. Its task may have been lost or may still be running: check the runner's log; a partial upload is never listed as a backup.`,
    at: now.toISOString(),
    facts: runFacts(run),
  };
}

/** A runner task with no run record of its own (an on-demand restore or verify) ended badly. */
export function taskFailedAlert(environment: string, task: { job: string; runId: string; taskId: string; exitCode: number | undefined; stoppedReason?: string; stoppedAt?: string }): Alert {
  const exit = task.exitCode === undefined ? 'before the runner started' : `with exit code ${task.exitCode}`;
  return {
    kind: 'run-failed',
    severity: 'critical',
    environment,
    job: task.job,
    title: `${task.job}: an on-demand runner task failed`,
    detail: `The task stopped ${exit}${task.stoppedReason ? ` (${redact(task.stoppedReason)})` : ''}. Its restore or verify run, if it got that far, is in the catalog with the error; the runner's log has the rest.`,
    at: task.stoppedAt ?? new Date().toISOString(),
    facts: { task: task.taskId },
  };
}

/** Minutes, rounded down, as a duration: `47m`, `3h`. */
function roughDuration(ms: number): string {
  return formatDurationMs(Math.max(1, Math.floor(ms / 60_000)) * 60_000);
}

/**
 * The job's archived log ends further back than its log RPO (or no log was ever archived though a
 * base exists): a restore cannot reach the last `ageMs` of changes.
 */
export function logLagAlert(environment: string, job: string, rpoMs: number, newest: RunRecord | undefined, ageMs: number, now: Date): Alert {
  const coveredUntil = newest?.log?.coveredUntil;
  return {
    kind: 'log-lag',
    severity: 'critical',
    environment,
    job,
    ...(newest ? { runId: newest.runId } : {}),
    title: newest
      ? `${job}: archived log is ${roughDuration(ageMs)} behind the server (log RPO ${formatDurationMs(rpoMs)})`
      : `${job}: no log archived for ${roughDuration(ageMs)} since the newest backup (log RPO ${formatDurationMs(rpoMs)})`,
    detail: newest
      ? `A point-in-time restore reaches ${coveredUntil} at most. Log pushes have failed, been skipped or not run since: check the job's recent log runs, the server's binary log / WAL / oplog settings and the runner's log.`
      : `The job has a backup but no successful log push, so no restore can go past that backup. Check the job's log runs and the server's binary log / WAL / oplog settings (vaultra doctor).`,
    at: now.toISOString(),
    facts: { 'log rpo': formatDurationMs(rpoMs), ...(coveredUntil ? { 'covered until': coveredUntil } : {}) },
  };
}

/**
 * A log push found the server's log no longer starting where the archive ended (purged before it
 * was archived): no restore can cross `gapFrom`…`start`; a new base backup starts a whole chain again.
 */
export function logGapAlert(environment: string, run: RunRecord & { log: LogRange & { gapFrom: string } }, now: Date): Alert {
  return {
    kind: 'log-gap',
    severity: 'critical',
    environment,
    job: run.job,
    runId: run.runId,
    runKind: run.kind,
    title: `${run.job}: a stretch of the server's log was lost before it was archived (${run.log.gapFrom} to ${run.log.start})`,
    detail: `The server no longer had its ${run.log.kind} from ${run.log.gapFrom} when log push ${run.runId} ran, so restores cannot reach a time inside or after the gap from an older base. Take a backup now (it starts a new base), and keep the server's log longer than the push interval (binlog_expire_logs_seconds, wal_keep_size or a replication slot, the oplog size).`,
    at: now.toISOString(),
    facts: { 'lost from': run.log.gapFrom, 'archive resumes at': run.log.start, ...(run.log.firstEventAt ? { 'first event after the gap': run.log.firstEventAt } : {}) },
  };
}
