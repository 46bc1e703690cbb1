import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Writable } from 'node:stream';
import type {
  DatabaseEngine,
  DumpOutput,
  RestoreSink,
  SourceDescription,
  TargetState,
  ValidationSink,
} from '../../../ports/database-engine.js';
import { ConfigError, DumpFailedError, NotFoundError } from '../../../errors.js';
import { spawnTool, toolOutput, type ToolExit, type ToolProcess } from '../../process/child-process.js';

import { openDirectoryRestore, type DirectoryRestoreOptions } from './directory-restore.js';
import { describeTree, namesIn } from './directory-tree.js';
import { openTarValidation, VANISHED_DETAIL, type DirectoryValidationOptions } from './directory-validation.js';
import { filesystemType } from './filesystem-type.js';
import { createWarnings, describeTarExit, preview } from './tar-messages.js';
import { displayName } from './tar-names.js';
import { eachLine, gnuTarCommand, gnuTarVersion, INSTALL_HINT, TAR_CREATE_FLAGS, tarEnv } from './tar-tool.js';
import { directoryDescriptor, type DirectorySource } from './directory-descriptor.js';

/** GNU tar's exit status for "some files differ": with --create, files changed while it read them. */
const TAREXIT_DIFFERS = 1;

/**
 * Directories and volumes (`dir:<path>`): an EFS, Azure Files or Docker volume mount, backed
 * up from a container job as one POSIX (pax) tar stream made by GNU tar, and restored into an
 * absent or empty directory. Modes, owners (numeric), times to the nanosecond, symbolic links
 * (as links, never followed), hard links, empty folders, FIFOs, sparse files, ACLs and xattrs,
 * and any file name (newlines, leading dashes, non-UTF-8 bytes, long paths) are kept. Sockets
 * cannot be archived: tar leaves them out, and the manifest says which.
 *
 * A directory has no snapshot: files are read one by one, so the backup is consistent per file
 * at best. The manifest says so, and names the files that changed while tar read them.
 */
export class DirectoryEngine implements DatabaseEngine<DirectorySource> {
  readonly id = 'directory' as const;
  readonly descriptor = directoryDescriptor;
  /** Top-level names `describe` listed, per directory, for `dump` to tell which vanished meanwhile. */
  private readonly described = new Map<string, readonly string[]>();

  parse(url: string): DirectorySource {
    return directoryDescriptor.parse(url);
  }

  nameOf(source: DirectorySource): string {
    return basename(source.parts) || 'root';
  }

  async describe(source: DirectorySource, signal?: AbortSignal): Promise<SourceDescription> {
    const path = await existingDirectory(source);
    let contents;
    try {
      contents = await describeTree(path, signal);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new DumpFailedError(`cannot read all of ${path}: ${(error as Error).message}; run the backup as a user who can read the whole tree`, '', { cause: error });
      }
      throw error;
    }
    this.described.set(path, contents.map((entry) => entry.name));
    const type = await filesystemType(await realpath(path));
    return { engine: 'directory', database: basename(path) || '/', serverVersion: type ? `filesystem ${type}` : 'n/a', contents };
  }

  async dump(source: DirectorySource, options: { signal?: AbortSignal; directTo?: Writable } = {}): Promise<DumpOutput> {
    const path = await existingDirectory(source);
    const version = await gnuTarVersion();
    const args = [...TAR_CREATE_FLAGS, `--directory=${path}`, '.'];
    const tool = await spawnTool(await gnuTarCommand(), args, { env: tarEnv(), stdout: options.directTo ?? 'pipe', installHint: INSTALL_HINT });
    const onAbort = () => tool.kill();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const stderr: string[] = [];
    eachLine(tool.child.stderr!, (line) => stderr.push(line));
    // GNU tar exits 1 when a file changed, shrank or vanished while it read it (and 2 for real
    // errors: an unreadable file, a folder it cannot list). Such a backup succeeds: a live
    // volume nearly always has a file being written (logs, caches), and failing every backup
    // of it would leave no backup at all. The archive is still complete and well-formed; those
    // files may be torn, and the manifest names them (`dump.details.changedWhileRead`), next
    // to a consistency statement that promises no more than "one file at a time".
    let warnings = createWarnings([]);
    // A top-level entry deleted between `describe` and tar's own listing leaves no trace in
    // tar's output, yet the manifest's contents list names it: say so, so that a validation
    // does not take its absence for damage.
    const described = this.described.get(path);
    this.described.delete(path);
    let vanished: string[] = [];
    const exited = tool.exited.then(async (exit): Promise<ToolExit> => {
      options.signal?.removeEventListener('abort', onAbort);
      warnings = createWarnings(stderr);
      if (described) {
        const now = new Set((await namesIn(path).catch(() => [])).map(displayName));
        vanished = described.filter((name) => !now.has(name));
      }
      return exit.code === TAREXIT_DIFFERS && warnings.changed.length > 0 ? { ...exit, code: 0 } : exit;
    });
    const settled: ToolProcess = { child: tool.child, exited, kill: tool.kill };
    /** What tar reported while it read the tree: only complete once tar exited. */
    const detailsOf = (): Record<string, string> | undefined => {
      const details: Record<string, string> = {};
      if (warnings.changed.length > 0) details.changedWhileRead = `${warnings.changed.length} file(s) changed while tar read them, their copies may be torn: ${preview(warnings.changed, 10)}`;
      if (warnings.skipped.length > 0) details.skipped = `${warnings.skipped.length} entr${warnings.skipped.length === 1 ? 'y' : 'ies'} tar cannot archive: ${preview(warnings.skipped, 10)}`;
      // Every name, as JSON: validation reads this list (it may be missing from the archive).
      if (vanished.length > 0) details[VANISHED_DETAIL] = JSON.stringify(vanished);
      return Object.keys(details).length > 0 ? details : undefined;
    };
    return {
      stream: toolOutput(settled, (exit) => new DumpFailedError(`tar of ${path} failed (${describeTarExit(exit)})`, exit.stderrTail)),
      direct: options.directTo !== undefined,
      pid: tool.child.pid,
      tool: { name: 'tar', version: version ?? 'unknown' },
      format: 'tar-posix',
      consistency: 'files read one by one by GNU tar; no point-in-time snapshot — snapshot the volume first (LVM, EBS, ZFS, a share snapshot) for a consistent copy',
      get details() {
        return detailsOf();
      },
      get warnings() {
        const { changedWhileRead, skipped } = detailsOf() ?? {};
        return [changedWhileRead, skipped].filter((w): w is string => w !== undefined);
      },
    };
  }

  async inspectTarget(target: DirectorySource): Promise<TargetState> {
    const path = target.parts;
    const info = await stat(path).catch(() => undefined);
    if (!info) return { exists: false, objects: [] };
    if (!info.isDirectory()) throw new ConfigError(`restore target ${path} exists and is not a directory`);
    return { exists: true, objects: (await namesIn(path)).map(displayName) };
  }

  openRestore(target: DirectorySource, options: DirectoryRestoreOptions): Promise<RestoreSink> {
    return openDirectoryRestore(target.parts, options);
  }

  openValidation(options?: DirectoryValidationOptions): Promise<ValidationSink> {
    return openTarValidation(options);
  }
}

async function existingDirectory(source: DirectorySource): Promise<string> {
  const path = source.parts;
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw new DumpFailedError(`cannot read directory ${path}: ${error.message}`, '', { cause: error });
  });
  if (!info) throw new NotFoundError(`directory ${path} does not exist`);
  if (!info.isDirectory()) throw new ConfigError(`${path} is not a directory: dir: backs up a directory (use sqlite:<path> for a SQLite file)`);
  return path;
}
