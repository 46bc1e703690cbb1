import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { RestoreFailedError } from '../../errors.js';
import type { ToolExit, ToolProcess } from '../process/child-process.js';

/**
 * The lifecycle every drill's throwaway server shares (PostgreSQL, MariaDB, MongoDB): a private
 * folder, one server process in it, a readiness poll, and a stop that ends the process before it
 * removes the folder. What is engine-specific (binaries, arguments, the readiness probe, messages)
 * stays in each engine's `*-scratch-server.ts`.
 */

/** What every throwaway server tells its drill; each engine adds how to reach it. */
export interface ThrowawayServer {
  readonly version: string;
  /** Stops the server (its stop signal, SIGKILL past 2 s: its data is thrown away) and removes its folder. Idempotent; resolves with what could not be removed. */
  stop(): Promise<string | undefined>;
}

/**
 * Runs an engine's `start` for a server whose private folder `base` is already made. `start`
 * hands the server process it spawns to `keep`, so that `stop` ends it (its stop signal, SIGKILL
 * past 2 s: the data is thrown away) before removing `base`. When `start` throws, `stop` runs
 * first: the folder is removed however the start ends.
 */
export async function startInFolder<T extends object>(base: string, start: (keep: (server: ToolProcess) => ToolProcess) => Promise<T>): Promise<T & Pick<ThrowawayServer, 'stop'>> {
  let server: ToolProcess | undefined;
  const stop = async (): Promise<string | undefined> => {
    if (server) {
      server.kill();
      await server.exited;
    }
    server = undefined;
    return rm(base, { recursive: true, force: true }).then(
      () => undefined,
      (error: Error) => `could not remove ${base}: ${error.message}`,
    );
  };
  try {
    const started = await start((spawned) => (server = spawned));
    return { ...started, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface PollOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Calls `probe` every `intervalMs` until it answers (anything but undefined) while the server is
 * still running, the signal is not aborted and `timeoutMs` has not passed. Resolves with the
 * answer, or undefined when there was none: the caller says why, from the signal and the server's exit.
 */
export async function pollWhileRunning<T>(server: ToolProcess, probe: () => Promise<T | undefined>, { intervalMs, timeoutMs, signal }: PollOptions): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted && !hasExited(server)) {
    const answer = await probe();
    if (answer !== undefined) return answer;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return undefined;
}

/** How the server ended when it has, else undefined (it is still running: the start timed out or was aborted). */
export async function exitIfStopped(server: ToolProcess): Promise<ToolExit | undefined> {
  return hasExited(server) ? server.exited : undefined;
}

function hasExited(server: ToolProcess): boolean {
  return server.child.exitCode !== null || server.child.signalCode !== null;
}

/** The `onFailure` of a setup tool (`initdb`, `mariadb-install-db`): `could not <what> a throwaway <server> for the drill: <its last stderr line>`. */
export function setupFailure(serverName: string): (what: string) => (exit: ToolExit) => RestoreFailedError {
  return (what) => (exit) => new RestoreFailedError(`could not ${what} a throwaway ${serverName} for the drill: ${exit.stderrTail.split('\n').findLast(Boolean) ?? 'no reason given'}`, exit.stderrTail);
}

/**
 * The first of `names` found in PATH or, after it, in `extraDirs`: server binaries often live in
 * folders a user's PATH leaves out (`/usr/sbin`, `/usr/libexec`).
 */
export function findServerBinary(names: readonly string[], extraDirs: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const name of names) for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}
