import { DockerEngineClient } from '../core/adapters/docker/docker-engine-client.js';
import { helperResult } from '../core/adapters/engines/volume/helper-output.js';
import { gnuTarVersionOf } from '../core/adapters/process/gnu-tar.js';
import { DockerEngineError, VaultraError } from '../core/errors.js';
import type { DockerEngineProbe, HelperContainers } from '../core/ports/docker-volumes.js';
import type { ServerCheck } from '../core/ports/log-archiver.js';

/** The Engine API version docker-engine-client.ts asks for: Docker 20.10 and later speak it. */
const NEEDED_API = [1, 41] as const;

const IMAGE_FIX = 'set VAULTRA_VOLUME_HELPER_IMAGE to an image the engine has with GNU tar, findutils and bash (any Debian or Ubuntu image)';

/** What the helper prints for the tool check: each tool's version banner, `@@` between them (a missing tool leaves its part empty). */
const TOOLS_SCRIPT = 'tar --version; echo @@; find --version; echo @@; bash --version; true';

/**
 * `vaultra doctor`'s checks of the Docker engine volume jobs use, each ok, warn or fail with what
 * to do: the socket answers, the engine speaks the API version the client asks for, and the
 * helper image is on the engine (else whether its registry has it: volume runs never pull) and
 * runs GNU tar, GNU find and bash, which its helpers run. Nothing is pulled or left behind: the
 * tool check is one helper container with no mount and no network, removed when it exits.
 */
export async function dockerChecks(connect: () => DockerEngineProbe & HelperContainers, helperImage: string, signal?: AbortSignal): Promise<ServerCheck[]> {
  let docker: DockerEngineProbe & HelperContainers;
  try {
    docker = connect();
  } catch (error) {
    // A DOCKER_HOST that is not a unix socket.
    if (!(error instanceof VaultraError)) throw error;
    return [{ name: 'engine', status: 'fail', detail: error.message, fix: 'unset DOCKER_HOST, or set it to unix://<the engine\'s socket>' }];
  }
  let version;
  try {
    version = await docker.engineVersion(signal);
  } catch (error) {
    if (!(error instanceof VaultraError)) throw error;
    const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
    return [
      {
        name: 'engine',
        status: 'fail',
        detail: code ? `no Docker engine answers at ${docker.socketPath} (${code})` : error.message,
        fix: code === 'EACCES' ? 'run vaultra as a user in the docker group (or as root)' : 'start dockerd (systemctl start docker), or set DOCKER_HOST=unix://<its socket>',
      },
    ];
  }
  const checks: ServerCheck[] = [{ name: 'engine', status: 'ok', detail: `Docker ${version.version} at ${docker.socketPath}` }];
  const [major = 0, minor = 0] = version.apiVersion.split('.').map(Number);
  const apiOk = major > NEEDED_API[0] || (major === NEEDED_API[0] && minor >= NEEDED_API[1]);
  checks.push(
    apiOk
      ? { name: 'API version', status: 'ok', detail: `${version.apiVersion} (vaultra uses ${NEEDED_API.join('.')})` }
      : { name: 'API version', status: 'fail', detail: `${version.apiVersion}, older than the ${NEEDED_API.join('.')} vaultra uses`, fix: 'upgrade Docker to 20.10 or later' },
  );
  checks.push(await helperImageCheck(docker, helperImage, signal));
  return checks;
}

async function helperImageCheck(docker: DockerEngineProbe & HelperContainers, image: string, signal?: AbortSignal): Promise<ServerCheck> {
  const name = 'helper image';
  if (!(await docker.hasImage(image, signal))) {
    const problem = await docker.registryProblem(image, signal);
    if (problem === undefined) return { name, status: 'warn', detail: `${image} is not on the engine; its registry has it`, fix: `docker pull ${image} (volume runs do not pull images)` };
    return { name, status: 'fail', detail: `${image} is not on the engine and cannot be pulled: ${problem}`, fix: `docker pull ${image} where its registry is reachable (or docker load it), or ${IMAGE_FIX}` };
  }
  const run = await docker.runHelper({ image, command: ['sh', '-c', TOOLS_SCRIPT], mounts: [], stdin: false, env: { LC_ALL: 'C' } }, signal);
  const output = await helperResult(run, (exit) => new DockerEngineError(`a helper from ${image} exited ${exit.code}: ${exit.stderrTail}`));
  const [tar = '', find = '', bash = ''] = output.toString('utf8').split('@@\n').map((part) => part.split('\n')[0]!.trim());
  const tarVersion = gnuTarVersionOf(tar);
  const findVersion = /^find \(GNU findutils\) (\S+)/.exec(find)?.[1];
  const bashVersion = /^GNU bash, version (\S+)/.exec(bash)?.[1];
  const missing = [tarVersion ? [] : [`GNU tar (tar --version: ${tar || 'not found'})`], findVersion ? [] : ['GNU find'], bashVersion ? [] : ['bash']].flat();
  if (missing.length > 0) return { name, status: 'fail', detail: `${image} lacks ${missing.join(', ')}`, fix: IMAGE_FIX };
  return { name, status: 'ok', detail: `${image}: GNU tar ${tarVersion}, GNU find ${findVersion}, bash ${bashVersion}` };
}

/** The real engine, at `$DOCKER_HOST` (unix://… only) or /var/run/docker.sock. */
export const connectDocker = (): DockerEngineClient => new DockerEngineClient();
