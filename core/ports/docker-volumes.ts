import type { Readable, Writable } from 'node:stream';

/**
 * What Vaultra asks of a Docker engine to back up and restore its named volumes, split by
 * capability: the `volume:` engine needs volumes and helper containers, `--stop-containers`
 * needs only the containers that use a volume. Errors are VaultraErrors: `ConfigError` when the
 * engine cannot be reached, `NotFoundError` for a volume or container that does not exist.
 */

export interface VolumeInfo {
  readonly name: string;
  readonly driver: string;
  /** Where the volume's files are on the Docker host (not necessarily on this machine). */
  readonly mountpoint: string;
  /** Bytes the volume uses, when it was asked for (the engine walks every volume to tell). */
  readonly sizeBytes?: number;
}

export interface VolumeContainer {
  readonly id: string;
  /** Without Docker's leading `/`. */
  readonly name: string;
  /** Docker's word: `running`, `exited`, `paused`, `created`… */
  readonly state: string;
  readonly image: string;
}

export interface DockerVolumes {
  /** Every volume, sorted by name; `withSizes` asks the engine to measure them (slow on big hosts). */
  listVolumes(options?: { readonly withSizes?: boolean; readonly signal?: AbortSignal }): Promise<VolumeInfo[]>;
  /** The volume, or `undefined` when there is none of that name. */
  inspectVolume(name: string, signal?: AbortSignal): Promise<VolumeInfo | undefined>;
  /** Creates an empty local volume (a restore target that does not exist yet). Idempotent. */
  createVolume(name: string, signal?: AbortSignal): Promise<void>;
  /** Removes a volume no container uses; a volume already gone is no error. */
  removeVolume(name: string): Promise<void>;
}

export interface VolumeContainers {
  /** Every container (running or not) that mounts the volume. */
  containersUsing(volume: string, signal?: AbortSignal): Promise<VolumeContainer[]>;
  /** Stops a container (SIGTERM, then SIGKILL after its stop timeout). Stopping a stopped one is no error. */
  stopContainer(id: string): Promise<void>;
  /** Starts a container. Starting a running one is no error. */
  startContainer(id: string): Promise<void>;
}

/** One volume mounted into a helper container. */
export interface HelperMount {
  readonly volume: string;
  readonly path: string;
  readonly readOnly: boolean;
}

export interface HelperSpec {
  readonly image: string;
  /** The command, run without a shell unless it names one. */
  readonly command: readonly string[];
  readonly mounts: readonly HelperMount[];
  /** Whether the helper reads `stdin` (otherwise its stdin is closed). */
  readonly stdin: boolean;
  readonly env?: Readonly<Record<string, string>>;
}

export interface HelperExit {
  readonly code: number;
  /** The last few KB of what the helper wrote to stderr. */
  readonly stderrTail: string;
}

/**
 * A running helper container, attached before it started (no output is lost). It has no
 * network (`--network none`) and is removed once it exited or was killed.
 */
export interface HelperRun {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Present when the spec asked for stdin; ending it closes the helper's stdin. */
  readonly stdin?: Writable;
  /** Resolves once the helper exited and was removed. Never rejects: a failure to wait reads as code -1. */
  readonly exited: Promise<HelperExit>;
  /** Kills and removes the helper; safe to call twice, and after it exited. */
  kill(): Promise<void>;
}

export interface HelperContainers {
  /** Creates, attaches to and starts a helper. Rejects (`NotFoundError`) when the image is not on the engine. */
  runHelper(spec: HelperSpec, signal?: AbortSignal): Promise<HelperRun>;
}

export interface DockerEngineVersion {
  /** The engine's release, e.g. `20.10.24+dfsg1`. */
  readonly version: string;
  /** The newest Engine API version it speaks, e.g. `1.41`. */
  readonly apiVersion: string;
}

/** What `vaultra doctor` asks before volume jobs count on the engine. Read-only: nothing is pulled or created. */
export interface DockerEngineProbe {
  /** Where the engine is asked (`/var/run/docker.sock`), for messages. */
  readonly socketPath: string;
  /** The engine's version; rejects (`ConfigError`) when its socket does not answer. */
  engineVersion(signal?: AbortSignal): Promise<DockerEngineVersion>;
  /** Whether the image is on the engine. */
  hasImage(image: string, signal?: AbortSignal): Promise<boolean>;
  /** Asks the image's registry, through the engine, for its manifest (no pull): `undefined` when it answers, else why it did not. */
  registryProblem(image: string, signal?: AbortSignal): Promise<string | undefined>;
}

/** The whole Docker engine client, as the `volume:` engine, the CLI's `vaultra volumes` and `vaultra doctor` use it. */
export type DockerEngine = DockerVolumes & VolumeContainers & HelperContainers & DockerEngineProbe;
