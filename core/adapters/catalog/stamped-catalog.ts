import type { Catalog, RunQuery } from '../../ports/catalog.js';
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

  create(run: RunRecord): Promise<void> {
    return this.inner.create(this.stamp(run));
  }

  update(run: RunRecord): Promise<void> {
    return this.inner.update(this.stamp(run));
  }

  get(job: string, runId: string): Promise<RunRecord | undefined> {
    return this.inner.get(job, runId);
  }

  list(query?: RunQuery): Promise<RunRecord[]> {
    return this.inner.list(query);
  }

  latestSuccessful(job: string): Promise<RunRecord | undefined> {
    return this.inner.latestSuccessful(job);
  }

  acquireLock(job: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.inner.acquireLock(job, owner, ttlMs);
  }

  releaseLock(job: string, owner: string): Promise<void> {
    return this.inner.releaseLock(job, owner);
  }

  private stamp(run: RunRecord): RunRecord {
    if (run.status !== 'running' || run.runner) return run;
    return { ...run, runner: { pid: this.host.pid, hostname: this.host.hostname } };
  }
}
