import type { Readable } from 'node:stream';
import { findGnuTar } from '../../process/gnu-tar.js';

export { GNU_TAR_INSTALL_HINT as INSTALL_HINT, gnuTarCommand } from '../../process/gnu-tar.js';

/**
 * How a backup runs GNU tar (the folder and `.` follow). Exported for the benchmark, which runs
 * the same tar by hand.
 */
export const TAR_CREATE_FLAGS: readonly string[] = [
  '--create',
  '--file=-',
  // pax: no limit on name length, file size, uid or time precision (nanoseconds).
  '--format=posix',
  // atime/ctime cannot be restored and differ on every run; a fixed extended-header name
  // (the default carries tar's pid) makes two backups of an unchanged tree byte-identical.
  '--pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f',
  '--numeric-owner',
  '--sparse',
  '--xattrs',
  '--acls',
  '--sort=name',
  // No --one-file-system: a mount inside the volume is part of what its users see. No
  // --ignore-failed-read: a file tar cannot read fails the backup rather than vanish from it.
];

/**
 * tar's own variables, over the allow-listed environment every tool gets (`tool-environment.ts`).
 * `LC_ALL=C`: the messages parsed here are the English ones, and names are printed with every
 * byte ≥ 0x80 escaped (`\303\251`), so output parsing never depends on the user's locale.
 * `TAR_OPTIONS` (options tar prepends to every command line) and `POSIXLY_CORRECT` would change
 * what the archive holds: they are not on the allow-list, so a backup never depends on them.
 */
export function tarEnv(): NodeJS.ProcessEnv {
  return { LC_ALL: 'C' };
}

/**
 * GNU tar's version (`1.34`), as `tar` or `gtar` (`gnu-tar.ts`). Other tars (bsdtar is macOS's
 * `tar`) take other options and write other archives, so they are refused with a hint.
 * `undefined` when tar is missing: the spawn that follows reports that, with the install hint.
 */
export async function gnuTarVersion(): Promise<string | undefined> {
  return (await findGnuTar())?.version;
}

/**
 * Calls `onLine` for every line of a tool's output, as bytes decoded one-to-one (latin1): tar
 * escapes every non-ASCII byte in names under LC_ALL=C, so nothing is lost. A final line
 * without a newline is delivered when the stream ends.
 */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString('latin1');
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.once('end', () => {
    if (rest) onLine(rest);
    rest = '';
  });
}

/** What `tar --block-number` prints where the archive ends. */
export type ArchiveEnd = 'marker' | 'truncated';

/**
 * Reads the `block N: …` lines of `tar --list --block-number` (or of an extraction with
 * `--block-number`, which prints only the last one). GNU tar accepts an archive that stops
 * at a header boundary without its end-of-archive marker as if it were complete (exit 0): the
 * last line, `** Block of NULs **` or `** End of File **`, is what tells the two apart.
 */
export class BlockLines {
  members = 0;
  end: ArchiveEnd | undefined;
  private last = '';

  constructor(private readonly onMember?: (escapedName: string) => void) {}

  push(line: string): void {
    const match = /^block \d+: (.*)$/.exec(line);
    if (!match) return;
    this.last = match[1]!;
    if (this.last === '** Block of NULs **' || this.last === '** End of File **') return;
    this.members += 1;
    this.onMember?.(this.last);
  }

  /** How the archive ended, once tar's output is complete. */
  finish(): ArchiveEnd {
    this.end = this.last === '** Block of NULs **' ? 'marker' : 'truncated';
    return this.end;
  }
}
