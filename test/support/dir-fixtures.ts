/**
 * Directory fixtures: a tree holding what a volume backup must keep (modes, setgid and sticky
 * folders, a 0000 file, symbolic links of every sort, hard links, empty folders, a FIFO, a
 * sparse file, random binary data, odd and non-UTF-8 names, a path longer than ustar allows,
 * nanosecond and pre-1970 mtimes), a snapshot of a tree for exact comparison, and a ustar
 * writer for crafting hostile archives.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readlink, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './exec.js';

export const isRoot = process.getuid?.() === 0;

const MiB = 1024 * 1024;

/** A top-level name that is not valid UTF-8 (latin-1 `é`). */
export const NON_UTF8_TOP = Buffer.from('latin1-\xe9-name', 'latin1');
/** How the manifest spells {@link NON_UTF8_TOP} (tar's escape style). */
export const NON_UTF8_TOP_DISPLAY = 'latin1-\\351-name';
/** A top-level name with a newline, spaces and a leading dash. */
export const ODD_TOP = '-odd top\nname';

export const ODD_NAMES = [
  'with space',
  ' leading space',
  'trailing space ',
  'new\nline',
  'carriage\rreturn',
  '-leading-dash',
  '--option-like=1',
  'tab\tname',
  'back\\slash',
  `quote's "double"`,
  'star*and?[x]',
  'émoji 🎉 ünïcödé',
  '\\303\\251 looks escaped',
  'a'.repeat(255),
];

export interface DirectoryFixture {
  readonly root: string;
  /** Top-level names as the manifest lists them. */
  readonly topLevel: string[];
}

/** `touch -h -d <date>`: exact (nanosecond, pre-1970) mtimes, on symlinks too; Node's utimes cannot. */
async function touch(path: string | Buffer, date: string): Promise<void> {
  await runOk('touch', ['-h', '-d', date, path.toString()]);
}

async function writeRandom(path: string, bytes: number): Promise<void> {
  await writeFile(path, randomBytes(bytes));
}

/**
 * Builds the fixture in `root` (which must not exist). Folders' mtimes are set last, bottom
 * up, so building the tree does not disturb them.
 */
export async function createDirectoryFixture(root: string): Promise<DirectoryFixture> {
  await mkdir(root);
  const at = (...parts: string[]) => join(root, ...parts);

  await mkdir(at('config', 'nested', 'deep'), { recursive: true });
  await writeFile(at('config', 'app.yaml'), 'db: postgres://app@db/app\nreplicas: 3\n', { mode: 0o600 });
  await chmod(at('config', 'app.yaml'), 0o600);
  await writeFile(at('config', 'nested', 'deep', 'settings.json'), JSON.stringify({ deep: true }));
  await touch(at('config', 'app.yaml'), '2001-02-03 04:05:06.123456789 UTC');
  await touch(at('config', 'nested', 'deep', 'settings.json'), '1965-07-08 09:10:11.5 UTC');

  await mkdir(at('bin'));
  await writeFile(at('bin', 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(at('bin', 'run.sh'), 0o755);
  await writeFile(at('bin', 'setuid-tool'), 'not really a binary');
  await chmod(at('bin', 'setuid-tool'), 0o4755);

  await mkdir(at('shared'));
  await chmod(at('shared'), 0o2775);
  await writeFile(at('shared', 'readme.txt'), 'group-shared');
  await mkdir(at('sticky'));
  await chmod(at('sticky'), 0o1777);
  await mkdir(at('private'));
  await writeFile(at('private', 'key.pem'), 'PRIVATE');
  await chmod(at('private', 'key.pem'), 0o400);
  await chmod(at('private'), 0o700);
  await mkdir(at('read-only-dir'));
  await writeFile(at('read-only-dir', 'inside.txt'), 'inside a 0555 folder');
  await chmod(at('read-only-dir'), 0o555);
  if (isRoot) {
    await writeFile(at('locked.bin'), 'nobody may read this but root');
    await chmod(at('locked.bin'), 0o000);
  }

  await mkdir(at('empty'));
  await mkdir(at('empty-tree', 'a', 'b'), { recursive: true });

  await mkdir(at('links'));
  await symlink('../config/app.yaml', at('links', 'relative'));
  await symlink('/etc/hostname', at('links', 'absolute'));
  await symlink('../does-not-exist', at('links', 'dangling'));
  await symlink('../config', at('links', 'to-dir'));
  // Points outside the tree: the link is kept, what it points at is never read.
  await symlink('../../outside-secret.txt', at('links', 'escape'));
  await symlink('odd name\nwith newline', at('links', 'odd-target'));
  await touch(at('links', 'relative'), '2010-10-10 10:10:10.101010101 UTC');

  await mkdir(at('data'));
  await writeRandom(at('data', 'original.bin'), 200_000);
  await link(at('data', 'original.bin'), at('data', 'hardlink.bin'));
  await link(at('data', 'original.bin'), at('top-hardlink'));
  await runOk('mkfifo', [at('data', 'queue.fifo')]);

  await mkdir(at('big'));
  await writeRandom(at('big', 'random.bin'), 2 * MiB);
  const sparse = await open(at('big', 'sparse.img'), 'w');
  await sparse.write(randomBytes(64 * 1024), 0, 64 * 1024, 0);
  await sparse.write(randomBytes(4096), 0, 4096, 10 * MiB);
  await sparse.truncate(32 * MiB);
  await sparse.close();

  await mkdir(at('odd'));
  for (const name of ODD_NAMES) await writeFile(at('odd', name), `content of ${JSON.stringify(name)}`);
  await writeFile(Buffer.concat([Buffer.from(at('odd')), Buffer.from('/bad-\xff\xfe-bytes', 'latin1')]), 'non-UTF-8 name');
  // A path well past ustar's 100 + 155 bytes: a pax `path` record.
  const long = ['x'.repeat(60), 'y'.repeat(60), 'z'.repeat(60), 'w'.repeat(60), 'v'.repeat(60)];
  await mkdir(at('odd', ...long), { recursive: true });
  await writeFile(at('odd', ...long, 'deep-file.txt'), 'deep');
  await writeFile(at(ODD_TOP), 'odd top-level name');
  await writeFile(Buffer.concat([Buffer.from(root), Buffer.from('/'), NON_UTF8_TOP]), 'latin-1 name at the top');

  // Folder mtimes last, deepest first.
  for (const folder of [['odd'], ['empty-tree', 'a', 'b'], ['empty-tree', 'a'], ['empty'], ['data'], ['config', 'nested'], ['links'], ['shared']]) {
    await touch(at(...folder), '1999-12-31 23:59:59.999999999 UTC');
  }

  const topLevel = (await readdir(Buffer.from(root), { encoding: 'buffer' }))
    .sort(Buffer.compare)
    .map((name) => (name.equals(NON_UTF8_TOP) ? NON_UTF8_TOP_DISPLAY : name.toString('utf8')));
  return { root, topLevel };
}

export interface TreeEntry {
  readonly type: 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'other';
  /** Permission bits including setuid, setgid and sticky. */
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  /** Nanoseconds since the epoch, as a string. */
  readonly mtimeNs: string;
  readonly size?: number;
  /** Allocated bytes (st_blocks × 512) of regular files: shows whether holes stayed holes. */
  readonly allocated?: number;
  readonly sha256?: string;
  readonly target?: string;
  /** For a file with several links inside the tree: the first of its paths (in walk order). */
  readonly hardLinkOf?: string;
}

/** A readable key for a path given as bytes: UTF-8 when valid, else `\ooo` escapes. */
function keyOf(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`)).join('');
}

async function sha256Of(path: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Every entry of a tree, keyed by relative path (`.` for the root), compared by type, mode,
 * owner, size, SHA-256, link target, mtime to the nanosecond and hard-link grouping. Names are
 * read as bytes, so non-UTF-8 names are walked exactly.
 */
export async function snapshotTree(root: string, options: { skipRoot?: boolean; allocated?: boolean } = {}): Promise<Record<string, TreeEntry>> {
  const result: Record<string, TreeEntry> = {};
  const firstPathOfInode = new Map<string, string>();
  const walk = async (dir: Buffer, rel: Buffer): Promise<void> => {
    const names = (await readdir(dir, { encoding: 'buffer' })).sort(Buffer.compare);
    for (const name of names) {
      const path = Buffer.concat([dir, Buffer.from('/'), name]);
      const relPath = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      await record(path, keyOf(relPath));
      if ((await lstat(path)).isDirectory()) await walk(path, relPath);
    }
  };
  const record = async (path: Buffer, key: string): Promise<void> => {
    const info = await lstat(path, { bigint: true });
    const base = { mode: (Number(info.mode) & 0o7777).toString(8).padStart(4, '0'), uid: Number(info.uid), gid: Number(info.gid), mtimeNs: info.mtimeNs.toString() };
    if (info.isSymbolicLink()) result[key] = { type: 'symlink', ...base, target: keyOf(await readlink(path, { encoding: 'buffer' })) };
    else if (info.isDirectory()) result[key] = { type: 'directory', ...base };
    else if (info.isFIFO()) result[key] = { type: 'fifo', ...base };
    else if (info.isSocket()) result[key] = { type: 'socket', ...base };
    else if (info.isFile()) {
      const inode = `${info.dev}:${info.ino}`;
      const first = info.nlink > 1n ? firstPathOfInode.get(inode) : undefined;
      if (info.nlink > 1n && !first) firstPathOfInode.set(inode, key);
      result[key] = {
        type: 'file',
        ...base,
        size: Number(info.size),
        ...(options.allocated ? { allocated: Number(info.blocks) * 512 } : {}),
        sha256: await sha256Of(path),
        ...(first ? { hardLinkOf: first } : {}),
      };
    } else result[key] = { type: 'other', ...base };
  };
  if (!options.skipRoot) await record(Buffer.from(root), '.');
  await walk(Buffer.from(root), Buffer.alloc(0));
  return result;
}

/** The paths of a snapshot whose entries differ from another's, with both sides: a readable diff for assertions. */
export function treeDifferences<Entry>(expected: Record<string, Entry>, actual: Record<string, Entry>): Record<string, { expected?: Entry; actual?: Entry }> {
  const diff: Record<string, { expected?: Entry; actual?: Entry }> = {};
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (JSON.stringify(expected[key]) !== JSON.stringify(actual[key])) diff[key] = { expected: expected[key], actual: actual[key] };
  }
  return diff;
}

/** One member of a crafted archive. */
export interface UstarMember {
  readonly name: string;
  readonly type?: 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  readonly content?: string;
  readonly linkName?: string;
  readonly mode?: number;
  /** @default 0 */
  readonly uid?: number;
  /** @default 0 */
  readonly gid?: number;
  /** Device nodes: major and minor numbers. */
  readonly device?: readonly [number, number];
}

/**
 * A plain ustar archive built byte by byte, for archives GNU tar would never write (absolute
 * names, `..`, links out of the tree) or a backup of ours would never hold (a forged one: a
 * setuid-root file, device nodes, foreign owners). Ends with the two zero blocks of the end-of-archive marker.
 */
export function ustarArchive(members: readonly UstarMember[]): Buffer {
  const blocks: Buffer[] = [];
  for (const member of members) {
    const data = Buffer.from(member.content ?? '');
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'latin1');
    const octal = (offset: number, length: number, value: number) => field(offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
    field(0, 100, member.name);
    octal(100, 8, member.mode ?? (member.type === 'directory' ? 0o755 : 0o644));
    octal(108, 8, member.uid ?? 0);
    octal(116, 8, member.gid ?? 0);
    octal(124, 12, member.type === 'file' || member.type === undefined ? data.length : 0);
    octal(136, 12, 1_700_000_000);
    field(156, 1, { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6' }[member.type ?? 'file']);
    field(157, 100, member.linkName ?? '');
    field(257, 6, 'ustar\0');
    field(263, 2, '00');
    if (member.device) {
      octal(329, 8, member.device[0]);
      octal(337, 8, member.device[1]);
    }
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    blocks.push(header);
    if ((member.type ?? 'file') === 'file' && data.length > 0) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Names of the entries in a folder (as `keyOf` spells them), sorted; `[]` when it does not exist. */
export async function entriesOf(dir: string): Promise<string[]> {
  const names = await readdir(Buffer.from(dir), { encoding: 'buffer' }).catch(() => [] as Buffer[]);
  return names.sort(Buffer.compare).map(keyOf);
}
