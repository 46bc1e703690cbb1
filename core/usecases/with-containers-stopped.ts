import { DockerEngineError, VaultraError } from '../errors.js';
import type { VolumeContainer, VolumeContainers } from '../ports/docker-volumes.js';

export interface ContainerPause {
  /** The containers that were running and were stopped for the work (and started again after). */
  readonly stopped: readonly VolumeContainer[];
  /** Containers using the volume that were not running: left as they were. */
  readonly leftAlone: readonly VolumeContainer[];
}

/**
 * Runs `work` with the containers that use a Docker volume stopped (`--stop-containers`), so
 * the volume holds still while it is read or written, and starts again exactly those that were
 * running — whether `work` succeeded, failed or was interrupted (an abort makes `work` reject,
 * which lands here like any failure). A container that was stopped, paused or never started is
 * left as it was.
 *
 * Starting is attempted for every stopped container even when one fails; a failure to start
 * one fails the run (after a successful `work`: the backup is stored, but the service is down
 * and the operator must hear it), naming the containers to start by hand. The restart does not
 * take the run's signal: an interrupted run must still bring its containers back.
 */
export async function withContainersStopped<T>(
  docker: VolumeContainers,
  volume: string,
  work: (pause: ContainerPause) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const using = await docker.containersUsing(volume, signal);
  const running = using.filter((container) => container.state === 'running');
  const pause: ContainerPause = { stopped: running, leftAlone: using.filter((container) => container.state !== 'running') };
  const stopped: VolumeContainer[] = [];
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    for (const container of running) {
      signal?.throwIfAborted();
      // Recorded before the call: a stop that fails half-way may still have stopped it.
      stopped.push(container);
      await docker.stopContainer(container.id);
    }
    outcome = { ok: true, value: await work(pause) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const notStarted: string[] = [];
  for (const container of stopped) {
    await docker.startContainer(container.id).catch(() => notStarted.push(container.name));
  }
  if (notStarted.length > 0) {
    const before = outcome.ok ? 'the run succeeded' : `the run failed (${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)})`;
    throw new DockerEngineError(`${before}, but container(s) ${notStarted.join(', ')} that were running before it did not start again: start them with docker start ${notStarted.join(' ')}`, {
      cause: outcome.ok ? undefined : outcome.error,
    });
  }
  if (!outcome.ok) throw outcome.error instanceof VaultraError || outcome.error instanceof Error ? outcome.error : new DockerEngineError(String(outcome.error));
  return outcome.value;
}
