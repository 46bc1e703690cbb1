import type { RunKind, RunRecord, RunStatus } from '../domain/run.js';

export interface RunQuery {
  readonly job?: string;
  readonly status?: RunStatus;
  readonly kind?: RunKind;
  readonly limit?: number;
}

/**
 * An index of runs. The manifests in storage are the truth; a catalog can always be rebuilt
 * from them, so losing one loses only the record of failed runs.
 */
export interface Catalog {
  /** Records a new run. Rejects with `RunConflictError` if the run id exists: a run is created once. */
  create(run: RunRecord): Promise<void>;
  /** Replaces the record of an existing run (status changes, byte counts, errors). */
  update(run: RunRecord): Promise<void>;
  get(job: string, runId: string): Promise<RunRecord | undefined>;
  /** Runs matching `query`, newest first. */
  list(query?: RunQuery): Promise<RunRecord[]>;
}
