import { readFile } from 'node:fs/promises';
import type { RunRecord } from '../../domain/run.js';
import type { RunLogLine, RunLogReader } from '../../ports/run-log.js';
import { AbortedError, StorageError } from '../../errors.js';
import { localRunLogPath, parseRunLogLine } from './local-run-log-file.js';

/**
 * The run logs the runner keeps beside a local catalog (local-run-log-file.ts). A run without a
 * log file (recorded before logs were kept, by another machine, or in the cloud) has none:
 * `undefined`. The file is bounded when written, so it is read whole.
 */
export class LocalRunLogReader implements RunLogReader {
  constructor(readonly catalogDir: string) {}

  async read(run: RunRecord, options: { readonly limit: number; readonly signal?: AbortSignal }): Promise<readonly RunLogLine[] | undefined> {
    const path = localRunLogPath(this.catalogDir, run.job, run.runId);
    let text: string;
    try {
      text = await readFile(path, { encoding: 'utf8', ...(options.signal ? { signal: options.signal } : {}) });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ABORT_ERR') throw new AbortedError(`reading the log of run ${run.runId} was cancelled`, { cause: error });
      throw new StorageError(`reading the log of run ${run.runId} in ${path} failed: ${(error as Error).message}; check the folder's permissions`, false, { cause: error });
    }
    const lines = text.split('\n').filter((line) => line !== '');
    return lines.slice(Math.max(0, lines.length - options.limit)).map(parseRunLogLine);
  }
}
