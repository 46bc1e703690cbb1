/**
 * A throwaway emulator process for tests (moto, fake-gcs-server, Azurite, the Firestore
 * emulator…): started on 127.0.0.1 and a free port, ready once an HTTP probe answers, stopped
 * by PID (whole process tree) with its temp folder removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killTree, spawnTracked, tail, waitForExit } from './exec.js';

export interface EmulatorProcess {
  readonly pid: number;
  /** Private temp folder for the emulator's state; removed by `stop()`. */
  readonly baseDir: string;
  /** What the emulator printed so far (stdout and stderr, interleaved). */
  output(): string;
  /** SIGTERM, SIGKILL after 5 s, then remove `baseDir`. Idempotent. */
  stop(): Promise<void>;
}

export interface StartEmulatorOptions {
  readonly name: string;
  readonly command: string;
  /** Arguments; `baseDir` is created first and passed in. */
  readonly args: (baseDir: string) => readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Also set this variable to `baseDir` (for emulators that take their state folder from the environment). */
  readonly filesystemRootVariable?: string;
  /** Resolves once the emulator answers (e.g. an HTTP GET that returns any status). */
  readonly ready: () => Promise<boolean>;
  /** @default 60_000 */
  readonly timeoutMs?: number;
}

export async function startEmulator(options: StartEmulatorOptions): Promise<EmulatorProcess> {
  const baseDir = mkdtempSync(join(tmpdir(), `vaultra-${options.name}-`));
  const stateDir = options.filesystemRootVariable ? { [options.filesystemRootVariable]: baseDir } : {};
  const child = spawnTracked(options.command, [...options.args(baseDir)], { env: { ...process.env, ...options.env, ...stateDir } });
  const log: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => log.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));
  const exited = waitForExit(child);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killTree(child, 'SIGTERM');
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(baseDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${options.name} exited at start (${child.exitCode ?? child.signalCode}): ${tail(Buffer.concat(log).toString('utf8'), 5)}`);
      }
      if (await options.ready().catch(() => false)) return { pid: child.pid!, baseDir, output: () => Buffer.concat(log).toString('utf8'), stop };
      if (Date.now() > deadline) throw new Error(`${options.name} did not answer within ${(options.timeoutMs ?? 60_000) / 1000} s; log: ${tail(Buffer.concat(log).toString('utf8'), 5)}`);
      await sleep(150);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A readiness probe: true once `url` answers HTTP at all (any status). */
export function answersHttp(url: string): () => Promise<boolean> {
  return async () => {
    await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return true;
  };
}
