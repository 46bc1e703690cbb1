import { ConfigError } from '../../errors.js';
import { toolVersion } from './child-process.js';

/** The names GNU tar goes by: `tar` on Linux, `gtar` where the system tar is bsdtar (Homebrew's gnu-tar on macOS, FreeBSD's pkg). */
export const GNU_TAR_NAMES = ['tar', 'gtar'] as const;
export const GNU_TAR_INSTALL_HINT = 'install GNU tar (Debian/Ubuntu: apt-get install tar; macOS: brew install gnu-tar, which installs gtar)';

/** `tar (GNU tar) 1.34` → `1.34`; `undefined` for another tar's banner (bsdtar 3.5.3 - libarchive …). */
export function gnuTarVersionOf(line: string): string | undefined {
  return /^tar \(GNU tar\) (\S+)/.exec(line)?.[1];
}

export interface GnuTar {
  /** What to spawn: `tar` or `gtar`. */
  readonly command: string;
  /** `1.34`. */
  readonly version: string;
}

/** One lookup per PATH: every tar spawn of a run asks, and PATH does not change under it. */
const found = new Map<string, Promise<GnuTar | undefined>>();

/**
 * GNU tar as this machine names it: `tar` when that is GNU tar, else `gtar`. The archives and
 * the options Vaultra uses (`--format=posix` with pax options, `--sort`, `--block-number`,
 * `--verbatim-files-from`, …) are GNU tar's; bsdtar reads other options and writes other
 * archives, so it is never used. Throws a `ConfigError` naming what `tar` is instead when only
 * another tar answers; `undefined` when no tar answers at all (the spawn then says "not found").
 */
export async function findGnuTar(): Promise<GnuTar | undefined> {
  const path = process.env.PATH ?? '';
  let lookup = found.get(path);
  if (!lookup) {
    lookup = lookUp();
    found.set(path, lookup);
  }
  return lookup;
}

async function lookUp(): Promise<GnuTar | undefined> {
  let other: string | undefined;
  for (const command of GNU_TAR_NAMES) {
    const line = await toolVersion(command);
    if (line === undefined) continue;
    const version = gnuTarVersionOf(line);
    if (version) return { command, version };
    other ??= line;
  }
  if (other) throw new ConfigError(`the tar on PATH is not GNU tar (${other}) and there is no gtar: ${GNU_TAR_INSTALL_HINT}`);
  return undefined;
}

/** The command to spawn GNU tar with: `tar` or `gtar` (`tar` when there is none, so the spawn reports it missing). */
export async function gnuTarCommand(): Promise<string> {
  return (await findGnuTar())?.command ?? 'tar';
}
