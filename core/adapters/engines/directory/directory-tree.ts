import { chmod, lstat, readdir, rename, rm } from 'node:fs/promises';
import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import type { ContentEntry } from '../../../ports/database-engine.js';
import { displayName } from './tar-names.js';

const SLASH = Buffer.from('/');

export function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

/** The names in a folder, as bytes, in byte order (what `tar --sort=name` uses). */
export async function namesIn(dir: Buffer | string): Promise<Buffer[]> {
  const names = await readdir(dir, { encoding: 'buffer' });
  return names.sort(Buffer.compare);
}

/**
 * The contents list of a directory: one entry per top-level name with the regular files and
 * their bytes beneath it (a hard-linked file counts once). Symbolic links are never followed.
 * Sockets are left out, as tar leaves them out. Reads metadata only (one lstat per file, made
 * synchronously in paced batches: see Pacer).
 * Every top-level entry is listed, however many: selective restores check names against it.
 */
export async function describeTree(root: string, signal?: AbortSignal): Promise<ContentEntry[]> {
  const rootBytes = Buffer.from(root);
  const seenInodes = new Set<string>();
  const entries: ContentEntry[] = [];
  const names = await namesIn(rootBytes);
  for (const name of names) {
    signal?.throwIfAborted();
    const path = joinBytes(rootBytes, name);
    const info = await lstat(path).catch(ignoreVanished);
    if (!info || info.isSocket()) continue;
    if (info.isSymbolicLink()) entries.push({ kind: 'symlink', name: displayName(name), files: 0, bytes: 0 });
    else if (info.isDirectory()) entries.push({ kind: 'directory', name: displayName(name), ...(await countBeneath(path, seenInodes, signal)) });
    else entries.push({ kind: 'file', name: displayName(name), ...countFile(info, seenInodes) });
  }
  return entries;
}

async function countBeneath(dir: Buffer, seenInodes: Set<string>, signal?: AbortSignal): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const pending: Buffer[] = [dir];
  const pace = new Pacer();
  while (pending.length > 0) {
    signal?.throwIfAborted();
    const current = pending.pop()!;
    const children = readdirVanishing(current);
    if (!children) continue;
    for (const child of children) {
      if (child.isDirectory()) pending.push(joinBytes(current, child.name));
      else if (child.isFile()) {
        const info = lstatVanishing(joinBytes(current, child.name));
        if (!info) continue;
        const counted = countFile(info, seenInodes);
        files += counted.files;
        bytes += counted.bytes;
      }
    }
    await pace.yieldAfter(children.length);
  }
  return { files, bytes };
}

/**
 * Lets other work on the event loop run between batches of synchronous file system calls.
 * A tree walk makes one `lstat` per file: through the promise API each one is a trip to the
 * thread pool and back, which made a walk of 80k files take about a second, where the
 * synchronous calls take a fifth of that. Synchronous calls block the event loop, though, and
 * the walk may run beside a dump whose bytes flow through this process, so it pauses after
 * every few thousand entries (a few milliseconds of work).
 */
export class Pacer {
  private done = 0;

  constructor(private readonly batch = 2000) {}

  async yieldAfter(entries: number): Promise<void> {
    this.done += entries;
    if (this.done < this.batch) return;
    this.done = 0;
    await setImmediate();
  }
}

/** A folder's entries, or `undefined` when it vanished since it was listed. */
function readdirVanishing(dir: Buffer): Dirent<Buffer>[] | undefined {
  try {
    return readdirSync(dir, { encoding: 'buffer', withFileTypes: true }) as Dirent<Buffer>[];
  } catch (error) {
    return ignoreVanished(error as NodeJS.ErrnoException);
  }
}

function lstatVanishing(path: Buffer): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    return ignoreVanished(error as NodeJS.ErrnoException);
  }
}

function countFile(info: Stats, seenInodes: Set<string>): { files: number; bytes: number } {
  if (!info.isFile()) return { files: 0, bytes: 0 };
  if (info.nlink > 1) {
    const key = `${info.dev}:${info.ino}`;
    if (seenInodes.has(key)) return { files: 1, bytes: 0 };
    seenInodes.add(key);
  }
  return { files: 1, bytes: info.size };
}

/** A file or folder that disappeared between listing and reading was simply not there. */
function ignoreVanished(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}

/**
 * Removes a tree we made (a restore's temp folder), including folders whose mode forbids it
 * (a restored `0555` or `0000` folder, for a non-root user): such folders are opened up first.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    if (!['EACCES', 'EPERM', 'ENOTEMPTY'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await openUp(Buffer.from(path));
    await rm(path, { recursive: true, force: true });
  }
}

async function openUp(dir: Buffer): Promise<void> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return;
  await chmod(dir, 0o700).catch(() => undefined);
  for (const name of await readdir(dir, { encoding: 'buffer' }).catch(() => [] as Buffer[])) await openUp(joinBytes(dir, name));
}

/**
 * `rename(from, to)`. Moving a folder to another parent rewrites its `..` entry, which needs
 * write permission on the folder itself: a non-root user moving a restored `0555` folder gets
 * EACCES, so the folder is made writable for the move and given its mode back after.
 */
export async function moveEntry(from: Buffer | string, to: Buffer | string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    const info = await lstat(from);
    if (!info.isDirectory() || (info.mode & 0o200) !== 0) throw error;
    await chmod(from, info.mode | 0o200);
    try {
      await rename(from, to);
    } catch (again) {
      await chmod(from, info.mode & 0o7777).catch(() => undefined);
      throw again;
    }
    await chmod(to, info.mode & 0o7777);
  }
}

/**
 * Nanoseconds as the seconds `utimes` takes. It goes through a double and libuv truncates to
 * the microsecond, so the best it can do is the right microsecond: aim at its middle.
 */
export function utimesSeconds(ns: bigint): number {
  return (Number(ns / 1000n) + 0.5) / 1e6;
}
