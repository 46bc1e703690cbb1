import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';
import { ParsedConnection } from '../engine-connection.js';
import { directoryPath } from './directory-paths.js';

/** A directory source or target, parsed once: its absolute path. */
export type DirectorySource = ParsedConnection<'directory', string>;

/** `tar (GNU tar) 1.34` → `1.34`; another tar (bsdtar) is not this tool. */
const gnuTarVersion = (line: string): string | undefined => /^tar \(GNU tar\) (\S+)/.exec(line)?.[1];

/** Directories as tar streams: what the engine is (see `DirectoryEngine` for what it does). Imports nothing heavy. */
export const directoryDescriptor = {
  id: 'directory',
  label: 'directories',
  schemes: ['dir'],
  urlForms: ['dir:<path>'],
  targetForm: 'dir:<empty or absent path>',
  tools: [{ anyOf: ['tar'], neededFor: ['backup', 'restore', 'verify'], purpose: 'tar streams of directories (GNU tar)', install: 'apt-get install tar', probe: { readVersion: gnuTarVersion } }],
  contentKinds: ['directory', 'file', 'symlink'],
  capabilities: { atomicRestore: true, selections: ['paths'], consistency: 'none: files read one by one; snapshot the volume first' },
  artifactName: 'tar',
  parse(url: string): DirectorySource {
    const path = directoryPath(url);
    return new ParsedConnection('directory', path, path);
  },
} as const satisfies EngineDescriptor;
