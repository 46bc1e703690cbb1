import type { Environment } from '../../core/config/load-config.js';
import type { RunRecord } from '../../core/domain/run.js';
import type { Catalog } from '../../core/ports/catalog.js';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import type { RunLogReader } from '../../core/ports/run-log.js';
import type { OnDemandApi } from '../../core/ports/on-demand-api.js';
import type { CloudRunLog } from './cloud-endpoints.js';
import { jobStatuses, type JobStatus } from '../../core/usecases/job-status.js';
import { listRuns } from '../../core/usecases/list-runs.js';
import { locateBackup, type LocatedBackup } from '../../core/usecases/locate-backup.js';

/**
 * What the console reads from: one environment of the config, its storage and its catalog —
 * opened once by `vaultra tui` exactly as `vaultra status` and `vaultra list` open them.
 */
export interface ConsoleSources {
  readonly configPath: string;
  readonly environment: Environment;
  /** The `--from` the CLI equivalents of the screens need. */
  readonly storageUrl: string;
  readonly storage: StorageBackend;
  readonly catalog: Catalog;
  /** `--catalog`, when the catalog is not the one beside a local storage. */
  readonly catalogSpec?: string;
  /** Where the runs' log lines are read (run-log-readers.ts, or a cloud's log service); without one, runs show no log. */
  readonly runLog?: RunLogReader;
  /** A cloud environment's deployment: actions go through its api function, runs' logs come from its log service. Absent locally, where actions run here. */
  readonly cloud?: CloudConsole;
}

export interface CloudConsole {
  readonly api: OnDemandApi;
  readonly runLog: CloudRunLog;
}

/** One line of the overview: the job's status (`vaultra status`) and its last stored sizes, newest last. */
export interface JobOverview {
  readonly status: JobStatus;
  readonly storedBytes: readonly number[];
}

/** How many of a job's last backups the size trend shows. */
const TREND_LENGTH = 8;

/** Every job of the environment, as `vaultra status` reports it, with its size trend (`vaultra list --job`). */
export async function loadOverview(sources: ConsoleSources, signal?: AbortSignal): Promise<JobOverview[]> {
  const statuses = await jobStatuses(sources.environment, { catalog: sources.catalog }, signal ? { signal } : {});
  return Promise.all(
    statuses.map(async (status) => {
      const { runs } = await listRuns(sources.storage, sources.catalog, { job: status.job, ...(signal ? { signal } : {}) });
      const storedBytes = runs.slice(0, TREND_LENGTH).flatMap((run) => (run.bytesStored === undefined ? [] : [run.bytesStored])).reverse();
      return { status, storedBytes };
    }),
  );
}

/** A job's runs, newest first: its backups at this storage and every other run recorded there (`vaultra list --all --job`). */
export async function loadHistory(sources: ConsoleSources, job: string, signal?: AbortSignal): Promise<readonly RunRecord[]> {
  const { runs } = await listRuns(sources.storage, sources.catalog, { job, all: true, ...(signal ? { signal } : {}) });
  return runs;
}

/** A backup's manifest (`vaultra show`); undefined for a run that stored none (failed, a restore, a verify). */
export async function loadBackup(sources: ConsoleSources, run: RunRecord, signal?: AbortSignal): Promise<LocatedBackup | undefined> {
  if (run.kind !== 'backup' && run.kind !== 'log') return undefined;
  if (run.status !== 'succeeded' || run.prunedAt) return undefined;
  return locateBackup(sources.storage, { ref: run.runId, job: run.job }, signal);
}
