import { chown, chmod, lstat, mkdir, mkdtemp, readdir, realpath, rename, rmdir, stat, utimes } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import type { RestoreOptions, RestoreSink } from '../../../ports/database-engine.js';
import { ConfigError, IntegrityError, NotFoundError, RestoreFailedError, RunConflictError, VaultraError } from '../../../errors.js';
import { spawnTool, toolInput, type ToolExit } from '../../process/child-process.js';
import { ancestorsOf, normalizeSelection, selectionTarArgs } from './directory-paths.js';
import { joinBytes, moveEntry, namesIn, removeTree, utimesSeconds } from './directory-tree.js';
import { displayName } from './tar-names.js';
import { isMountPoint } from './filesystem-type.js';
import { makeTreeSafe, safetyNotes } from './safe-tree.js';
import { brokenHardLink, describeTarExit, notFoundMembers, preview, rewrittenNames } from './tar-messages.js';
import { BlockLines, eachLine, gnuTarCommand, INSTALL_HINT, tarEnv } from './tar-tool.js';

export interface DirectoryRestoreOptions extends RestoreOptions {
  /** With `preserveSpecial`, still do not restore the archived owners (`vaultra restore --no-owner`). */
  readonly noOwner?: boolean;
  /**
   * Restore the archive as it is (`vaultra restore --preserve-special`): setuid/setgid bits,
   * device nodes, FIFOs, world-writable modes, file capabilities and, as root, the archived
   * owners. Without it a restore leaves those out (see safe-tree.ts) and says what it left out.
   */
  readonly preserveSpecial?: boolean;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Extracts a tar stream into a private temp folder and moves the result into place only after
 * tar exited 0, the archive ended with its end-of-archive marker and no member pointed
 * outside the folder. A failed or aborted restore removes the temp folder: the target is as
 * it was.
 *
 * How the result is put in place:
 * - the target is absent, or an empty folder: the temp folder is its sibling
 *   (`.<name>.vaultra-restore-…`, same filesystem) and one `rename` puts it in place — all or
 *   nothing, and the folder itself keeps the archived mode, owner, times, ACL and xattrs;
 * - the target is not empty (`--force`), is a mount point (an EFS or Azure Files mount, a
 *   Docker volume: nothing can be renamed onto it, and its parent is another filesystem), or
 *   its parent is not writable: the entries are renamed into the target one by one, from a
 *   sibling temp folder where possible, else from one made inside the target (whose mtime is
 *   put back if the restore fails). Each rename is atomic, and the extraction — the slow part,
 *   the one that can fail — is over before the first. The target folder then gets the
 *   archived mode, owner and times (to the microsecond: `utimes`), not the archived ACL or
 *   xattrs of the root folder.
 *
 * By default the restore is safe whoever wrote the backup: files belong to the restoring user,
 * and setuid/setgid bits, device nodes, FIFOs, sockets, world-write bits and file capabilities
 * are left out before anything is put in place (`preserveSpecial` keeps them).
 *
 * With `--force`, each top-level entry the backup holds replaces the target's entry of the
 * same name as a whole (old entries are moved aside, then deleted); other entries stay. With
 * `paths`, only the selected paths (and the folders above them, with their archived modes) are
 * extracted; a selected path that exists in the target is a conflict unless `force`.
 */
export async function openDirectoryRestore(target: string, options: DirectoryRestoreOptions): Promise<RestoreSink> {
  const selection = options.paths?.length ? normalizeSelection(options.paths) : undefined;
  const found = await stat(target).catch(absentIsUndefined);
  if (found && !found.isDirectory()) throw new ConfigError(`restore target ${target} exists and is not a directory`);
  const path = found ? await realpath(target) : target;
  const everything = found ? await namesIn(path) : [];
  // An empty `lost+found` (what mkfs leaves at the root of a fresh ext4 volume) is not data.
  const existing = await withoutEmptyLostFound(path, everything);

  let collisions: string[] = [];
  if (!selection) {
    if (existing.length > 0 && !options.force) {
      throw new RunConflictError(
        `restore target ${target} is not empty (${existing.length} entr${existing.length === 1 ? 'y' : 'ies'}: ${preview(existing.map(displayName), 3)}): restore into an absent or empty directory, or pass --force to replace the entries the backup also holds`,
      );
    }
  } else if (found) {
    collisions = await selectionCollisions(path, selection);
    if (collisions.length > 0 && !options.force) {
      throw new RunConflictError(`restore target ${target} already holds ${preview(collisions, 3)}: restore into another directory, or pass --force to replace ${collisions.length === 1 ? 'it' : 'them'}`);
    }
  }

  let place: Workspace;
  let holder: string;
  let temp: string;
  try {
    place = await chooseWorkspace(path, found, everything.length === 0);
    // tar gives the folder it extracts into the archived root's mode (0755, 0777…): a private
    // 0700 holder around it keeps every other user out of the tree until it has been made safe
    // and moved into place, so nobody can run, link or swap what tar just wrote.
    holder = await mkdtemp(join(place.base, place.prefix));
    temp = join(holder, 'tree');
    await mkdir(temp, { mode: 0o700 });
  } catch (error) {
    throw new RestoreFailedError(`cannot prepare the restore into ${target}: ${(error as Error).message}`, '', { cause: error });
  }

  const preserve = options.preserveSpecial === true;
  const restoreOwners = isRoot() && preserve && !options.noOwner;
  const args = [...tarExtractFlags({ root: isRoot(), preserveSpecial: preserve, restoreOwners }), `--directory=${temp}`];
  // Names are matched as given: no `*`/`?` patterns, no `\n`-style unquoting.
  args.push('--no-wildcards', '--no-unquote');
  if (selection) args.push(...selectionTarArgs(selection));

  let tool;
  try {
    tool = await spawnTool(await gnuTarCommand(), args, { env: tarEnv(), stdin: 'pipe', stdout: 'pipe', installHint: INSTALL_HINT });
  } catch (error) {
    await cleanUp(holder, place);
    throw error;
  }
  const ended = new BlockLines();
  const rewritten: string[] = [];
  eachLine(tool.child.stdout!, (line) => ended.push(line));
  eachLine(tool.child.stderr!, (line) => rewritten.push(...rewrittenNames(line)));

  const outside = (names: readonly string[], exit: ToolExit) =>
    new RestoreFailedError(`the backup holds member(s) that would land outside ${target} (${preview(names, 3)}); nothing was restored`, exit.stderrTail);
  const failed = (exit: ToolExit): Error => {
    if (rewritten.length > 0) return outside(rewritten, exit);
    const missing = notFoundMembers(exit.stderrTail).map((name) => name.replace(/^\.\//, ''));
    if (missing.length > 0) return new NotFoundError(`not in this backup: ${preview(missing)} (paths are relative to the backed-up directory, e.g. config/app.yaml); nothing was restored`);
    const link = brokenHardLink(exit.stderrTail);
    if (link && selection) {
      return new RestoreFailedError(`${link.link} is a hard link to ${link.target}, which is not selected: add ${link.target.replace(/^\.\//, '')} to --paths; nothing was restored`, exit.stderrTail);
    }
    return new RestoreFailedError(`tar could not extract the backup into ${target}, the target is unchanged (${describeTarExit(exit)})`, exit.stderrTail);
  };
  const stream = toolInput(tool, failed);
  const replaced: string[] = [];
  const notes: string[] = [];
  let settled = false;

  return {
    stream,
    get replaces() {
      return selection ? collisions : replaced;
    },
    get notes() {
      return notes;
    },
    // tar reads zstd's output itself (`zstd -d | tar -x`): nothing is in place before commit().
    direct: {
      pipe: tool.child.stdin!,
      async handedOver() {
        // zstd holds its own copy of the pipe now: ours must close, or tar never sees the end.
        tool.child.stdin!.destroy();
        const exit = await tool.exited;
        if (exit.code !== 0) throw failed(exit);
      },
    },
    async commit() {
      const exit = await tool.exited;
      try {
        if (exit.code !== 0) throw failed(exit);
        if (rewritten.length > 0) throw outside(rewritten, exit);
        if (ended.finish() !== 'marker') throw new IntegrityError('the archive is truncated: it stops before its end-of-archive marker; nothing was restored');
        // As root with --preserve-special --no-owner, a setuid file would now be root's.
        const onlySetId = preserve && isRoot() && !restoreOwners;
        if (!preserve || onlySetId) {
          const report = await makeTreeSafe(temp, { canOpenEverything: isRoot(), onlySetId, signal: options.signal });
          notes.push(...safetyNotes(report, onlySetId ? 'with --no-owner they would belong to root' : 'pass --preserve-special to restore them as archived'));
        }
        if (selection) await placeSelection(temp, target, path, found !== undefined, selection, place.base, options.force === true);
        else replaced.push(...(await placeWhole(temp, target, path, place, options.force === true, restoreOwners)));
      } catch (error) {
        await cleanUp(holder, place);
        if (error instanceof VaultraError) throw error;
        throw new RestoreFailedError(`cannot put the restored files into ${target}: ${(error as Error).message}`, '', { cause: error });
      } finally {
        settled = true;
      }
      await removeTree(holder);
    },
    async abort() {
      tool.kill();
      await tool.exited;
      if (!settled) await cleanUp(holder, place);
    },
  };
}

/**
 * How a restore runs GNU tar, before the folder and the selection (exported for the benchmark,
 * which runs the same tar by hand).
 */
export function tarExtractFlags(options: { readonly root: boolean; readonly preserveSpecial: boolean; readonly restoreOwners: boolean }): string[] {
  // tar extracts into a fresh, empty folder: it never meets an existing file or folder, so
  // --overwrite, --keep-old-files and --no-overwrite-dir never come into play; what may be
  // replaced in the target is decided by the caller, after tar succeeded. `--block-number`
  // makes tar print how the archive ended (see BlockLines).
  const args = ['--extract', '--file=-', '--block-number', '--preserve-permissions', '--numeric-owner'];
  // Ownership: by default everything becomes the restoring user's (a backup must not hand files
  // to uids it names). With --preserve-special, root restores the archived (numeric) owners,
  // which is what a volume needs (its files belong to the application's uid, which may have no
  // name here), unless --no-owner. A non-root user cannot give files away in any case.
  args.push(options.restoreOwners ? '--same-owner' : '--no-same-owner');
  // Backups keep every xattr; tar restores `user.*` by default. Root also restores `trusted.*`
  // and `security.*`, but never an SELinux label (that belongs to the policy of the host
  // restored to), and file capabilities (`security.capability`, a setuid bit by another name)
  // only with --preserve-special. A target filesystem without xattrs (EFS, SMB) makes tar warn.
  const rootXattrs = ['--xattrs-include=*', '--xattrs-exclude=security.selinux', ...(options.preserveSpecial ? [] : ['--xattrs-exclude=security.capability'])];
  args.push('--xattrs', '--acls', ...(options.root ? rootXattrs : []));
  return args;
}

interface Workspace {
  /** The folder the temp folder is made in. */
  readonly base: string;
  readonly prefix: string;
  /** True when a single rename can put the result in place (the target is absent or empty, same filesystem). */
  readonly renameWhole: boolean;
  /** Folders made above an absent target (outermost first), removed again if the restore fails. */
  readonly createdParents: string[];
  /** The target's times before the temp folder was made inside it, put back if the restore fails. */
  readonly targetTimes?: { readonly path: string; readonly atime: number; readonly mtime: number };
}

async function chooseWorkspace(path: string, found: Awaited<ReturnType<typeof stat>> | undefined, empty: boolean): Promise<Workspace> {
  const parent = dirname(path);
  const prefix = `.${basename(path)}.vaultra-restore-`;
  if (!found) {
    const first = await mkdir(parent, { recursive: true });
    return { base: parent, prefix, renameWhole: true, createdParents: first ? foldersFrom(first, parent) : [] };
  }
  const parentInfo = await stat(parent).catch(() => undefined);
  const mountPoint = !parentInfo || parentInfo.dev !== found.dev || path === parent || (await isMountPoint(path));
  if (!mountPoint) {
    // Writing next to the target needs write permission on its parent, which a user restoring
    // into a folder they own may not have: then the temp folder goes inside the target.
    const writable = await mkdtemp(join(parent, prefix)).then(
      async (probe) => (await rmdir(probe), true),
      () => false,
    );
    if (writable) return { base: parent, prefix, renameWhole: empty, createdParents: [] };
  }
  const times = await stat(path, { bigint: true });
  return { base: path, prefix: '.vaultra-restore-', renameWhole: false, createdParents: [], targetTimes: { path, atime: utimesSeconds(times.atimeNs), mtime: utimesSeconds(times.mtimeNs) } };
}

/** `first`, then each folder below it down to `last` (which `first` is an ancestor of, or equal to). */
function foldersFrom(first: string, last: string): string[] {
  const rest = relative(first, last);
  const parts = rest ? rest.split('/') : [];
  return [first, ...parts.map((_, index) => join(first, ...parts.slice(0, index + 1)))];
}

/**
 * Puts a full restore in place; returns the target's entries it replaced (display names).
 */
async function placeWhole(temp: string, target: string, path: string, place: Workspace, force: boolean, owner: boolean): Promise<string[]> {
  if (place.renameWhole) {
    try {
      await rename(temp, path);
      return [];
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      // Filled while tar ran: with --force, merge below like any non-empty target.
      const filled = await withoutEmptyLostFound(path, await namesIn(path));
      if (filled.length > 0 && !force) throw new RunConflictError(`restore target ${target} was filled by something else during the restore (${preview(filled.map(displayName), 3)}): nothing was restored`);
    }
  }
  const root = await lstat(temp, { bigint: true });
  await chmod(temp, 0o700); // the archived root mode (say 0555) must not stop us moving entries out
  const names = await namesIn(temp);
  const inTarget = await namesIn(path);
  const present = new Set(inTarget.map((name) => name.toString('latin1')));
  const data = new Set((await withoutEmptyLostFound(path, inTarget)).map((name) => name.toString('latin1')));
  const colliding = names.filter((name) => present.has(name.toString('latin1')));
  if (colliding.some((name) => data.has(name.toString('latin1'))) && !force) throw new RunConflictError(`restore target ${target} was filled by something else during the restore (${preview(colliding.map(displayName), 3)}): nothing was restored`);
  const trash = colliding.length > 0 ? await mkdtemp(join(place.base, '.vaultra-replaced-')) : undefined;
  const pathBytes = Buffer.from(path);
  const tempBytes = Buffer.from(temp);
  try {
    for (const name of names) {
      if (trash && present.has(name.toString('latin1'))) await moveEntry(joinBytes(pathBytes, name), joinBytes(Buffer.from(trash), name));
      await moveEntry(joinBytes(tempBytes, name), joinBytes(pathBytes, name));
    }
  } finally {
    if (trash) await removeTree(trash);
  }
  await rmdir(temp);
  await rmdir(dirname(temp));
  // The target folder takes the archived folder's mode, owner and times, last (removing the
  // temp folder from inside it changed its mtime).
  await chmod(path, Number(root.mode & 0o7777n));
  if (owner) await chown(path, Number(root.uid), Number(root.gid));
  await utimes(path, utimesSeconds(root.atimeNs), utimesSeconds(root.mtimeNs));
  return colliding.map(displayName);
}

/** Selected paths that already exist in the target; a non-folder where the backup has a folder above one is always a conflict. */
async function selectionCollisions(path: string, selection: readonly string[]): Promise<string[]> {
  const collisions: string[] = [];
  for (const selected of selection) {
    for (const folder of ancestorsOf(selected)) {
      const info = await lstat(join(path, folder)).catch(absentIsUndefined);
      if (!info) break;
      if (!info.isDirectory()) throw new RunConflictError(`restore target ${path} has ${folder} as a ${info.isSymbolicLink() ? 'symbolic link' : 'file'}, where the backup has a folder holding ${selected}: move it away first`);
    }
    if (await lstat(join(path, selected)).catch(absentIsUndefined)) collisions.push(selected);
  }
  return collisions;
}

/**
 * Moves each selected path from the temp folder into the target: the outermost folder of it
 * the target lacks goes in whole (with everything selected beneath it); a path that exists is
 * replaced (only with --force, checked before extracting). An absent target is the temp
 * folder itself.
 */
async function placeSelection(temp: string, target: string, path: string, existed: boolean, selection: readonly string[], base: string, force: boolean): Promise<void> {
  if (!existed) {
    await rename(temp, path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') throw new RunConflictError(`restore target ${target} was created by something else during the restore: nothing was restored`);
      throw error;
    });
    return;
  }
  await chmod(temp, 0o700);
  const placed: string[] = [];
  let trash: string | undefined;
  try {
    for (const selected of selection) {
      if (placed.some((done) => selected === done || selected.startsWith(`${done}/`))) continue;
      for (const step of [...ancestorsOf(selected), selected]) {
        const info = await lstat(join(path, step)).catch(absentIsUndefined);
        if (info && step !== selected) {
          if (!info.isDirectory()) throw new RunConflictError(`restore target ${target} now has ${step} as a non-folder: nothing more was restored`);
          continue;
        }
        if (info) {
          if (!force) throw new RunConflictError(`restore target ${target} gained ${selected} during the restore: it was not replaced (pass --force to replace it)`);
          trash ??= await mkdtemp(join(base, '.vaultra-replaced-'));
          await moveEntry(join(path, step), join(trash, String(placed.length)));
        }
        await moveEntry(join(temp, step), join(path, step));
        placed.push(step);
        break;
      }
    }
  } finally {
    if (trash) await removeTree(trash);
  }
}

async function cleanUp(holder: string, place: Workspace): Promise<void> {
  await removeTree(holder);
  for (const folder of [...place.createdParents].reverse()) await rmdir(folder).catch(() => undefined);
  if (place.targetTimes) await utimes(place.targetTimes.path, place.targetTimes.atime, place.targetTimes.mtime).catch(() => undefined);
}

async function withoutEmptyLostFound(path: string, names: Buffer[]): Promise<Buffer[]> {
  const index = names.findIndex((name) => name.toString('latin1') === 'lost+found');
  if (index < 0) return names;
  const inside = await readdir(join(path, 'lost+found')).catch(() => undefined);
  return inside?.length === 0 ? names.filter((_, i) => i !== index) : names;
}

function absentIsUndefined(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}
