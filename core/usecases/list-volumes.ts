import type { DockerVolumes, VolumeContainer, VolumeContainers, VolumeInfo } from '../ports/docker-volumes.js';

export interface VolumeListing extends VolumeInfo {
  /** The containers that mount it, running or not. */
  readonly containers: readonly VolumeContainer[];
}

/** Every Docker volume with the containers that use it (`vaultra volumes`): what `--stop-containers` would stop. */
export async function listVolumes(docker: DockerVolumes & VolumeContainers, options: { readonly withSizes?: boolean; readonly signal?: AbortSignal } = {}): Promise<VolumeListing[]> {
  const volumes = await docker.listVolumes(options);
  return Promise.all(volumes.map(async (volume) => ({ ...volume, containers: await docker.containersUsing(volume.name, options.signal) })));
}
