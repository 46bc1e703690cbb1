import { secretScheme } from '../domain/connection-secret.js';
import type { EngineId } from '../domain/engine-vocabulary.js';

/**
 * Why a config job's `stopContainers` cannot work, or `undefined` when it can (or when only the
 * runner can tell: a secret reference names no engine until it is resolved). The containers are
 * stopped through the Docker engine of the machine the job runs on, so only a local
 * environment's `volume:` jobs qualify. One rule for `loadConfig` (which throws it) and `config
 * validate` (which lists it).
 */
export function stopContainersProblem(source: string, cloud: string, engineOf?: (url: string) => EngineId): string | undefined {
  if (cloud !== 'local') return `a runner in ${cloud} has no Docker engine to stop containers with: stopContainers is for volume:<name> jobs of a local environment (remove it from this job)`;
  if (secretScheme(source) !== undefined || !engineOf) return undefined;
  let engine: EngineId;
  try {
    engine = engineOf(source);
  } catch {
    return undefined; // an unreadable source is reported as such
  }
  return engine === 'volume' ? undefined : `a ${engine} source has no containers to stop: stopContainers is for volume:<name> jobs (remove it from this job)`;
}
