import { RunConflictError } from '../../../errors.js';
import { ancestorsOf } from '../directory/directory-paths.js';
import { preview } from '../directory/tar-messages.js';
import { nulRecords } from './helper-output.js';

/**
 * Selective restores into a Docker volume (`--paths`), with the rules `dir:` applies
 * (directory-restore.ts): a selected path the volume holds is a conflict unless `force`; a
 * non-folder where the backup has a folder above a selected path always is. The checks run in
 * helper containers, as everything that reads the volume does.
 */

/** What is at a path of the volume, without following a symbolic link at its end. */
export type PathKind = 'absent' | 'dir' | 'link' | 'other';

/**
 * Prints one NUL-terminated kind per path argument (relative to the volume's root), in order.
 * `-L` first: a link to a folder is a link, as `lstat` would say.
 */
export const PROBE_SCRIPT = `cd /volume; for p in "$@"; do
  if [ -L "$p" ]; then printf 'link\\0'; elif [ -d "$p" ]; then printf 'dir\\0'; elif [ -e "$p" ]; then printf 'other\\0'; else printf 'absent\\0'; fi
done`;

/**
 * Moves each selected path (arguments after the first three) from the workspace into the volume:
 * the outermost folder of it the volume lacks goes in whole, with everything selected beneath
 * it; a selected path the volume holds is moved aside first (only with --force: `$3` is 1,
 * checked before extraction too), and a folder above one that became a non-folder meanwhile
 * stops it (exit 3). The safety sweep (`$2` is 1) is PLACE_SCRIPT's. The root's own metadata
 * stays: the volume held data before, unlike a whole restore's empty target.
 */
export const PLACE_SELECTION_SCRIPT = `set -eu
w="$1"; safe="$2"; force="$3"; shift 3; cd /volume
if [ "$safe" = 1 ]; then
  find "$w/tree" -mindepth 1 \\( -type b -o -type c -o -type p -o -type s \\) -printf 'removed %P\\0' -delete
  find "$w/tree" ! -type l -perm /6000 -printf 'setid %P\\0' -exec chmod ug-s {} +
  find "$w/tree" ! -type l -perm -0002 -printf 'world %P\\0' -exec chmod o-w {} +
fi
mkdir -m 700 "$w/replaced"
placed=(); n=0
for sel in "$@"; do
  skip=0
  for prev in "\${placed[@]}"; do case "$sel" in "$prev"|"$prev"/*) skip=1;; esac; done
  [ "$skip" = 1 ] && continue
  step=""; rest="$sel"
  while :; do
    step="\${step:+$step/}\${rest%%/*}"
    if [ "$step" != "$sel" ]; then
      rest="\${rest#*/}"
      if [ -L "$step" ] || [ -e "$step" ]; then
        [ -d "$step" ] && [ ! -L "$step" ] || { echo "conflict: $step is no longer a folder" >&2; exit 3; }
        continue
      fi
    elif [ -L "$step" ] || [ -e "$step" ]; then
      [ "$force" = 1 ] || { echo "conflict: $sel appeared during the restore" >&2; exit 3; }
      mv -T -- "$step" "$w/replaced/$n"; n=$((n + 1))
    fi
    mv -T -- "$w/tree/$step" "$step"; placed+=("$step"); break
  done
done
rm -rf -- "$w"`;

/** Every path PROBE_SCRIPT must look at for a selection: the folders above each selected path, then the path. */
export function probedPaths(selection: readonly string[]): string[] {
  return [...new Set(selection.flatMap((selected) => [...ancestorsOf(selected), selected]))];
}

/**
 * The selected paths the volume holds already (what a forced restore replaces), from
 * PROBE_SCRIPT's output for `probedPaths(selection)`. Throws when a folder above a selected path
 * is a file or a link: no `--force` makes that restorable.
 */
export function selectionCollisions(volume: string, selection: readonly string[], probeOutput: Buffer): string[] {
  const paths = probedPaths(selection);
  const kinds = nulRecords(probeOutput).map((record) => record.toString('latin1') as PathKind);
  const kindOf = new Map(paths.map((path, index) => [path, kinds[index] ?? 'absent']));
  const collisions: string[] = [];
  for (const selected of selection) {
    for (const folder of ancestorsOf(selected)) {
      const kind = kindOf.get(folder);
      if (kind === 'absent') break;
      if (kind !== 'dir') throw new RunConflictError(`restore target volume:${volume} has ${folder} as a ${kind === 'link' ? 'symbolic link' : 'file'}, where the backup has a folder holding ${selected}: move it away first`);
    }
    if (kindOf.get(selected) !== 'absent') collisions.push(selected);
  }
  return collisions;
}

/** The refusal of a selective restore whose paths the volume holds already, without `force`. */
export function selectionConflict(volume: string, collisions: readonly string[]): RunConflictError {
  return new RunConflictError(`restore target volume:${volume} already holds ${preview(collisions, 3)}: restore into another volume, or pass --force to replace ${collisions.length === 1 ? 'it' : 'them'}`);
}
