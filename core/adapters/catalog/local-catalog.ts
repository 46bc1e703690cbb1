import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog, RunQuery } from '../../ports/catalog.js';
import { runRecordSchema, type RunRecord } from '../../domain/run.js';
import { RunConflictError, StorageError } from '../../errors.js';

/**
 * A catalog in a local folder, for laptop use: one JSON file per run at
 * `<dir>/<job>/<runId>.json`. Creation is atomic and exclusive (write a temp file, then
 * hard-link it into place, which fails if the run exists); updates replace the file by
 * rename. Several processes can record different runs at once without a lock.
 */
export class LocalCatalog implements Catalog {
  constructor(readonly dir: string) {}

  async create(run: RunRecord): Promise<void> {
    const path = await this.prepare(run);
    const temp = await this.writeTemp(path, run);
    try {
      await link(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RunConflictError(`run ${run.runId} of job ${run.job} already exists`);
      throw new StorageError(`recording run ${run.runId} failed: ${(error as Error).message}`, false, { cause: error });
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async update(run: RunRecord): Promise<void> {
    const path = await this.prepare(run);
    const temp = await this.writeTemp(path, run);
    await rename(temp, path);
  }

  async get(job: string, runId: string): Promise<RunRecord | undefined> {
    try {
      return runRecordSchema.parse(JSON.parse(await readFile(join(this.dir, job, `${runId}.json`), 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(query: RunQuery = {}): Promise<RunRecord[]> {
    const jobs = query.job ? [query.job] : await readdir(this.dir).catch(() => [] as string[]);
    const runs: RunRecord[] = [];
    for (const job of jobs) {
      const files = await readdir(join(this.dir, job)).catch(() => [] as string[]);
      for (const file of files.filter((name) => name.endsWith('.json'))) {
        const run = await this.get(job, file.slice(0, -'.json'.length));
        if (run && (!query.status || run.status === query.status) && (!query.kind || run.kind === query.kind)) runs.push(run);
      }
    }
    runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
    return query.limit ? runs.slice(0, query.limit) : runs;
  }

  private async prepare(run: RunRecord): Promise<string> {
    runRecordSchema.parse(run);
    const dir = join(this.dir, run.job);
    await mkdir(dir, { recursive: true });
    return join(dir, `${run.runId}.json`);
  }

  private async writeTemp(path: string, run: RunRecord): Promise<string> {
    const temp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
    await writeFile(temp, JSON.stringify(run, null, 2) + '\n', { mode: 0o600 });
    return temp;
  }
}
