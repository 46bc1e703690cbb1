import { join } from 'node:path';
import { jobNameSchema, runIdSchema } from '../../domain/run.js';
import type { RunLogLine } from '../../ports/run-log.js';

/**
 * A run's local log: one text file per run, `<catalog dir>/<job>/<runId>.log`, beside the run's
 * record in the local catalog. There, whoever reads the catalog (the TUI, `vaultra show --log`)
 * finds the log with it, removing a job's history removes its logs, and the catalog's `list` (which
 * reads only `.json`) never sees it. Each line is `<ISO time>  <text>`: readable with `less`,
 * followable with `tail -f`, and parsed back without ambiguity (the text never holds a newline).
 */
export function localRunLogPath(catalogDir: string, job: string, runId: string): string {
  // Both become path segments: only the shapes the catalog itself accepts.
  return join(catalogDir, jobNameSchema.parse(job), `${runIdSchema.parse(runId)}.log`);
}

/** What a run log may hold before it keeps only its last lines: a run prints tens of lines, a run gone wrong thousands. */
export const RUN_LOG_MAX_BYTES = 256 * 1024;
/** A longer line (a tool's stderr tail in an error) is cut here: the log is for reading, the error line says what to do. */
export const RUN_LOG_MAX_LINE_CHARS = 2_000;

const LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) {2}(.*)$/;

export function formatRunLogLine(line: Required<RunLogLine>): string {
  return `${line.at}  ${line.text}\n`;
}

/** A line of the file as a log line; a line not in the format (written by hand) is kept as text without a time. */
export function parseRunLogLine(line: string): RunLogLine {
  const match = LINE.exec(line);
  return match ? { at: match[1]!, text: match[2]! } : { text: line };
}
