import type { Catalog, CatalogCallOptions, RunQuery } from '../../ports/catalog.js';
import type { RunnerHost } from '../../ports/runner-host.js';
import type { RunRecord } from '../../domain/run.js';

/**
 * A catalog through which every run this process records as `running` carries the process's id
 * and host (`runner`), whichever use case records it (backup, restore, verify): a later repair
 * on the same host can then tell that the run's process is gone. A record that already names
 * its runner keeps it.
 */
export class StampedCatalog implements Catalog {
  constructor(
    private readonly inner: Catalog,
    private readonly host: RunnerHost,
  ) {}

  create(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    return this.inner.create(this.stamp(run), options);
  }

  update(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    return this.inner.update(this.stamp(run), options);
  }

  get(job: string, runId: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    return this.inner.get(job, runId, options);
  }

  list(query?: RunQuery, options?: CatalogCallOptions): Promise<RunRecord[]> {
    return this.inner.list(query, options);
  }

  latestSuccessful(job: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    return this.inner.latestSuccessful(job, options);
  }

  acquireLock(job: string, owner: string, ttlMs: number, options?: CatalogCallOptions): Promise<boolean> {
    return this.inner.acquireLock(job, owner, ttlMs, options);
  }

  releaseLock(job: string, owner: string, options?: CatalogCallOptions): Promise<void> {
    return this.inner.releaseLock(job, owner, options);
  }

  private stamp(run: RunRecord): RunRecord {
    if (run.status !== 'running' || run.runner) return run;
    return { ...run, runner: { pid: this.host.pid, hostname: this.host.hostname } };
  }
}
