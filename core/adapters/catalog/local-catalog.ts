import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog, CatalogCallOptions, RunQuery } from '../../ports/catalog.js';
import { checkNotAborted } from './catalog-abort.js';
import { jobNameSchema, runRecordSchema, type RunRecord } from '../../domain/run.js';
import { RunConflictError, StorageError } from '../../errors.js';

/**
 * A catalog in a local folder, for laptop use: one JSON file per run at
 * `<dir>/<job>/<runId>.json`. Creation is atomic and exclusive (write a temp file, then
 * hard-link it into place, which fails if the run exists); updates replace the file by
 * rename. Several processes can record different runs at once without a lock.
 *
 * Job locks are numbered generations, `<dir>/.locks/<job>/<n>.json`: the highest number is the
 * lock's state. Taking it means creating generation n+1 exclusively (the same link trick), so
 * of two processes taking over an expired or released lock only one succeeds; the holder
 * extends or releases its own generation in place.
 */
export class LocalCatalog implements Catalog {
  constructor(readonly dir: string) {}

  async create(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    const doing = `recording run ${run.runId} of job ${run.job}`;
    checkNotAborted(options, doing);
    const path = await this.prepare(run);
    const temp = await this.writeTemp(path, run);
    try {
      // The last moment to stop: the link below makes the run exist.
      checkNotAborted(options, doing);
      await link(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RunConflictError(`run ${run.runId} of job ${run.job} already exists`);
      throw new StorageError(`recording run ${run.runId} failed: ${(error as Error).message}`, false, { cause: error });
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async update(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    const doing = `recording run ${run.runId} of job ${run.job}`;
    checkNotAborted(options, doing);
    const path = await this.prepare(run);
    const temp = await this.writeTemp(path, run);
    try {
      checkNotAborted(options, doing);
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new StorageError(`recording run ${run.runId} of job ${run.job} in ${path} failed: ${(error as Error).message}`, false, { cause: error });
    }
  }

  async get(job: string, runId: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    checkNotAborted(options, `reading run ${runId} of job ${job}`);
    try {
      return runRecordSchema.parse(JSON.parse(await readFile(join(this.dir, job, `${runId}.json`), 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(query: RunQuery = {}, options?: CatalogCallOptions): Promise<RunRecord[]> {
    checkNotAborted(options, `listing runs in ${this.dir}`);
    const jobs = query.job ? [query.job] : (await readdir(this.dir).catch(() => [] as string[])).filter((name) => !name.startsWith('.'));
    const runs: RunRecord[] = [];
    for (const job of jobs) {
      const files = await readdir(join(this.dir, job)).catch(() => [] as string[]);
      for (const file of files.filter((name) => name.endsWith('.json'))) {
        const run = await this.get(job, file.slice(0, -'.json'.length), options);
        if (run && matches(run, query)) runs.push(run);
      }
    }
    runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
    return query.limit ? runs.slice(0, query.limit) : runs;
  }

  async latestSuccessful(job: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    return (await this.list({ job, kind: 'backup', status: 'succeeded', limit: 1 }, options))[0];
  }

  async acquireLock(job: string, owner: string, ttlMs: number, options?: CatalogCallOptions): Promise<boolean> {
    checkNotAborted(options, `taking the lock of job ${job}`);
    const dir = join(this.dir, '.locks', jobNameSchema.parse(job));
    await mkdir(dir, { recursive: true });
    const expiresAt = Date.now() + ttlMs;
    const top = await this.topGeneration(dir);
    if (top && top.state.owner === owner && !top.state.released) {
      await this.writeGeneration(dir, top.generation, { owner, expiresAt }, 'replace');
      return true;
    }
    if (top && !top.state.released && top.state.expiresAt > Date.now()) return false;
    const taken = await this.writeGeneration(dir, (top?.generation ?? 0) + 1, { owner, expiresAt }, 'exclusive');
    // Old generations only say who held the lock before: keep the last two.
    if (taken && top) await unlink(join(dir, `${top.generation - 1}.json`)).catch(() => undefined);
    return taken;
  }

  async releaseLock(job: string, owner: string, options?: CatalogCallOptions): Promise<void> {
    checkNotAborted(options, `releasing the lock of job ${job}`);
    const dir = join(this.dir, '.locks', jobNameSchema.parse(job));
    const top = await this.topGeneration(dir);
    if (top && top.state.owner === owner && !top.state.released) await this.writeGeneration(dir, top.generation, { ...top.state, released: true }, 'replace');
  }

  private async topGeneration(dir: string): Promise<{ generation: number; state: LockState } | undefined> {
    const generations = (await readdir(dir).catch(() => [] as string[]))
      .map((name) => /^(\d+)\.json$/.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
    for (const generation of generations) {
      const text = await readFile(join(dir, `${generation}.json`), 'utf8').catch(() => undefined);
      if (text !== undefined) return { generation, state: JSON.parse(text) as LockState };
    }
    return undefined;
  }

  /** Writes a lock generation; `exclusive` resolves false when that generation already exists. */
  private async writeGeneration(dir: string, generation: number, state: LockState, mode: 'exclusive' | 'replace'): Promise<boolean> {
    const path = join(dir, `${generation}.json`);
    const temp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
    await writeFile(temp, JSON.stringify(state) + '\n', { mode: 0o600 });
    try {
      if (mode === 'replace') {
        await rename(temp, path);
        return true;
      }
      await link(temp, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new StorageError(`writing the lock ${path} failed: ${(error as Error).message}`, false, { cause: error });
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  private async prepare(run: RunRecord): Promise<string> {
    runRecordSchema.parse(run);
    const dir = join(this.dir, run.job);
    const path = join(dir, `${run.runId}.json`);
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new StorageError(`recording run ${run.runId} of job ${run.job} in ${path} failed: ${(error as Error).message}`, false, { cause: error });
    }
    return path;
  }

  /**
   * Writes the record beside its place. A write that fails (a full disk fails it after the file
   * was created) removes the temp file: a catalog folder never keeps half-written records.
   */
  private async writeTemp(path: string, run: RunRecord): Promise<string> {
    const temp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(temp, JSON.stringify(run, null, 2) + '\n', { mode: 0o600 });
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new StorageError(`recording run ${run.runId} of job ${run.job} in ${path} failed: ${(error as Error).message}`, false, { cause: error });
    }
    return temp;
  }
}

interface LockState {
  readonly owner: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly released?: boolean;
}

/** Whether a run record satisfies a query's filters (not its limit). */
export function matches(run: RunRecord, query: RunQuery): boolean {
  return (
    (!query.status || run.status === query.status) &&
    (!query.kind || run.kind === query.kind) &&
    (!query.since || Date.parse(run.startedAt) >= Date.parse(query.since)) &&
    (!query.until || Date.parse(run.startedAt) < Date.parse(query.until))
  );
}
