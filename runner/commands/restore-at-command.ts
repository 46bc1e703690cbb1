import type { Catalog } from '../../core/ports/catalog.js';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import { restoreToPointInTime, type PointInTimeReport } from '../../core/usecases/restore-at.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';
import { runIdSchema } from '../../core/domain/run.js';
import { ConfigError } from '../../core/errors.js';
import { decryptorsFor } from '../keys.js';
import { existingDedupKey } from '../dedup-key.js';
import { Progress } from '../progress.js';
import { formatBytes } from '../format.js';
import { trustPolicyFor } from '../signing-keys.js';
import { jobOf } from './job-of.js';
import { positiveInteger, printFields, printJson } from './shared.js';
import type { RestoreOptions } from './restore-command.js';
import { redactTarget } from './restore-command.js';

/** `pgdata:<path>`: a PostgreSQL data directory, where only a physical base restores. */
export function isDataDirectory(target: string): boolean {
  return target.startsWith('pgdata:');
}

/** `2026-12-06T10:42:00Z`, `…+01:00`, or `latest`; a time without a zone is refused rather than guessed. */
export function parseRestoreTime(text: string): Date | 'latest' {
  if (text === 'latest') return 'latest';
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim())) {
    throw new ConfigError(`--at ${JSON.stringify(text)}: expected an ISO 8601 time with its zone, e.g. 2026-12-06T10:42:00Z or 2026-12-06T11:42:00+01:00, or latest`);
  }
  const at = new Date(text.trim().replace(' ', 'T'));
  if (Number.isNaN(at.getTime())) throw new ConfigError(`--at ${JSON.stringify(text)}: not a valid time`);
  return at;
}

/**
 * `vaultra restore --at <time>` (and a physical base into `pgdata:`, which needs its log to become
 * consistent): plans, checks, restores the base and replays the log (restore-at.ts), then prints
 * the plan and what was reached.
 */
export async function restoreAtCommand(ref: string | undefined, options: RestoreOptions, store: { storage: StorageBackend; catalog: Catalog }, signal: AbortSignal | undefined): Promise<void> {
  const at = options.at === undefined ? 'consistent' : parseRestoreTime(options.at);
  if (ref !== undefined && ref !== 'latest') runIdSchema.parse(ref);
  const job = await jobOf(store.storage, options.job, signal);
  const { decryptor, randomAccess } = await decryptorsFor({ identity: options.identity, passphraseEnv: options.passphraseEnv });
  const dedupKey = await existingDedupKey(options.dedupKey);
  const trust = await trustPolicyFor(options, signal);
  const progress = new Progress(options.dryRun ? 'checking' : 'restoring', options.progress && !options.json);
  let report: PointInTimeReport;
  try {
    report = await restoreToPointInTime(
      { ...store, decryptor, randomAccess, trust, ...backupAdapters, ...(dedupKey ? { dedupKey } : {}) },
      {
        job,
        at,
        ...(ref !== undefined && ref !== 'latest' ? { baseRunId: ref } : {}),
        target: options.target,
        ...(options.force ? { force: true } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
        ...(options.start ? { startServer: true } : {}),
        ...(options.jobs ? { jobs: positiveInteger(options.jobs, '--jobs') } : {}),
        ...(signal ? { signal } : {}),
        onProgress: (bytes) => progress.update(bytes),
      },
    );
  } finally {
    progress.stop();
  }
  const { plan } = report;
  const archivedEvents = plan.ranges.some(({ range }) => range.events === undefined) ? 'an uncounted number of' : String(plan.ranges.reduce((sum, { range }) => sum + range.events!, 0));
  const summary = {
    job,
    target: redactTarget(options.target),
    at: plan.at.toISOString(),
    dryRun: report.dryRun,
    status: report.dryRun ? 'planned' : 'restored',
    base: { runId: plan.base.runId, consistentAt: plan.base.position.consistentAt.toISOString(), logStart: plan.base.position.start },
    logRuns: plan.ranges.map(({ runId, range }) => ({ runId, start: range.start, end: range.end, events: range.events, coveredUntil: range.coveredUntil })),
    reachable: plan.windows.map((w) => ({ from: w.from.toISOString(), until: w.until.toISOString() })),
    ...(report.base ? { bytesRaw: report.base.bytesRaw } : {}),
    ...(report.replay ? { replay: { ...report.replay, ...(report.replay.reachedAt ? { reachedAt: report.replay.reachedAt.toISOString() } : {}) } } : {}),
    ...(plan.skipped.length ? { skipped: plan.skipped } : {}),
  };
  for (const note of report.replay?.notes ?? []) process.stderr.write(`vaultra: ${note}\n`);
  if (options.json) return printJson(summary);
  const title = report.dryRun ? `dry run: job ${job} can be restored to ${summary.at}; nothing was written` : `restored job ${job} to ${summary.at}`;
  printFields(title, [
    ['target', summary.target],
    ['base', `${plan.base.runId} (consistent at ${summary.base.consistentAt}, log position ${plan.base.position.start})`],
    ['log', plan.ranges.length ? `${plan.ranges.length} log run(s), ${plan.ranges[0]!.range.start} → ${plan.ranges.at(-1)!.range.end}, ${archivedEvents} transaction(s) archived` : 'none needed'],
    ['replayed', report.replay ? `${report.replay.events ?? '?'} transaction(s)${report.replay.reachedAt ? `, the last committed at ${report.replay.reachedAt.toISOString()}` : ''}` : undefined],
    ['base size', report.base ? formatBytes(report.base.bytesRaw) : undefined],
    ['reachable', summary.reachable.map((w) => `${w.from} … ${w.until}`).join(', ')],
  ]);
}
