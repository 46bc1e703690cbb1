import type { Catalog } from '../ports/catalog.js';
import { newRunId, type RunKind, type RunRecord } from '../domain/run.js';
import { toRunError } from './run-errors.js';
import { phasesField, type PhaseTimings } from './phase-timings.js';

/**
 * Runs `work` as a recorded run of `kind` (restore, verify): created as running, updated to
 * succeeded or failed with a one-line error. Rethrows the error after recording it. `signal`
 * cancels the creation only: the outcome of a run that started is recorded even when it was
 * cancelled (as failed, with the abort), so no record stays `running`. `base.runId` records it
 * under an id chosen beforehand (a launched run's, so that whoever launched it can follow it).
 * With `timings`, the outcome records the phase durations it measured (`phasesMs`).
 */
export async function recordedRun<T>(
  catalog: Catalog,
  base: { kind: RunKind; job: string; engine?: string; location?: string; runId?: string },
  work: (run: RunRecord) => Promise<T>,
  options: { readonly signal?: AbortSignal; readonly timings?: PhaseTimings } = {},
): Promise<{ run: RunRecord; value: T }> {
  const startedAt = new Date();
  const { runId = newRunId(startedAt), ...fields } = base;
  let run: RunRecord = { runId, status: 'running', startedAt: startedAt.toISOString(), ...fields };
  await catalog.create(run, options.signal ? { signal: options.signal } : {});
  const finish = () => {
    const finishedAt = new Date();
    return { finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - startedAt.getTime(), ...phasesField(options.timings) };
  };
  try {
    const value = await work(run);
    run = { ...run, status: 'succeeded', ...finish() };
    await catalog.update(run);
    return { run, value };
  } catch (error) {
    run = { ...run, status: 'failed', ...finish(), error: toRunError(error) };
    await catalog.update(run).catch(() => undefined);
    throw error;
  }
}
