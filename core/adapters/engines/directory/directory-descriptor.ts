import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';
import { ParsedConnection } from '../engine-connection.js';
import { directoryPath } from './directory-paths.js';
import { GNU_TAR_NAMES, gnuTarVersionOf } from '../../process/gnu-tar.js';

/** A directory source or target, parsed once: its absolute path. */
export type DirectorySource = ParsedConnection<'directory', string>;


/** Directories as tar streams: what the engine is (see `DirectoryEngine` for what it does). Imports nothing heavy. */
export const directoryDescriptor = {
  id: 'directory',
  label: 'directories',
  schemes: ['dir'],
  urlForms: ['dir:<path>'],
  targetForm: 'dir:<empty or absent path>',
  // GNU tar as `tar`, or as `gtar` where `tar` is bsdtar (macOS): the version probe tells them apart.
  tools: [{ anyOf: GNU_TAR_NAMES, neededFor: ['backup', 'restore', 'verify'], purpose: 'tar streams of directories (GNU tar)', install: 'apt-get install tar; macOS: brew install gnu-tar, which installs gtar', probe: { readVersion: gnuTarVersionOf } }],
  contentKinds: ['directory', 'file', 'symlink'],
  capabilities: { atomicRestore: true, selections: ['paths'], consistency: 'none: files read one by one; snapshot the volume first' },
  artifactName: 'tar',
  parse(url: string): DirectorySource {
    const path = directoryPath(url);
    return new ParsedConnection('directory', path, path);
  },
} as const satisfies EngineDescriptor;
