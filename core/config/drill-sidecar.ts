import type { DrillConfig } from './drill-config.js';

/** The name of the scratch server's container in a drill task (the runner's is `RUNNER_CONTAINER_NAME`). */
export const DRILL_SERVER_CONTAINER_NAME = 'scratch-server';

/** The database a scheduled drill creates on its sidecar, restores into and drops. */
const SCRATCH_DATABASE = 'vaultra_drill';

/**
 * The scratch server a drill task runs beside the runner: its official image, how it starts, how
 * the platform knows it is ready, and the URL the runner passes to `vaultra drill --scratch`.
 * Containers of one task share the loopback interface (ECS awsvpc, a Cloud Run or Container Apps
 * job): the server listens on 127.0.0.1 only, so passwordless access reaches no one but the
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

/** The official images a drill task can run as its scratch server, by the repository of `drill.server`. */
export type SidecarImage = 'postgres' | 'mariadb' | 'mysql' | 'mongo';

/**
 * How each official image starts as a throwaway server. The health checks go over TCP to
 * 127.0.0.1: the MariaDB and MySQL entrypoints first run a temporary server for their setup
 * with networking off, so only the real server answers there.
 */
const SIDECARS: Readonly<Record<SidecarImage, (image: string) => DrillSidecar>> = {
  postgres: (image) => ({
    image,
    command: ['postgres', '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    environment: { POSTGRES_HOST_AUTH_METHOD: 'trust' },
    healthCheck: 'pg_isready -h 127.0.0.1 -p 5432 -U postgres',
    port: 5432,
    scratchUrl: `postgres://postgres@127.0.0.1:5432/${SCRATCH_DATABASE}`,
  }),
  // Arguments that start with "-" go to mariadbd (the image's entrypoint); root has no password.
  mariadb: (image) => ({
    image,
    command: ['--bind-address=127.0.0.1', '--skip-name-resolve', '--innodb-flush-log-at-trx-commit=0', '--character-set-server=utf8mb4'],
    environment: { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1' },
    healthCheck: 'mariadb-admin ping -h 127.0.0.1 -P 3306 -u root --silent',
    port: 3306,
    scratchUrl: `mariadb://root@127.0.0.1:3306/${SCRATCH_DATABASE}`,
  }),
  mysql: (image) => ({
    image,
    command: ['--bind-address=127.0.0.1', '--skip-name-resolve', '--innodb-flush-log-at-trx-commit=0', '--character-set-server=utf8mb4'],
    environment: { MYSQL_ALLOW_EMPTY_PASSWORD: 'yes' },
    healthCheck: 'mysqladmin ping -h 127.0.0.1 -P 3306 -u root --silent',
    port: 3306,
    scratchUrl: `mysql://root@127.0.0.1:3306/${SCRATCH_DATABASE}`,
  }),
  // Without MONGO_INITDB_ROOT_USERNAME the image starts mongod without authentication.
  mongo: (image) => ({
    image,
    command: ['--bind_ip', '127.0.0.1'],
    environment: {},
    healthCheck: `mongosh --quiet --eval "db.adminCommand('ping').ok" mongodb://127.0.0.1:27017/`,
    port: 27017,
    scratchUrl: `mongodb://127.0.0.1:27017/${SCRATCH_DATABASE}`,
  }),
};

/** The official image repository of a `drill.server` (`mariadb:11.4` → `mariadb`); drill-config.ts accepts only these. */
export function sidecarImageOf(server: string): SidecarImage | undefined {
  const repository = server.slice(0, server.indexOf(':'));
  return Object.hasOwn(SIDECARS, repository) ? (repository as SidecarImage) : undefined;
}

/** The sidecar of a job's drill, or none when the drill restores inside the runner's container. */
export function drillSidecarOf(drill: Pick<DrillConfig, 'server'> | undefined): DrillSidecar | undefined {
  if (!drill?.server) return undefined;
  const kind = sidecarImageOf(drill.server);
  return kind ? SIDECARS[kind](drill.server) : undefined;
}
