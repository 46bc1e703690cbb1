/**
 * The built `vaultra` CLI as a child process a test can watch and signal while it runs (kill a
 * tool it started mid-stream, send it SIGINT, sample its descendants). For a command that is
 * simply run to its end, use `runVaultra` (./cli.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { vaultraBin, type VaultraResult } from './cli.js';
import { spawnTracked, waitForExit } from './exec.js';

export interface StartedVaultra {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once vaultra exited, with everything it printed; never rejects. */
  readonly result: Promise<VaultraResult>;
}

/**
 * `node dist/vaultra.mjs …args` with exactly `env` (nothing inherited unless `env` holds it),
 * in its own process group and tracked, so a failing test cannot leave it running.
 *
 * @example
 * const started = startVaultra(['backup', url, '--to', storeUrl], { ...process.env, NO_COLOR: '1' });
 * process.kill(started.pid, 'SIGINT');
 * const { code, stderr } = await started.result;
 */
export function startVaultra(args: readonly string[], env: NodeJS.ProcessEnv): StartedVaultra {
  const child = spawnTracked(process.execPath, [vaultraBin, ...args], { env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const result = waitForExit(child).then(({ code, signal }) => {
    const stdoutBytes = Buffer.concat(out);
    return { code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes, timedOut: false };
  });
  return { child, pid: child.pid!, result };
}
