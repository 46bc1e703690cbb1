import { DockerEngineClient } from '../core/adapters/docker/docker-engine-client.js';
import { engineIdForUrl } from '../core/adapters/engines/engines.js';
import { volumeName } from '../core/adapters/engines/volume/volume-descriptor.js';
import { ConfigError } from '../core/errors.js';
import { withContainersStopped } from '../core/usecases/with-containers-stopped.js';

/**
 * `--stop-containers` of `backup` and `restore`, and a spec's `stopContainers` (a config job's,
 * for `vaultra run` and scheduled runs): runs `work` with the containers using the
 * volume `url` names stopped, and says on stderr which were stopped and started again. Without
 * the flag, just runs `work`.
 */
export async function aroundVolumeContainers<T>(url: string, stopContainers: boolean | undefined, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!stopContainers) return work();
  const engine = engineIdForUrl(url);
  if (engine !== 'volume') throw new ConfigError(`--stop-containers (stopContainers in a spec or job) applies to Docker volumes only, not to a ${engine} source or target: use it with volume:<name>, or remove it`);
  const volume = volumeName(url);
  const names = (list: readonly { name: string }[]) => list.map((c) => c.name).join(', ');
  let stopped: readonly { name: string }[] = [];
  try {
    return await withContainersStopped(
      new DockerEngineClient(),
      volume,
      (pause) => {
        stopped = pause.stopped;
        if (pause.stopped.length > 0) process.stderr.write(`vaultra: stopped ${names(pause.stopped)} (using volume ${volume}); they start again when this run ends\n`);
        else process.stderr.write(`vaultra: no running container uses volume ${volume}; nothing to stop\n`);
        return work();
      },
      signal,
    );
  } finally {
    if (stopped.length > 0) process.stderr.write(`vaultra: started ${names(stopped)} again\n`);
  }
}
