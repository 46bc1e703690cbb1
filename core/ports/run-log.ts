/**
 * A run's own log lines (issue 19): what the runner printed while it ran, read back for the TUI's
 * run screen and `vaultra show <runId> --log`. Locally the runner writes them beside the catalog;
 * in the cloud they are the platform's log (CloudWatch Logs, Cloud Logging, Log Analytics).
 */
import type { RunRecord } from '../domain/run.js';

export interface RunLogLine {
  /** ISO time the line was written, when the log keeps one. */
  readonly at?: string;
  readonly text: string;
}

export interface RunLogReader {
  /** The run's log lines, oldest first, at most `limit` (the newest ones when there are more); `undefined` when this platform keeps no log for the run. Rejects only on a real read failure (one-line error). */
  read(run: RunRecord, options: { readonly limit: number; readonly signal?: AbortSignal }): Promise<readonly RunLogLine[] | undefined>;
}
