import { chmod, lstat, unlink, utimes } from 'node:fs/promises';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { joinBytes, Pacer, utimesSeconds } from './directory-tree.js';
import { displayName } from './tar-names.js';

/**
 * What a safe directory restore leaves out of an extracted tree before it is put in place:
 * setuid/setgid bits, device nodes, FIFOs and sockets, and the world-write bit. A backup is
 * data, and whoever can write to the bucket can shape that data (until manifests are signed, a
 * forged backup restores like a real one): restored as root, a setuid-root shell or a 0666
 * `/dev/sda` node in a volume is a way in. `vaultra restore --preserve-special` skips this.
 *
 * Why a sweep after extraction rather than tar's own flags: GNU tar has no option to skip
 * device nodes or FIFOs, and `--no-same-permissions` only applies the umask (0 in many
 * containers, and it keeps setuid bits on files the restoring user owns). Parsing a listing
 * beforehand would need a second pass over the stream and a second parser that must agree
 * with tar on every member. The sweep reads what tar actually created, with `lstat` (never
 * following a link), inside a private 0700 folder nobody else can enter, so nothing can be
 * swapped between the check and the fix, and nobody can run a setuid file in the meantime.
 */

const SET_ID_BITS = 0o6000;
const WORLD_WRITE = 0o002;

export interface SafetyReport {
  /** Device nodes, FIFOs and sockets left out, by relative path. */
  readonly removed: Tally;
  readonly setIdCleared: Tally;
  readonly worldWritableCleared: Tally;
}

/** A count and the first few names, for a one-line report. */
export class Tally {
  count = 0;
  readonly names: string[] = [];

  add(name: string): void {
    this.count += 1;
    if (this.names.length < 10) this.names.push(name);
  }

  describe(what: string): string | undefined {
    if (this.count === 0) return undefined;
    const more = this.count - Math.min(this.names.length, 3);
    return `${what} (${this.count}): ${this.names.slice(0, 3).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  }
}

/** The report as warning lines, each ending with `hint`; empty when nothing was changed. */
export function safetyNotes(report: SafetyReport, hint: string): string[] {
  const changes = [
    report.removed.describe('device nodes, FIFOs and sockets left out'),
    report.setIdCleared.describe('setuid/setgid bits cleared'),
    report.worldWritableCleared.describe('world-write permission removed'),
  ].filter((line): line is string => line !== undefined);
  return changes.map((line) => `${line}; ${hint}`);
}

export interface SafeTreeOptions {
  /** Root: every folder can be read whatever its mode. */
  readonly canOpenEverything: boolean;
  /** Clear set-id bits only (`--preserve-special --no-owner` as root: a setuid file would become root's). */
  readonly onlySetId?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Makes the tree under `root` (its root folder included) safe, in place. Folders a removal
 * touched keep their archived times. `canOpenEverything` is false for a non-root user, who may
 * have to lend themselves read access to a folder archived as 0000 or 0300 for the sweep.
 */
export async function makeTreeSafe(root: string, { canOpenEverything, onlySetId = false, signal }: SafeTreeOptions): Promise<SafetyReport> {
  const report: SafetyReport = { removed: new Tally(), setIdCleared: new Tally(), worldWritableCleared: new Tally() };
  const rootBytes = Buffer.from(root);
  // Listing and lstat are synchronous, in paced batches (see Pacer): a fifth of the time of one
  // promise per entry on a tree of many small files.
  const pace = new Pacer();
  const walk = async (dir: Buffer, rel: string, info: Stats): Promise<void> => {
    signal?.throwIfAborted();
    // A folder is reported before what it holds, and its mode fixed after: it may have to stay
    // open (a non-root user lends themselves access to a 0000 folder) until then.
    const safe = safeMode(info.mode, rel ? `${rel}/` : './', report, onlySetId);
    const borrowed = !canOpenEverything && (info.mode & 0o700) !== 0o700;
    if (borrowed) await chmod(dir, (info.mode & 0o7777) | 0o700);
    let times: { atime: number; mtime: number } | undefined;
    const names = readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare);
    await pace.yieldAfter(names.length);
    for (const name of names) {
      const path = joinBytes(dir, name);
      const child = lstatSync(path);
      const childRel = rel ? `${rel}/${displayName(name)}` : displayName(name);
      if (child.isSymbolicLink()) continue;
      if (child.isDirectory()) await walk(path, childRel, child);
      else if (child.isFile()) {
        const mode = safeMode(child.mode, childRel, report, onlySetId);
        if (mode !== (child.mode & 0o7777)) await chmod(path, mode);
      } else if (!onlySetId) {
        if (!times) {
          const exact = await lstat(dir, { bigint: true });
          times = { atime: utimesSeconds(exact.atimeNs), mtime: utimesSeconds(exact.mtimeNs) };
        }
        await unlink(path);
        report.removed.add(`${childRel} (${kindOf(child)})`);
      }
    }
    // Removing an entry changed the folder's mtime: put the archived one back.
    if (times) await utimes(dir, times.atime, times.mtime);
    if (borrowed || safe !== (info.mode & 0o7777)) await chmod(dir, safe);
  };
  await walk(rootBytes, '', await lstat(rootBytes));
  return report;
}

/** The mode without the bits a safe restore leaves out; notes each one it removes. */
function safeMode(mode: number, rel: string, report: SafetyReport, onlySetId: boolean): number {
  const bits = mode & 0o7777;
  if (bits & SET_ID_BITS) report.setIdCleared.add(rel);
  if (bits & WORLD_WRITE && !onlySetId) report.worldWritableCleared.add(rel);
  return bits & ~SET_ID_BITS & ~(onlySetId ? 0 : WORLD_WRITE);
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'FIFO';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  return 'special file';
}
