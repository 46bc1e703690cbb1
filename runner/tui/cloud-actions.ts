import { setTimeout as sleep } from 'node:timers/promises';
import type { RunRecord } from '../../core/domain/run.js';
import type { Catalog } from '../../core/ports/catalog.js';
import type { OnDemandApi, OnDemandRequest } from '../../core/ports/on-demand-api.js';
import type { RunLogLine, RunLogReader } from '../../core/ports/run-log.js';
import { ConfigError, LaunchFailedError, NotFoundError, RunConflictError, type VaultraError } from '../../core/errors.js';

/**
 * The console's actions in a cloud environment: each is one request to the environment's api
 * function (the same the CLI equivalent sends), then the run it started is followed in the
 * catalog until it finishes. Following is only reading: stopping it leaves the run going.
 */

/** What the api function answered for a started run. */
export interface StartedCloudRun {
  readonly job: string;
  readonly runId: string;
  /** The platform's task (ECS task ARN, Cloud Run execution, Container Apps execution): where its log is. */
  readonly taskId: string;
}

/** Sends `request` and returns the run it started; a refusal becomes the error its kind names, with the function's one line. */
export async function startCloudRun(api: OnDemandApi, request: Extract<OnDemandRequest, { action: 'backup' | 'verify' | 'restore' }>, signal?: AbortSignal): Promise<StartedCloudRun> {
  const answer = await api.send(request, signal);
  if (!answer.ok) throw refusal(`${api.endpoint} refused the ${request.action}: ${answer.error.message}`, answer.error.kind);
  const { runId, taskId } = answer as { runId?: unknown; taskId?: unknown };
  if (typeof runId !== 'string' || typeof taskId !== 'string') {
    throw new LaunchFailedError(`${api.endpoint} started the ${request.action} but did not say which run (no runId/taskId in its answer): deploy the current functions`, false);
  }
  return { job: request.job, runId, taskId };
}

function refusal(message: string, kind: string): VaultraError {
  switch (kind) {
    case 'not-found':
      return new NotFoundError(message);
    case 'skipped':
    case 'duplicate':
    case 'conflict':
      return new RunConflictError(message);
    case 'config':
    case 'usage':
      return new ConfigError(message);
    default:
      return new LaunchFailedError(message, false);
  }
}

const FINISHED = new Set(['succeeded', 'failed', 'skipped']);

/** How often a followed run is read again: a cloud run takes minutes, a read costs one catalog get. */
export const FOLLOW_INTERVAL_MS = 3000;

/**
 * Reads the run from the catalog every `intervalMs` until it has finished, telling `onRead` what
 * each read found (`undefined` until the runner has started and recorded it). Rejects with the
 * abort when `signal` ends the following; the run itself is not touched.
 */
export async function followRun(catalog: Catalog, run: { readonly job: string; readonly runId: string }, options: { readonly signal: AbortSignal; readonly intervalMs?: number; readonly onRead?: (record: RunRecord | undefined) => void }): Promise<RunRecord> {
  for (;;) {
    const record = await catalog.get(run.job, run.runId, { signal: options.signal });
    options.onRead?.(record);
    if (record && FINISHED.has(record.status)) return record;
    await sleep(options.intervalMs ?? FOLLOW_INTERVAL_MS, undefined, { signal: options.signal });
  }
}

/** The run record a log reader takes for a started task, before (or without) its catalog record. */
export function taskRun(started: StartedCloudRun, kind: RunRecord['kind'], startedAt: Date): RunRecord {
  return { runId: started.runId, job: started.job, kind, status: 'running', startedAt: startedAt.toISOString(), taskId: started.taskId };
}

/** The newest `limit` lines of a task's log, or the one line that says why there are none to show. */
export async function logTail(reader: RunLogReader | undefined, run: RunRecord, limit: number, signal?: AbortSignal): Promise<{ readonly lines: readonly RunLogLine[] } | { readonly unavailable: string }> {
  if (!reader) return { unavailable: 'no log reader for this environment' };
  try {
    const lines = await reader.read(run, { limit, ...(signal ? { signal } : {}) });
    return lines ? { lines } : { unavailable: 'the platform keeps no log for this run (yet)' };
  } catch (error) {
    if (signal?.aborted) throw error;
    return { unavailable: (error as Error).message };
  }
}

/** What a restore's dry run found, as the runner printed it (`vaultra restore --dry-run --json`). */
export interface DryRunResult {
  readonly target: string;
  readonly restored: readonly { readonly name: string; readonly schema?: string }[];
  readonly replaced: readonly string[];
  readonly bytesRaw: number;
  readonly signature: string;
}

/**
 * A cloud dry run records no run: its answer is the runner's `--json` output, which the
 * platform keeps as log lines. printJson writes it indented, so it is the last block from a
 * `{` line to a `}` line; an error is the runner's `vaultra: error:` line.
 */
export function dryRunFromLog(lines: readonly RunLogLine[]): { readonly result: DryRunResult } | { readonly error: string } | undefined {
  const texts = lines.map((line) => line.text);
  const errorLine = texts.findLast((text) => text.startsWith('vaultra: error: '));
  if (errorLine) return { error: errorLine.slice('vaultra: error: '.length) };
  const end = texts.lastIndexOf('}');
  const start = end === -1 ? -1 : texts.lastIndexOf('{', end);
  if (start === -1) return undefined;
  try {
    const json = JSON.parse(texts.slice(start, end + 1).join('\n')) as Record<string, unknown> & { dryRun?: unknown; signature?: { verified?: boolean; keyId?: string; trustedAs?: string; reason?: string } };
    if (json.dryRun !== true) return undefined;
    const authenticity = json.signature;
    return {
      result: {
        target: String(json.target),
        restored: (json.restored as DryRunResult['restored'] | undefined) ?? [],
        replaced: (json.replaced as readonly string[] | undefined) ?? [],
        bytesRaw: Number(json.bytesRaw ?? 0),
        signature: authenticity?.verified ? `${authenticity.keyId} (trusted as ${authenticity.trustedAs})` : `NOT PROVEN: ${authenticity?.reason ?? 'not reported'}`,
      },
    };
  } catch {
    return undefined;
  }
}

/** Log lines read for a dry run's answer: its JSON lists every object restored, a line per field. */
const DRY_RUN_LOG_LINES = 2000;

/**
 * Reads the dry run's task log every `intervalMs` until the runner's answer (or its error line)
 * is there. Rejects when the log cannot be read (the caller then knows nothing of what the
 * restore would replace) or when `signal` ends the waiting.
 */
export async function awaitDryRun(reader: RunLogReader, started: StartedCloudRun, options: { readonly signal: AbortSignal; readonly startedAt: Date; readonly intervalMs?: number }): Promise<{ readonly result: DryRunResult } | { readonly error: string }> {
  const run = taskRun(started, 'restore', options.startedAt);
  for (;;) {
    const lines = await reader.read(run, { limit: DRY_RUN_LOG_LINES, signal: options.signal });
    const answer = lines && dryRunFromLog(lines);
    if (answer) return answer;
    await sleep(options.intervalMs ?? FOLLOW_INTERVAL_MS, undefined, { signal: options.signal });
  }
}
