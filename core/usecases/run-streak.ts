import type { Catalog, CatalogCallOptions } from '../ports/catalog.js';
import type { ScheduledJob } from '../config/environments.js';
import type { RunRecord } from '../domain/run.js';

/**
 * The run a success ends a bad streak after: the previous finished run of its kind, when it
 * failed or (a backup) when it ended longer ago than the job's RPO, so the watchdog may have
 * paged. `undefined` when the job was healthy, or had never run.
 */
export async function streakEndedBy(catalog: Catalog, run: RunRecord, job: Pick<ScheduledJob, 'rpoMs'> | undefined, io: CatalogCallOptions = {}): Promise<RunRecord | undefined> {
  const earlier = await catalog.list({ job: run.job, kind: run.kind, until: run.startedAt, limit: 10 }, io);
  const finished = earlier.filter((candidate) => candidate.runId !== run.runId && (candidate.status === 'succeeded' || candidate.status === 'failed'));
  const previous = finished[0];
  if (previous?.status === 'failed') return previous;
  if (run.kind !== 'backup' || !job || !previous) return undefined;
  const sinceMs = Date.parse(run.finishedAt ?? run.startedAt) - Date.parse(previous.finishedAt ?? previous.startedAt);
  return sinceMs > job.rpoMs ? previous : undefined;
}
