import { readFile } from 'node:fs/promises';

/**
 * The type of the filesystem a path lives on (`ext4`, `nfs4` for EFS, `cifs` for Azure Files,
 * `overlay`, …), from the mount table: the mount whose mount point is the longest prefix of
 * the (real) path. `undefined` where there is no `/proc/self/mountinfo` (not Linux).
 */
export async function filesystemType(realPath: string): Promise<string | undefined> {
  const table = await readFile('/proc/self/mountinfo', 'utf8').catch(() => undefined);
  return table === undefined ? undefined : filesystemTypeIn(table, realPath);
}

/**
 * Whether a (real) path is a mount point. A bind mount (how a container sees its volume) can
 * sit on the same filesystem as its parent, so comparing device numbers does not find it, yet
 * nothing can be renamed onto it or across it (EBUSY, EXDEV).
 */
export async function isMountPoint(realPath: string): Promise<boolean> {
  const table = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return mountsIn(table).some((mount) => mount.point === realPath);
}

/** {@link filesystemType} over a given mountinfo text (see proc(5)). */
export function filesystemTypeIn(mountinfo: string, realPath: string): string | undefined {
  let best: { point: string; type: string } | undefined;
  for (const mount of mountsIn(mountinfo)) {
    const contains = mount.point === '/' || realPath === mount.point || realPath.startsWith(`${mount.point}/`);
    // Later lines win a tie: a mount stacked on the same point hides the one below it.
    if (contains && (!best || mount.point.length >= best.point.length)) best = mount;
  }
  return best?.type;
}

/** Mount points (octal escapes such as `\040` decoded) and filesystem types, in table order. */
export function mountsIn(mountinfo: string): { point: string; type: string }[] {
  const mounts: { point: string; type: string }[] = [];
  for (const line of mountinfo.split('\n')) {
    // 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    const [left, right] = line.split(' - ');
    const point = left?.split(' ')[4];
    const type = right?.split(' ')[0];
    if (!point || !type) continue;
    mounts.push({ point: point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))), type });
  }
  return mounts;
}
