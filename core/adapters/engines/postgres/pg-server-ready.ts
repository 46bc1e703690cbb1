import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, RestoreFailedError } from '../../../errors.js';
import { runTool, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { PostgresConnection } from './postgres-connection.js';
import { INSTALL_HINT } from './postgres-psql.js';
import { pgTool } from './pg-tools.js';

export interface ServerWait {
  /** How long the server may take to accept connections. @default SCRATCH_SERVER_WAIT_MS */
  readonly timeoutMs?: number;
  /** @default 1000 */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Long enough for a scratch server started beside the runner to pull its image and run initdb: a
 * Container Apps job starts its containers together, in no order.
 */
export const SCRATCH_SERVER_WAIT_MS = 180_000;

/** pg_isready's exit codes beyond 0 (accepting); it prints its verdict on stdout, not stderr. */
const NO_ATTEMPT = 3;
const VERDICTS: Readonly<Record<number, string>> = { 1: 'it rejects connections: still starting up', 2: 'no answer', [NO_ATTEMPT]: 'pg_isready could not try: check the URL' };

class NotReady extends Error {
  constructor(readonly exit: ToolExit) {
    super('not ready');
  }
}

/**
 * Resolves once the server of `connection` accepts connections (`pg_isready`), asking every
 * `intervalMs` for at most `timeoutMs` (measured on the monotonic clock). A server that is up
 * already costs one call. Rejects with `RestoreFailedError` when the time is up or the parameters
 * are unusable, and with `AbortedError` on `signal`.
 */
export async function untilAcceptingConnections(connection: PostgresConnection, wait: ServerWait = {}): Promise<void> {
  const timeoutMs = wait.timeoutMs ?? SCRATCH_SERVER_WAIT_MS;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const exit = await isReady(connection, wait.signal);
    if (exit === undefined) return;
    if (exit.code === NO_ATTEMPT || performance.now() + (wait.intervalMs ?? 1000) > deadline) {
      const said = VERDICTS[exit.code ?? -1] ?? `pg_isready ${exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`}`;
      throw new RestoreFailedError(
        `scratch server ${connection.display} did not accept connections within ${Math.round(timeoutMs / 1000)} s (${said}): check that it runs and that --scratch names its host and port`,
        exit.stderrTail,
      );
    }
    try {
      await sleep(wait.intervalMs ?? 1000, undefined, wait.signal ? { signal: wait.signal } : {});
    } catch {
      throw new AbortedError('interrupted while waiting for the scratch server');
    }
  }
}

/** One pg_isready: `undefined` when the server accepts connections, else how it failed. */
async function isReady(connection: PostgresConnection, signal: AbortSignal | undefined): Promise<ToolExit | undefined> {
  try {
    await runTool(pgTool('pg_isready'), ['--timeout=5'], { env: connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres, onFailure: (exit) => new NotReady(exit), installHint: INSTALL_HINT, ...(signal ? { signal } : {}) });
    return undefined;
  } catch (error) {
    if (error instanceof NotReady) return error.exit;
    throw error;
  }
}
