import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../../domain/clock.js';
import { redact } from '../../domain/redact.js';
import { formatRunLogLine, localRunLogPath, RUN_LOG_MAX_BYTES, RUN_LOG_MAX_LINE_CHARS } from './local-run-log-file.js';

/** Lines kept, once the log is full, to write at its end: the error line of a failed run is among the last. */
const TAIL_LINES = 20;

/**
 * Writes one run's log beside the local catalog (local-run-log-file.ts), a line at a time as the
 * run prints it. Every line is redacted first, as error messages are, so a secret a tool echoed
 * never reaches the file. The file is bounded: past {@link RUN_LOG_MAX_BYTES} only the last
 * {@link TAIL_LINES} lines are kept, written at `close()` after a line that says how many were
 * left out.
 *
 * Writes are synchronous on purpose: a run prints tens of lines, each reaches the file before the
 * next is printed (a follower sees them as they come), and a process that exits right after
 * its last line, or is killed, still has its log.
 */
export class LocalRunLogWriter {
  private readonly fd: number;
  private bytes = 0;
  /** Once a line did not fit, every later one goes to the tail: the file stays in the order the run printed. */
  private full = false;
  private leftOut = 0;
  private readonly tail: string[] = [];

  /** Creates (or appends to) the run's log file, readable by its owner only, like the catalog's records. */
  constructor(
    catalogDir: string,
    run: { readonly job: string; readonly runId: string },
    private readonly now: Clock,
  ) {
    const path = localRunLogPath(catalogDir, run.job, run.runId);
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a', 0o600);
  }

  /** Adds `text`'s lines (blank ones dropped, each cut at {@link RUN_LOG_MAX_LINE_CHARS}), printed `at` (default: now). */
  write(text: string, at: Date = this.now()): void {
    for (const raw of text.split(/\r?\n/)) {
      const line = redact(raw).trimEnd();
      if (line === '') continue;
      const formatted = formatRunLogLine({ at: at.toISOString(), text: line.length > RUN_LOG_MAX_LINE_CHARS ? `${line.slice(0, RUN_LOG_MAX_LINE_CHARS)}…` : line });
      this.full ||= this.bytes + Buffer.byteLength(formatted) > RUN_LOG_MAX_BYTES;
      if (this.full) this.keepForTail(formatted);
      else this.append(formatted);
    }
  }

  /** Writes what the bound held back, and closes the file. */
  close(): void {
    if (this.leftOut > 0) {
      this.append(formatRunLogLine({ at: this.now().toISOString(), text: `… ${this.leftOut} line(s) left out: a run log keeps its first ${RUN_LOG_MAX_BYTES / 1024} KiB and its last ${TAIL_LINES} lines` }));
    }
    for (const line of this.tail) this.append(line);
    closeSync(this.fd);
  }

  private keepForTail(formatted: string): void {
    this.tail.push(formatted);
    if (this.tail.length > TAIL_LINES) {
      this.tail.shift();
      this.leftOut += 1;
    }
  }

  private append(formatted: string): void {
    writeSync(this.fd, formatted);
    this.bytes += Buffer.byteLength(formatted);
  }
}
