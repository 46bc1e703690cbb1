import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';
import { ConfigError } from '../../../errors.js';
import { ParsedConnection } from '../engine-connection.js';

/** A Docker volume source or target, parsed once: its name. */
export type VolumeSource = ParsedConnection<'volume', string>;

/** Docker's own rule for volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** `volume:<name>` or `volume://<name>` → the name. */
export function volumeName(url: string): string {
  const name = /^volume:/i.test(url) ? url.slice('volume:'.length).replace(/^\/\//, '') : '';
  if (!VOLUME_NAME.test(name)) throw new ConfigError(`malformed volume URL ${url}: expected volume:<Docker volume name> (letters, digits, _ . -; see vaultra volumes)`);
  return name;
}

/**
 * Docker named volumes as tar streams, through the Docker engine's socket: what the engine is
 * (see `VolumeEngine` for what it does). The tar runs inside a helper container, so the only
 * tool this machine needs is the Docker engine; the helper image needs GNU tar and findutils.
 */
export const volumeDescriptor = {
  id: 'volume',
  label: 'Docker volumes',
  schemes: ['volume'],
  urlForms: ['volume:<name>'],
  targetForm: 'volume:<empty or absent volume>',
  tools: [],
  contentKinds: ['directory', 'file', 'symlink'],
  capabilities: { atomicRestore: true, selections: ['paths'], consistency: 'none: files read one by one; stop the containers using the volume (--stop-containers) for a quiet copy' },
  // The same archive as `dir:` (a POSIX tar of the volume's root); restores still match engines (runRestore).
  artifactName: 'tar',
  parse(url: string): VolumeSource {
    const name = volumeName(url);
    return new ParsedConnection('volume', name, `volume:${name}`);
  },
} as const satisfies EngineDescriptor;
