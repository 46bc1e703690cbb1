import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';

/** `tar (GNU tar) 1.34` → `1.34`; another tar (bsdtar) is not this tool. */
const gnuTarVersion = (line: string): string | undefined => /^tar \(GNU tar\) (\S+)/.exec(line)?.[1];

/** Directories as tar streams: what the engine is (see `DirectoryEngine` for what it does). Imports nothing heavy. */
export const directoryDescriptor = {
  id: 'directory',
  label: 'directories',
  schemes: ['dir'],
  urlForms: ['dir:<path>'],
  tools: [{ anyOf: ['tar'], neededFor: ['backup', 'restore', 'verify'], purpose: 'tar streams of directories (GNU tar)', install: 'apt-get install tar', probe: { readVersion: gnuTarVersion } }],
  contentKinds: ['directory', 'file', 'symlink'],
  capabilities: { atomicRestore: true, selections: ['paths'], consistency: 'none: files read one by one; snapshot the volume first' },
  artifactName: 'tar',
} as const satisfies EngineDescriptor;
