import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { RestoreSink } from '../../../ports/database-engine.js';
import type { DockerVolumes, HelperContainers, HelperExit, HelperRun } from '../../../ports/docker-volumes.js';
import { IntegrityError, NotFoundError, RestoreFailedError, RunConflictError, VaultraError } from '../../../errors.js';
import { normalizeSelection, selectionTarArgs } from '../directory/directory-paths.js';
import { tarExtractFlags, type DirectoryRestoreOptions } from '../directory/directory-restore.js';
import { brokenHardLink, describeTarExit, notFoundMembers, preview, rewrittenNames } from '../directory/tar-messages.js';
import { displayName } from '../directory/tar-names.js';
import { BlockLines, eachLine } from '../directory/tar-tool.js';
import { helperResult, nulRecords } from './helper-output.js';
import { LIST_TOP_COMMAND, VOLUME_PATH } from './volume-contents.js';
import { PLACE_SELECTION_SCRIPT, PROBE_SCRIPT, probedPaths, selectionCollisions, selectionConflict } from './volume-selection.js';

/**
 * Extracts into `<volume>/<workspace>/tree` and checks nothing escaped it: the same private
 * 0700 holder the `dir:` engine uses, here inside the volume (a volume is a mount point:
 * nothing can be renamed onto it, and its parent is on the Docker host). `--directory` comes
 * first: GNU tar applies it to the member names after it (a `--paths` selection).
 */
const EXTRACT_SCRIPT = 'set -e; w="$1"; shift; mkdir -m 700 "/volume/$w" "/volume/$w/tree"; exec tar --directory="/volume/$w/tree" "$@"';

/**
 * Makes the extracted tree safe (unless --preserve-special: `$2` is 0) as safe-tree.ts does for
 * `dir:` — device nodes, FIFOs and sockets removed, setuid/setgid and world-write bits cleared,
 * each reported on stdout as `<what> <path>` — then moves each top-level entry into the volume,
 * the one it replaces (only with --force: `$3` is 1) moved aside first and reported as
 * `replaced <name>`, then removes its workspace and gives the volume's root the archived root's
 * mode, owner and mtime (last: removing the workspace changes the root's mtime).
 * Each rename is atomic; the extraction, the part that can fail, is over before the first.
 */
const PLACE_SCRIPT = `set -eu
w="$1"; safe="$2"; force="$3"; cd /volume
if [ "$safe" = 1 ]; then
  find "$w/tree" -mindepth 1 \\( -type b -o -type c -o -type p -o -type s \\) -printf 'removed %P\\0' -delete
  find "$w/tree" ! -type l -perm /6000 -printf 'setid %P\\0' -exec chmod ug-s {} +
  find "$w/tree" ! -type l -perm -0002 -printf 'world %P\\0' -exec chmod o-w {} +
fi
mkdir -m 700 "$w/replaced"
find "$w/tree" -mindepth 1 -maxdepth 1 -printf '%P\\0' | while IFS= read -r -d '' name; do
  if [ -e "$name" ] || [ -L "$name" ]; then
    [ "$force" = 1 ] || { echo "conflict: $name appeared during the restore" >&2; exit 3; }
    mv -T -- "$name" "$w/replaced/$name"; printf 'replaced %s\\0' "$name"
  fi
  mv -T -- "$w/tree/$name" "$name"
done
owner=$(stat -c %u:%g "$w/tree"); mode=$(stat -c %a "$w/tree"); mtime=$(stat -c %y "$w/tree")
rm -rf -- "$w"
chown "$owner" . ; chmod "$mode" . ; touch -d "$mtime" .`;

const CLEANUP_SCRIPT = 'rm -rf -- "/volume/$1"';

/** Exit status of PLACE_SCRIPT when something filled the volume while tar ran. */
const PLACE_CONFLICT = 3;

export interface VolumeRestoreContext {
  readonly docker: DockerVolumes & HelperContainers;
  readonly image: string;
}

/**
 * A restore into a Docker volume through helper containers, with the safety of `dir:`
 * (directory-restore.ts): an absent volume is created, a non-empty one refused unless `force`
 * (with `paths`, only the selected paths it holds are: volume-selection.ts); tar extracts into a private folder inside the volume and nothing is put in place before tar
 * exited 0, the archive ended with its end-of-archive marker and no member pointed outside.
 * A failed or aborted restore removes that folder (and a volume it created): the target is as
 * it was. Files belong to root (the helper's user) unless `preserveSpecial` restores the
 * archived numeric owners, which is what an application's volume usually needs.
 */
export async function openVolumeRestore(context: VolumeRestoreContext, volume: string, options: DirectoryRestoreOptions): Promise<RestoreSink> {
  const { docker, image } = context;
  const selection = options.paths?.length ? normalizeSelection(options.paths) : undefined;
  const mount = [{ volume, path: VOLUME_PATH, readOnly: false }];
  const helperUntil = (signal: AbortSignal | undefined) => (command: readonly string[], stdin = false) => docker.runHelper({ image, command, mounts: mount, stdin, env: { LC_ALL: 'C' } }, signal);
  const helper = helperUntil(options.signal);
  // The clean-up after an interrupt runs without the run's signal: it has fired by then, and
  // would stop the clean-up's own helper before it started (leaving the workspace behind).
  const cleanUpHelper = helperUntil(undefined);
  const failedHelper = (what: string) => (exit: HelperExit) => new RestoreFailedError(`${what} in volume ${volume} failed (exit ${exit.code})`, exit.stderrTail);

  const created = (await docker.inspectVolume(volume, options.signal)) === undefined;
  if (created) await docker.createVolume(volume, options.signal);
  const undoCreate = async () => {
    if (created) await docker.removeVolume(volume).catch(() => undefined);
  };

  let existing: Buffer[] = [];
  let collisions: string[] = [];
  try {
    existing = created ? [] : withoutLostFound(nulRecords(await helperResult(await helper(LIST_TOP_COMMAND), failedHelper('listing the volume'))));
    if (selection && existing.length > 0) {
      const probe = await helper(['sh', '-c', PROBE_SCRIPT, 'sh', ...probedPaths(selection)]);
      collisions = selectionCollisions(volume, selection, await helperResult(probe, failedHelper('looking up the selected paths')));
    }
  } catch (error) {
    await undoCreate();
    throw error;
  }
  if (!selection && existing.length > 0 && !options.force) {
    throw new RunConflictError(
      `restore target volume:${volume} is not empty (${existing.length} entr${existing.length === 1 ? 'y' : 'ies'}: ${preview(existing.map(displayName), 3)}): restore into an absent or empty volume, or pass --force to replace the entries the backup also holds`,
    );
  }
  if (collisions.length > 0 && !options.force) throw selectionConflict(volume, collisions);
  // Into an empty volume, a selection goes in like a whole restore (its root takes the archived root's metadata).
  const placeSelected = selection !== undefined && existing.length > 0;

  const workspace = `.vaultra-restore-${randomBytes(6).toString('hex')}`;
  const preserve = options.preserveSpecial === true;
  // The helper runs as root: owners are the archived ones only with --preserve-special (and not --no-owner).
  const flags = tarExtractFlags({ root: true, preserveSpecial: preserve, restoreOwners: preserve && !options.noOwner });
  let tar: HelperRun;
  try {
    tar = await helper(['sh', '-c', EXTRACT_SCRIPT, 'sh', workspace, ...flags, '--no-wildcards', '--no-unquote', ...(selection ? selectionTarArgs(selection) : [])], true);
  } catch (error) {
    await undoCreate();
    throw error;
  }
  const ended = new BlockLines();
  const rewritten: string[] = [];
  eachLine(tar.stdout, (line) => ended.push(line));
  eachLine(tar.stderr, (line) => rewritten.push(...rewrittenNames(line)));
  const cleanUp = async () => {
    await tar.kill();
    await cleanUpHelper(['sh', '-c', CLEANUP_SCRIPT, 'sh', workspace])
      .then((run) => helperResult(run, failedHelper('removing the restore workspace')))
      .catch(() => undefined);
    await undoCreate();
  };
  const tarFailed = (exit: HelperExit): Error => {
    if (rewritten.length > 0) return new RestoreFailedError(`the backup holds member(s) that would land outside volume:${volume} (${preview(rewritten, 3)}); nothing was restored`, exit.stderrTail);
    const missing = notFoundMembers(exit.stderrTail).map((name) => name.replace(/^\.\//, ''));
    if (missing.length > 0) return new NotFoundError(`not in this backup: ${preview(missing)} (paths are relative to the volume's root, e.g. config/app.yaml); nothing was restored`);
    const link = brokenHardLink(exit.stderrTail);
    if (link && selection) {
      return new RestoreFailedError(`${link.link} is a hard link to ${link.target}, which is not selected: add ${link.target.replace(/^\.\//, '')} to --paths; nothing was restored`, exit.stderrTail);
    }
    return new RestoreFailedError(`tar could not extract the backup into volume:${volume}, the volume is unchanged (${describeTarExit({ code: exit.code, signal: null, stderrTail: exit.stderrTail })})`, exit.stderrTail);
  };
  const replaced: string[] = [];
  const notes: string[] = [];
  let settled = false;

  return {
    stream: checkedInput(tar, tarFailed),
    get replaces() {
      return selection ? collisions : replaced;
    },
    get notes() {
      return notes;
    },
    async commit() {
      try {
        const exit = await tar.exited;
        if (exit.code !== 0 || rewritten.length > 0) throw tarFailed(exit);
        if (ended.finish() !== 'marker') throw new IntegrityError('the archive is truncated: it stops before its end-of-archive marker; nothing was restored');
        const placeArgs = [workspace, preserve ? '0' : '1', options.force ? '1' : '0'];
        const place = await helper(placeSelected ? ['bash', '-c', PLACE_SELECTION_SCRIPT, 'bash', ...placeArgs, ...selection] : ['bash', '-c', PLACE_SCRIPT, 'bash', ...placeArgs]);
        const report = await helperResult(place, (placeExit) =>
          placeExit.code === PLACE_CONFLICT
            ? new RunConflictError(`restore target volume:${volume} was filled by something else during the restore: nothing more was restored (${placeExit.stderrTail})`)
            : failedHelper('putting the restored files in place')(placeExit),
        );
        notes.push(...safetyNotesFrom(report));
        replaced.push(...nulRecords(report).filter((r) => r.toString('latin1').startsWith('replaced ')).map((r) => displayName(r.subarray('replaced '.length))));
      } catch (error) {
        await cleanUp();
        if (error instanceof VaultraError) throw error;
        throw new RestoreFailedError(`cannot put the restored files into volume:${volume}: ${(error as Error).message}`, '', { cause: error });
      } finally {
        settled = true;
      }
    },
    async abort() {
      if (!settled) await cleanUp();
    },
  };
}

/**
 * The helper's stdin as the restore's sink, as `toolInput` makes one for a local tar: finishing
 * it waits for the helper and fails with `onFailure` unless it exited 0. tar stops reading at
 * the end-of-archive marker and exits, and the engine then closes the connection: what is
 * still being written (the archive's zero padding) is discarded once the helper exited 0.
 */
function checkedInput(run: HelperRun, onFailure: (exit: HelperExit) => Error): Writable {
  const stdin = run.stdin!;
  // Its errors reach the write callbacks below, and the helper's exit says what they mean.
  stdin.on('error', () => undefined);
  let closed = false;
  const settle = (callback: (error?: Error) => void) => void run.exited.then((exit) => callback(exit.code === 0 ? undefined : onFailure(exit)));
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      if (closed) return callback();
      stdin.write(chunk, (error) => {
        if (!error) return callback();
        closed = true;
        settle(callback);
      });
    },
    final(callback) {
      if (closed) return settle(callback);
      stdin.end(() => settle(callback));
    },
    destroy(error, callback) {
      // autoDestroy also lands here after a clean finish, when the helper is gone already.
      if (error || !this.writableFinished) void run.kill();
      callback(error);
    },
  });
  // A helper that dies while we are still writing fails the sink at once, not at the next write.
  void run.exited.then((exit) => {
    if (exit.code !== 0 && !sink.destroyed && !sink.writableFinished) sink.destroy(onFailure(exit));
  });
  return sink;
}

/** The place script's report as `dir:`'s safety notes word them. */
function safetyNotesFrom(report: Buffer): string[] {
  const counts = { removed: [] as string[], setid: [] as string[], world: [] as string[] };
  for (const record of nulRecords(report)) {
    const text = displayName(record);
    const space = text.indexOf(' ');
    const what = text.slice(0, space) as keyof typeof counts;
    if (what in counts) counts[what].push(text.slice(space + 1) || './');
  }
  const hint = 'pass --preserve-special to restore them as archived';
  const line = (what: string, names: string[]) => (names.length === 0 ? [] : [`${what} (${names.length}): ${preview(names, 3)}; ${hint}`]);
  return [...line('device nodes, FIFOs and sockets left out', counts.removed), ...line('setuid/setgid bits cleared', counts.setid), ...line('world-write permission removed', counts.world)];
}

/** An empty `lost+found` is not data; any other `lost+found` is, but a fresh volume has none. */
function withoutLostFound(names: Buffer[]): Buffer[] {
  return names.filter((name) => name.toString('latin1') !== 'lost+found');
}
