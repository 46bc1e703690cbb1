import type { DrillConfig } from './drill-config.js';

/** The name of the scratch server's container in a drill task (the runner's is `RUNNER_CONTAINER_NAME`). */
export const DRILL_SERVER_CONTAINER_NAME = 'scratch-server';

/** The role a scheduled drill restores as on its sidecar: the image's superuser, with no password (see `listen`). */
const SIDECAR_USER = 'postgres';

/**
 * The scratch server a drill task runs beside the runner: its official image, how it starts, how
 * the platform knows it is ready, and the URL the runner passes to `vaultra drill --scratch`.
 * Containers of one task share the loopback interface (ECS awsvpc, a Cloud Run or Container Apps
 * job): the server listens on 127.0.0.1 only, so trust authentication reaches no one but the
 * runner, and no password exists to leak.
 */
export interface DrillSidecar {
  readonly image: string;
  /** The server's command line after the image's entrypoint. */
  readonly command: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  /** A shell command that succeeds once the server accepts connections (the platform's health check). */
  readonly healthCheck: string;
  readonly port: number;
  /** What the runner gets as `--scratch`: the database the drill creates on the sidecar, restores into and drops. */
  readonly scratchUrl: string;
}

/** The sidecar of a job's drill, or none when the drill restores inside the runner's container. */
export function drillSidecarOf(drill: Pick<DrillConfig, 'server'> | undefined): DrillSidecar | undefined {
  if (!drill?.server) return undefined;
  const port = 5432;
  return {
    image: drill.server,
    command: ['postgres', '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    environment: { POSTGRES_HOST_AUTH_METHOD: 'trust' },
    healthCheck: `pg_isready -h 127.0.0.1 -p ${port} -U ${SIDECAR_USER}`,
    port,
    scratchUrl: `postgres://${SIDECAR_USER}@127.0.0.1:${port}/vaultra_drill`,
  };
}
