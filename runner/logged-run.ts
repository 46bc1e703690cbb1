import type { Catalog, CatalogCallOptions, RunQuery } from '../core/ports/catalog.js';
import type { RunRecord } from '../core/domain/run.js';
import type { RunTracer } from '../core/ports/run-tracer.js';
import { systemClock } from '../core/domain/clock.js';
import { LocalRunLogWriter } from '../core/adapters/run-log/local-run-log-writer.js';
import { phasesNotedIn, RunOutputLog } from './run-output-log.js';
import { errorLine } from './exit-codes.js';

/** What a logged command's work gets: the catalog to record its run in, and how to note its phases. */
export interface LoggedRun {
  /** The store's catalog: the run recorded through it is the one whose log this is. */
  readonly catalog: Catalog;
  /** `inner`, with each phase's start and end noted in the log (as a backup's are). */
  notedTracer(inner: RunTracer): RunTracer;
  /** A line for the log only: a `--json` run's outcome in words (its JSON is for programs). */
  note(line: string): void;
  /** The run the command recorded, once it has: its id is what `vaultra show <runId> --log` takes. */
  recorded(): RunRecord | undefined;
}

/**
 * Runs a command that records one run of its own — `restore`, `verify`, `drill` — with that run's
 * log kept as a backup's is (run-output-log.ts): what the command prints, from its start to its
 * error line, lands in `<catalog dir>/<job>/<runId>.log`, where `vaultra show <runId> --log`
 * finds it.
 *
 * These use cases learn the job and choose the run id only once they have located the backup, so
 * the log is opened when the run is recorded (its first write through `catalog`): a command
 * that fails before it records a run (a backup not found, a wrong key) leaves no log without a
 * record, and lines printed before that wait in memory with their times. A catalog that is not
 * local (a launched run's, in the cloud) keeps no log here: the platform's log has the lines.
 */
export async function loggedRun<T>(store: { readonly catalog: Catalog; readonly localCatalogDir?: string }, output: { readonly json?: boolean }, work: (run: LoggedRun) => Promise<T>): Promise<T> {
  const log = new RunOutputLog({ stderr: process.stderr, ...(output.json ? {} : { stdout: process.stdout }), now: systemClock });
  const { localCatalogDir } = store;
  const catalog = new FirstRunCatalog(store.catalog, (run) => {
    if (localCatalogDir) log.attach(new LocalRunLogWriter(localCatalogDir, run, systemClock));
  });
  try {
    return await work({ catalog, notedTracer: (inner) => phasesNotedIn(log, inner, systemClock), note: (line) => log.note(line), recorded: () => catalog.first });
  } catch (error) {
    // The CLI prints this line once the command has ended (cli.ts): the log gets it now, as its last.
    log.note(errorLine(error));
    throw error;
  } finally {
    if (!localCatalogDir || !catalog.first) log.discard();
    log.stop();
  }
}

/**
 * A catalog that keeps the first run written through it (`first`) and calls `written` with it,
 * once its record is stored: created, or claimed by an update (a drill a scheduler recorded as
 * pending). A write refused (a conflict: the run id is someone else's) counts for nothing.
 */
class FirstRunCatalog implements Catalog {
  first: RunRecord | undefined;

  constructor(
    private readonly inner: Catalog,
    private readonly written: (run: RunRecord) => void,
  ) {}

  async create(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    await this.inner.create(run, options);
    this.noteFirst(run);
  }

  async update(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    await this.inner.update(run, options);
    this.noteFirst(run);
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

  private noteFirst(run: RunRecord): void {
    if (this.first) return;
    this.first = run;
    this.written(run);
  }
}
