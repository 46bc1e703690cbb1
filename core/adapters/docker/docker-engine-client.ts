import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { ConfigError, DockerEngineError, NotFoundError } from '../../errors.js';
import type { DockerEngine, DockerEngineVersion, HelperExit, HelperRun, HelperSpec, VolumeContainer, VolumeInfo } from '../../ports/docker-volumes.js';
import { demuxAttachStream } from './docker-stream-demux.js';

/** The Engine API version asked for: Docker 20.10 and later serve it, and it has everything used here. */
const API = '/v1.41';
const STDERR_TAIL_BYTES = 4096;
/** Seconds a container gets between SIGTERM and SIGKILL when `--stop-containers` stops it (Docker's own default). */
const STOP_TIMEOUT_S = 10;
/** Marks helper containers, so an operator can find one a killed runner left behind (`docker ps -af label=vaultra.helper`). */
const HELPER_LABEL = 'vaultra.helper';
/** How long a registry may take to answer `registryProblem`: a registry out of reach can hang on connect. */
const REGISTRY_TIMEOUT_MS = 20_000;

/**
 * The unix socket the Docker engine listens on: `DOCKER_HOST=unix:///path`, else the default.
 * A TCP `DOCKER_HOST` is refused: it would carry volume contents over the network, usually
 * without TLS.
 */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  throw new ConfigError(`DOCKER_HOST=${host} is not a unix socket: vaultra talks to the Docker engine over its local socket only (unset DOCKER_HOST or set it to unix:///var/run/docker.sock)`);
}

/** The error statuses a call resolves with instead of rejecting: some, or `any`. */
type Accepted = readonly number[] | 'any';

interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * A Docker Engine API client over the engine's unix socket, with plain `node:http`: the few
 * calls Vaultra makes (volumes, containers, one attach) do not justify dockerode and its
 * dependency tree (ssh2, protobuf, tar-fs) in the CLI bundle.
 */
export class DockerEngineClient implements DockerEngine {
  constructor(readonly socketPath: string = dockerSocketPath()) {}

  async engineVersion(signal?: AbortSignal): Promise<DockerEngineVersion> {
    // Unversioned: an engine older than the API asked for elsewhere still says what it speaks.
    const body = JSON.parse((await this.send('GET', '/version', undefined, signal)).body) as { Version: string; ApiVersion: string };
    return { version: body.Version, apiVersion: body.ApiVersion };
  }

  async hasImage(image: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.call('GET', `/images/${encodeURIComponent(image)}/json`, undefined, signal, [404])).status !== 404;
  }

  async registryProblem(image: string, signal?: AbortSignal): Promise<string | undefined> {
    const timeout = AbortSignal.timeout(REGISTRY_TIMEOUT_MS);
    try {
      const response = await this.call('GET', `/distribution/${encodeURIComponent(image)}/json`, undefined, signal ? AbortSignal.any([signal, timeout]) : timeout, 'any');
      return response.status === 200 ? undefined : engineMessage(response.body);
    } catch (error) {
      if (timeout.aborted && !signal?.aborted) return `its registry did not answer within ${REGISTRY_TIMEOUT_MS / 1000} s`;
      throw error;
    }
  }

  async listVolumes(options: { readonly withSizes?: boolean; readonly signal?: AbortSignal } = {}): Promise<VolumeInfo[]> {
    const sizes = new Map<string, number>();
    if (options.withSizes) {
      const df = JSON.parse((await this.call('GET', '/system/df?type=volume', undefined, options.signal)).body) as { Volumes?: RawVolume[] };
      for (const volume of df.Volumes ?? []) if (volume.UsageData && volume.UsageData.Size >= 0) sizes.set(volume.Name, volume.UsageData.Size);
    }
    const listed = JSON.parse((await this.call('GET', '/volumes', undefined, options.signal)).body) as { Volumes: RawVolume[] | null };
    return (listed.Volumes ?? [])
      .map((raw) => ({ ...volumeInfo(raw), ...(sizes.has(raw.Name) ? { sizeBytes: sizes.get(raw.Name)! } : {}) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async inspectVolume(name: string, signal?: AbortSignal): Promise<VolumeInfo | undefined> {
    const response = await this.call('GET', `/volumes/${encodeURIComponent(name)}`, undefined, signal, [404]);
    return response.status === 404 ? undefined : volumeInfo(JSON.parse(response.body) as RawVolume);
  }

  async createVolume(name: string, signal?: AbortSignal): Promise<void> {
    await this.call('POST', '/volumes/create', { Name: name }, signal);
  }

  async removeVolume(name: string): Promise<void> {
    await this.call('DELETE', `/volumes/${encodeURIComponent(name)}`, undefined, undefined, [404]);
  }

  async containersUsing(volume: string, signal?: AbortSignal): Promise<VolumeContainer[]> {
    const filters = encodeURIComponent(JSON.stringify({ volume: [volume] }));
    const raw = JSON.parse((await this.call('GET', `/containers/json?all=1&filters=${filters}`, undefined, signal)).body) as RawContainer[];
    // The engine matches a volume filter by name or by mount destination: keep only real uses of the volume.
    return raw.filter((c) => c.Mounts.some((m) => m.Type === 'volume' && m.Name === volume)).map(containerInfo);
  }

  async stopContainer(id: string): Promise<void> {
    // 304: already stopped.
    await this.call('POST', `/containers/${id}/stop?t=${STOP_TIMEOUT_S}`, undefined, undefined, [304]);
  }

  async startContainer(id: string): Promise<void> {
    // 304: already running.
    await this.call('POST', `/containers/${id}/start`, undefined, undefined, [304]);
  }

  async runHelper(spec: HelperSpec, signal?: AbortSignal): Promise<HelperRun> {
    const created = await this.call(
      'POST',
      '/containers/create',
      {
        Image: spec.image,
        Cmd: spec.command,
        Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
        Labels: { [HELPER_LABEL]: '1' },
        AttachStdin: spec.stdin,
        AttachStdout: true,
        AttachStderr: true,
        OpenStdin: spec.stdin,
        StdinOnce: spec.stdin,
        Tty: false,
        HostConfig: {
          NetworkMode: 'none',
          Mounts: spec.mounts.map((m) => ({ Type: 'volume', Source: m.volume, Target: m.path, ReadOnly: m.readOnly })),
        },
      },
      signal,
      [404],
    );
    if (created.status === 404) throw new NotFoundError(`image ${spec.image} is not on the Docker engine: load or build it there first (docker pull ${spec.image}, or --helper-image <local image with GNU tar>)`);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    let socket: Socket;
    try {
      socket = await this.attach(id, spec.stdin);
      await this.call('POST', `/containers/${id}/start`, undefined, signal);
    } catch (error) {
      await this.removeContainer(id);
      throw error;
    }
    const { stdout, stderr } = demuxAttachStream(socket);
    // Consumers that need stdout whole listen for its error themselves; unheard, it would crash the process.
    stdout.on('error', () => undefined);
    let tail = '';
    stderr.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    let removed: Promise<void> | undefined;
    const remove = () => (removed ??= this.removeContainer(id));
    const exited = this.call('POST', `/containers/${id}/wait`, undefined, undefined)
      .then((response) => (JSON.parse(response.body) as { StatusCode: number }).StatusCode, () => -1)
      // The attach stream carries the last bytes after the exit: wait for it, then for removal.
      .then(async (code): Promise<HelperExit> => {
        await new Promise<void>((resolve) => (stdout.readableEnded || stdout.destroyed ? resolve() : socket.once('close', () => resolve())));
        await remove();
        return { code, stderrTail: tail.trim() };
      });
    const onAbort = () => void remove();
    signal?.addEventListener('abort', onAbort, { once: true });
    void exited.finally(() => signal?.removeEventListener('abort', onAbort));
    return {
      stdout,
      stderr,
      ...(spec.stdin ? { stdin: halfClosingWriter(socket) } : {}),
      exited,
      kill: async () => {
        await remove();
        socket.destroy();
      },
    };
  }

  private async removeContainer(id: string): Promise<void> {
    await this.call('DELETE', `/containers/${id}?force=1`, undefined, undefined, [404, 409]).catch(() => undefined);
  }

  /** Hijacks an attach connection (HTTP 101): the raw, multiplexed stdio of the container. */
  private attach(id: string, stdin: boolean): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        method: 'POST',
        path: `${API}/containers/${id}/attach?stream=1&stdout=1&stderr=1${stdin ? '&stdin=1' : ''}`,
        headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
      });
      req.once('upgrade', (_response, socket: Socket, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.once('response', (response: IncomingMessage) => {
        response.resume();
        reject(new DockerEngineError(`the Docker engine refused to attach to helper container ${id.slice(0, 12)} (HTTP ${response.statusCode})`));
      });
      req.once('error', (error) => reject(unreachable(this.socketPath, error)));
      req.end();
    });
  }

  /** A call of the Engine API at the version Vaultra speaks (`API`). */
  private call(method: string, path: string, body: unknown, signal: AbortSignal | undefined, accepted: Accepted = []): Promise<ApiResponse> {
    return this.send(method, `${API}${path}`, body, signal, accepted);
  }

  private send(method: string, path: string, body: unknown, signal: AbortSignal | undefined, accepted: Accepted = []): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
          ...(signal ? { signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.once('error', reject);
          response.once('end', () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            if ((status >= 200 && status < 300) || accepted === 'any' || accepted.includes(status)) resolve({ status, body: text });
            else reject(apiError(method, path, status, text));
          });
        },
      );
      req.once('error', (error) => reject(signal?.aborted ? signal.reason : unreachable(this.socketPath, error)));
      req.end(payload);
    });
  }
}

/** A writer for the helper's stdin: ending it half-closes the attach connection, which closes the helper's stdin (StdinOnce). */
function halfClosingWriter(socket: Socket): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (socket.writableEnded || socket.destroyed) callback(new DockerEngineError('the helper container went away while its input was written'));
      else socket.write(chunk, callback);
    },
    final(callback) {
      // The engine closes the connection when the helper exits: there may be nothing left to close.
      if (socket.writableEnded || socket.destroyed) callback();
      else socket.end(() => callback());
    },
  });
}

function unreachable(socketPath: string, error: Error): ConfigError {
  return new ConfigError(`cannot reach the Docker engine at ${socketPath} (${(error as NodeJS.ErrnoException).code ?? error.message}): start dockerd, run as a user in the docker group, or set DOCKER_HOST=unix://<socket>`, { cause: error });
}

function apiError(method: string, path: string, status: number, body: string): DockerEngineError | NotFoundError {
  // The endpoint as Docker's API reference names it: without the version prefix and the query.
  const endpoint = path.split('?')[0]!.replace(/^\/v\d+\.\d+\//, '/');
  const what = `Docker engine: ${method} ${endpoint} failed (HTTP ${status}): ${engineMessage(body)}`;
  return status === 404 ? new NotFoundError(what) : new DockerEngineError(what);
}

/** The first line of the engine's error message (its JSON `message`, else the text). */
function engineMessage(body: string): string {
  let message = body.trim();
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: keep the text.
  }
  return message.split('\n')[0]!;
}

interface RawVolume {
  readonly Name: string;
  readonly Driver: string;
  readonly Mountpoint: string;
  readonly UsageData?: { readonly Size: number } | null;
}

interface RawContainer {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly State: string;
  readonly Image: string;
  readonly Mounts: readonly { readonly Type: string; readonly Name?: string }[];
}

function volumeInfo(raw: RawVolume): VolumeInfo {
  return { name: raw.Name, driver: raw.Driver, mountpoint: raw.Mountpoint };
}

function containerInfo(raw: RawContainer): VolumeContainer {
  return { id: raw.Id, name: (raw.Names[0] ?? raw.Id.slice(0, 12)).replace(/^\//, ''), state: raw.State, image: raw.Image };
}
