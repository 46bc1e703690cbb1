import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { Duplex, Readable, Writable } from 'node:stream';
import { AbortedError, ToolMissingError } from '../../errors.js';
import { redact } from '../../domain/redact.js';
import { toolEnvironment } from './tool-environment.js';

const STDERR_TAIL_BYTES = 4096;

/** Every tool this process started that has not exited yet: what a forced stop must not leave behind. */
const running = new Set<ChildProcess>();

/**
 * SIGKILLs every tool this process started that is still running. For a process about to stop
 * at once (a second Ctrl-C, a teardown past its deadline): its tools must not outlive it, not
 * even for the moment a broken pipe would take to stop them.
 */
export function killRunningTools(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** How a tool ended: its exit code or signal, and the last few KB of its stderr, redacted. */
export interface ToolExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderrTail: string;
}

export interface ToolProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited and its stdio has closed. Never rejects. */
  readonly exited: Promise<ToolExit>;
  /** The stop signal now (SIGTERM unless the tool has a gentler one), SIGTERM and SIGKILL if it is still there shortly after. Safe to call twice. */
  kill(): void;
}

export interface SpawnToolOptions {
  /** The tool's own variables, over the allow-listed part of the runner's environment (`tool-environment.ts`); never the whole environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Prefixes of the runner's variables this tool's family reads too (`TOOL_FAMILY_VARIABLES`). @default none */
  readonly inherit?: readonly string[];
  readonly cwd?: string;
  readonly stdin?: 'pipe' | 'ignore';
  /** `'pipe'`, `'ignore'`, or another process's stdin pipe to write into directly. */
  readonly stdout?: 'pipe' | 'ignore' | Writable;
  /** Installation hint shown when the tool is missing. */
  readonly installHint?: string;
  /**
   * The signal that asks the tool to stop, before SIGTERM and SIGKILL follow. psql cancels its
   * running query on the server on SIGINT; on SIGTERM it just dies, and a server session waiting
   * for a lock would go on waiting. @default 'SIGTERM'
   */
  readonly stopSignal?: NodeJS.Signals;
  /**
   * Run the tool as this user (this process must be root): a server that refuses root runs as its
   * own user while staying this process's child, so the stop and kill paths reach it directly.
   */
  readonly runAs?: { readonly uid: number; readonly gid: number };
}

/**
 * Starts a native tool. Secrets must travel in `env` (or a 0600 file named there), never in
 * `args`: argv is readable by every user of the machine through /proc.
 * Rejects with {@link ToolMissingError} when the tool is not installed, so callers see that
 * before any byte flows.
 */
export async function spawnTool(command: string, args: readonly string[], options: SpawnToolOptions = {}): Promise<ToolProcess> {
  const spawnOptions: SpawnOptions = {
    // An explicit environment: cloud credentials and other secrets of the runner stay with it.
    env: toolEnvironment(options.env, options.inherit),
    cwd: options.cwd,
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe'],
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
  };
  const child = spawn(command, args, spawnOptions);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new ToolMissingError(command, options.installHint ?? `install ${command}`) : error);
    });
  });

  running.add(child);
  child.once('exit', () => running.delete(child));

  let tail = Buffer.alloc(0);
  child.stderr!.on('data', (chunk: Buffer) => {
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > STDERR_TAIL_BYTES * 2) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
  });
  const exited = new Promise<ToolExit>((resolve) => {
    child.once('close', (code, signal) => {
      const text = tail.subarray(Math.max(0, tail.length - STDERR_TAIL_BYTES)).toString('utf8');
      resolve({ code, signal, stderrTail: redact(text.trim()) });
    });
  });

  const stopSignal = options.stopSignal ?? 'SIGTERM';
  let killTimer: NodeJS.Timeout | undefined;
  let termTimer: NodeJS.Timeout | undefined;
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null || killTimer) return;
    child.kill(stopSignal);
    if (stopSignal !== 'SIGTERM') {
      termTimer = setTimeout(() => child.kill('SIGTERM'), 500);
      termTimer.unref();
    }
    killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
    killTimer.unref();
  };
  void exited.then(() => {
    clearTimeout(killTimer);
    clearTimeout(termTimer);
  });
  return { child, exited, kill };
}

/** Runs a tool to completion and returns its stdout; rejects via `onFailure` when it exits non-zero. */
export async function runTool(
  command: string,
  args: readonly string[],
  options: SpawnToolOptions & { input?: string; onFailure: (exit: ToolExit) => Error; signal?: AbortSignal },
): Promise<string> {
  const tool = await spawnTool(command, args, { ...options, stdin: options.input === undefined ? 'ignore' : 'pipe' });
  const onAbort = () => tool.kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  tool.child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  if (options.input !== undefined) {
    tool.child.stdin!.on('error', () => undefined); // the exit code tells the story
    tool.child.stdin!.end(options.input);
  }
  const exit = await tool.exited;
  options.signal?.removeEventListener('abort', onAbort);
  // Killed because the run was cancelled: that is the story, not the tool's death.
  if (exit.code !== 0 && options.signal?.aborted) throw new AbortedError('interrupted: the run was cancelled', { cause: options.onFailure(exit) });
  if (exit.code !== 0) throw options.onFailure(exit);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The stdout of a producing tool as a Readable that ends only once the tool exited 0.
 * A non-zero exit or a signal turns into an error built by `onFailure`, so a dump that died
 * half-way can never look like a short, complete dump. Destroying the stream kills the tool.
 * When the tool's stdout went straight to another process (`SpawnToolOptions.stdout`), the
 * stream carries no data: it only ends, or fails, with the tool.
 */
export class ToolOutput extends Readable {
  /**
   * @param alsoRequired resolves with an error, or undefined, once another party this output
   *   depends on is done (the tool feeding this one): the stream ends only when both succeeded,
   *   and fails with that error first, since it is the cause.
   */
  constructor(
    readonly tool: ToolProcess,
    /** May take its time (look at the server to explain a failure): the stream fails once it has the error. */
    readonly onFailure: (exit: ToolExit) => Error | Promise<Error>,
    private readonly alsoRequired: Promise<Error | undefined> = Promise.resolve(undefined),
  ) {
    super({ highWaterMark: 1024 * 1024 });
    // A consumer listens for 'error' while it reads. One that gave up first (an interrupted run,
    // whose second Ctrl-C kills the tools) is gone when the killed tool fails this stream: that
    // failure has no one left to tell, and must not crash the process before it reports the
    // interruption (exit 130).
    this.on('error', () => undefined);
    void alsoRequired.then((error) => {
      if (error && !this.destroyed) this.destroy(error);
    });
    if (!tool.child.stdout) this.settle();
    // Read from the start, not from the first read: a tool that exits before anyone reads has
    // its unread stdout resumed and discarded by Node (child_process's flushStdio), and its
    // 'end' emitted before a late listener could see it — bytes lost and a stream that never
    // ends. What is read waits in this stream's buffer (stdout paused once it holds 1 MiB).
    else this.startReading(tool.child.stdout);
  }

  private startReading(stdout: NonNullable<ToolProcess['child']['stdout']>): void {
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stdout.once('end', () => this.settle());
    stdout.once('error', (error) => this.destroy(error));
  }

  /** Ends the stream, or fails it, once the tool and whatever else is required are done. */
  private settle(): void {
    void Promise.all([this.tool.exited, this.alsoRequired]).then(async ([exit, error]) => {
      if (error) this.destroy(error);
      // An explanation that itself fails (the server it asked is gone) still fails the stream, never an unhandled rejection.
      else if (exit.code !== 0) this.destroy(await Promise.resolve(this.onFailure(exit)).catch((failed: unknown) => (failed instanceof Error ? failed : new Error(String(failed)))));
      else this.push(null);
    });
  }

  override _read(): void {
    this.tool.child.stdout?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.tool.kill();
    this.tool.child.stdout?.destroy();
    callback(error);
  }
}

export function toolOutput(tool: ToolProcess, onFailure: (exit: ToolExit) => Error | Promise<Error>, alsoRequired?: Promise<Error | undefined>): ToolOutput {
  return new ToolOutput(tool, onFailure, alsoRequired);
}

/**
 * A filtering tool (zstd, pigz…) as a Duplex stage: what is written goes to its stdin
 * ({@link toolInput}), its stdout comes out ({@link ToolOutput}), so it ends only once the tool
 * exited 0. Destroying the stage kills the tool.
 *
 * Not `Duplex.from({ writable, readable })`: that pulls its readable half with `read()`, which
 * joins everything buffered into one new buffer — a copy of every byte the tool prints, in
 * pieces of up to 1 MiB. On a 512 MB PostgreSQL restore (`zstd -d` feeding pg_restore) those
 * copies were ~0.3 s of garbage collection and most of the restore's peak memory. Here the
 * tool's output flows through chunk by chunk, as the tool wrote it.
 */
export function toolStage(tool: ToolProcess, onFailure: (exit: ToolExit) => Error): Duplex {
  const input = toolInput(tool, onFailure, { waitForExit: false });
  const output = toolOutput(tool, onFailure);
  const stage = new Duplex({
    // The tool's own input and output already buffer 1 MiB each: this layer only hands chunks on.
    highWaterMark: STAGE_HANDOFF_BYTES,
    write(chunk: Buffer, _encoding, callback) {
      if (input.write(chunk)) callback();
      else input.once('drain', () => callback());
    },
    final(callback) {
      input.end((error?: Error | null) => callback(error));
    },
    read() {
      output.resume();
    },
    destroy(error, callback) {
      // After a clean end the tool has exited and these are no-ops; before it, they stop the tool.
      tool.kill();
      input.destroy(error ?? undefined);
      output.destroy(error ?? undefined);
      callback(error);
    },
  });
  output.on('data', (chunk: Buffer) => {
    if (!stage.push(chunk)) output.pause();
  });
  output.once('end', () => stage.push(null));
  // `on`, not `once`: a second 'error' (a tool killed while its stream was already failing) with
  // no listener left would crash the process; destroying the stage again is a no-op.
  output.on('error', (error) => stage.destroy(error));
  input.on('error', (error) => stage.destroy(error));
  return stage;
}

/** What a {@link toolStage} holds on each side beyond the tool's own buffers: a chunk or so in flight. */
const STAGE_HANDOFF_BYTES = 128 * 1024;

/**
 * Writes to a tool's stdin with backpressure. Writing after the tool died raises EPIPE; the
 * tool's exit status carries the real cause, so that is what the callback gets.
 */
function stdinWriter(
  tool: ToolProcess,
  onFailure: (exit: ToolExit) => Error,
  { discardAfterCleanExit = false } = {},
): (chunk: Buffer, callback: (error?: Error | null) => void) => void {
  const stdin = tool.child.stdin!;
  let stdinError: Error | undefined;
  stdin.on('error', (error) => {
    stdinError = error;
  });
  const fail = (callback: (error?: Error | null) => void) => {
    void tool.exited.then((exit) => {
      if (exit.code !== 0) return callback(onFailure(exit));
      // A consumer may finish without reading everything (pg_restore of selected tables stops
      // after the last one it needs): the rest is dropped, still read through the checks upstream.
      if (discardAfterCleanExit && (stdinError as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return callback();
      callback(stdinError);
    });
  };
  return (chunk, callback) => {
    if (stdinError) return fail(callback);
    if (stdin.write(chunk)) return callback();
    const settle = () => {
      stdin.off('drain', settle);
      stdin.off('error', settle);
      if (stdinError) fail(callback);
      else callback();
    };
    stdin.once('drain', settle);
    stdin.once('error', settle);
  };
}

/** `tool --version` (first line), or undefined when the tool is missing or fails. */
export async function toolVersion(command: string, args: readonly string[] = ['--version']): Promise<string | undefined> {
  try {
    const out = await runTool(command, args, { onFailure: () => new Error('version check failed') });
    return out.split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

/**
 * A consuming tool (pg_restore, zstd…) as a Writable: what is written goes to its stdin.
 * Finishing the Writable closes stdin and, with `waitForExit` (the default), waits for the
 * tool, so a pipeline ending in it resolves only once the tool exited 0, and rejects with
 * `onFailure` otherwise.
 * Destroying it kills the tool.
 */
export function toolInput(tool: ToolProcess, onFailure: (exit: ToolExit) => Error, { waitForExit = true } = {}): Writable {
  const stdin = tool.child.stdin!;
  // A consumer that exits 0 before reading everything (pg_restore -t has what it needs) is done.
  const writeTo = stdinWriter(tool, onFailure, { discardAfterCleanExit: waitForExit });
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      writeTo(chunk, callback);
    },
    final(callback) {
      if (!waitForExit) return stdin.end(callback);
      stdin.end();
      void tool.exited.then((exit) => callback(exit.code === 0 ? null : onFailure(exit)));
    },
    destroy(error, callback) {
      // autoDestroy also lands here after a clean finish: the tool may still be working then.
      if (error || !this.writableFinished) {
        tool.kill();
        stdin.destroy();
      }
      callback(error);
    },
  });
  // A tool that dies while we are still writing fails the sink at once, not at the next write.
  void tool.exited.then((exit) => {
    if (exit.code !== 0 && !sink.destroyed && !sink.writableFinished) sink.destroy(onFailure(exit));
  });
  return sink;
}
