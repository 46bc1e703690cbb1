import type { ContentEntry } from '../../../ports/database-engine.js';
import { displayName } from '../directory/tar-names.js';
import { nulRecords } from './helper-output.js';

/** Where helpers mount the volume they work on. */
export const VOLUME_PATH = '/volume';

/**
 * What a helper runs to list a volume for its contents list: one NUL-terminated record per
 * entry, `<type> <size> <inode> <path>` (find's `%y`, `%s`, `%i`, `%P`). Sockets are left out,
 * as tar leaves them out. Symbolic links are never followed.
 */
export const LIST_TREE_COMMAND = ['find', VOLUME_PATH, '-mindepth', '1', '!', '-type', 's', '-printf', '%y %s %i %P\\0'];

/** What a helper runs to list a volume's top-level names (NUL-terminated). */
export const LIST_TOP_COMMAND = ['find', VOLUME_PATH, '-mindepth', '1', '-maxdepth', '1', '-printf', '%P\\0'];

/**
 * The contents list of a volume, as `dir:` makes it for a directory (directory-tree.ts): one
 * entry per top-level name, with the regular files beneath it and their bytes (a hard-linked
 * file counts once), sorted by name bytes as `tar --sort=name` does.
 */
export function contentsFromListing(listing: Buffer): ContentEntry[] {
  const top = new Map<string, { kind: ContentEntry['kind']; name: Buffer; files: number; bytes: number }>();
  const seenInodes = new Set<string>();
  const counted: { first: string; size: number; inode: string }[] = [];
  for (const record of nulRecords(listing)) {
    const [type, size, inode] = record.subarray(0, 64).toString('latin1').split(' ', 3);
    const pathStart = `${type} ${size} ${inode} `.length;
    const path = record.subarray(pathStart);
    const slash = path.indexOf(0x2f);
    const first = slash < 0 ? path : path.subarray(0, slash);
    const key = first.toString('latin1');
    if (slash < 0) top.set(key, { kind: type === 'd' ? 'directory' : type === 'l' ? 'symlink' : 'file', name: Buffer.from(first), files: 0, bytes: 0 });
    if (type === 'f') counted.push({ first: key, size: Number(size), inode: inode! });
  }
  for (const file of counted) {
    if (seenInodes.has(file.inode)) continue;
    seenInodes.add(file.inode);
    const entry = top.get(file.first);
    if (!entry) continue;
    entry.files += 1;
    entry.bytes += file.size;
  }
  return [...top.values()]
    .sort((a, b) => Buffer.compare(a.name, b.name))
    .map((entry) => ({ kind: entry.kind, name: displayName(entry.name), files: entry.files, bytes: entry.bytes }));
}
