import type { RunTracer } from '../core/ports/run-tracer.js';
import type { Clock } from '../core/domain/clock.js';
import { formatDuration } from './format.js';

/** Where a run's lines go: the local run log's writer (core/adapters/run-log/local-run-log-writer.ts). */
export interface RunLogSink {
  /** One line, printed at `at`. */
  write(text: string, at: Date): void;
  close(): void;
}

/** What is copied from: `process.stderr` and `process.stdout`, whose `write` is wrapped while the run runs. */
export type OutputStream = { write: NodeJS.WriteStream['write'] };

// eslint-disable-next-line no-control-regex -- the escapes a progress bar and cursor moves are made of
const TERMINAL_ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * The lines a run prints to its user, also kept as its log: while it runs, what the process
 * writes to stderr (notices, retries, warnings, repairs, the error line) and, unless the result
 * goes out as JSON, to stdout (the result's lines) is copied here, line by line. The copy is
 * taken where the bytes leave the process, so every line the user saw is in the log whichever
 * module printed it, and nothing is printed twice. A progress bar's redraws are not lines: only
 * the text after a line's last carriage return counts, without terminal escapes.
 *
 * Lines printed before the run knows where its log goes (resolving its source, opening its
 * tools) wait in memory; `attach` writes them and everything after. A run that keeps no log here
 * (its catalog is in the cloud, where the platform keeps the log) calls `discard`: copying stops,
 * and nothing is held for the rest of the run.
 */
export class RunOutputLog {
  private sink: RunLogSink | undefined;
  /** Lines printed before `attach`, with the time they were printed (not the time they reach the log). */
  private readonly pending: { readonly text: string; readonly at: Date }[] = [];
  private readonly partial = { stdout: '', stderr: '' };
  private readonly restore: (() => void)[] = [];
  private readonly now: Clock;
  private discarded = false;

  /** Copies from `stderr`, and from `stdout` when given (not for `--json`: that output is for programs). */
  constructor(options: { readonly stderr: OutputStream; readonly stdout?: OutputStream; readonly now: Clock }) {
    this.now = options.now;
    this.tee(options.stderr, 'stderr');
    if (options.stdout) this.tee(options.stdout, 'stdout');
  }

  /** Sends the lines so far, and all after, to `sink`. */
  attach(sink: RunLogSink): void {
    this.sink = sink;
    for (const line of this.pending.splice(0)) sink.write(line.text, line.at);
  }

  /** A line for the log only, not printed: a phase starting or ending. */
  note(line: string): void {
    this.line(line);
  }

  /** No log for this run: stops copying and drops what was held. */
  discard(): void {
    this.discarded = true;
    this.pending.length = 0;
    this.stop();
  }

  /** Stops copying, writes any unfinished line, and closes the log. */
  stop(): void {
    for (const undo of this.restore.splice(0)) undo();
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') this.line(this.partial[stream]);
      this.partial[stream] = '';
    }
    this.sink?.close();
    this.sink = undefined;
  }

  private tee(stream: OutputStream, name: 'stdout' | 'stderr'): void {
    const original = stream.write;
    const copying = ((chunk: unknown, ...rest: unknown[]) => {
      this.take(name, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as OutputStream['write'];
    stream.write = copying;
    this.restore.push(() => {
      // Only undo our own copy: something that wrapped the stream after us keeps its wrapper.
      if (stream.write === copying) stream.write = original;
    });
  }

  private take(name: 'stdout' | 'stderr', text: string): void {
    const lines = (this.partial[name] + text).split('\n');
    // An unfinished line counts only from its last carriage return: a progress bar redrawing
    // itself for hours must not grow it.
    const unfinished = lines.pop() ?? '';
    this.partial[name] = unfinished.slice(Math.max(0, unfinished.lastIndexOf('\r')));
    for (const line of lines) this.line(line);
  }

  private line(raw: string): void {
    const text = raw.replace(TERMINAL_ESCAPES, '').split('\r').pop()!.trimEnd();
    if (text === '' || this.discarded) return;
    if (this.sink) this.sink.write(text, this.now());
    else this.pending.push({ text, at: this.now() });
  }
}

/** `inner`, with each phase's start and end noted in the run's log: a log that stops mid-run shows the phase the run was in. */
export function phasesNotedIn(log: RunOutputLog, inner: RunTracer, now: Clock): RunTracer {
  return {
    span: async (name, attributes, fn) => {
      const startedMs = now().getTime();
      const took = () => formatDuration(Math.max(0, now().getTime() - startedMs));
      log.note(`${name} …`);
      try {
        const result = await inner.span(name, attributes, fn);
        log.note(`${name}: done in ${took()}`);
        return result;
      } catch (error) {
        log.note(`${name}: failed after ${took()}`);
        throw error;
      }
    },
  };
}
