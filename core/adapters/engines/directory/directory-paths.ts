import { resolve } from 'node:path';
import { ConfigError } from '../../../errors.js';

/**
 * `dir:/abs/path`, `dir:rel/path`, `dir:///abs/path`, `dir://./rel` → an absolute path. Relative
 * paths resolve against the working directory, as `sqlite:` paths do. No percent-decoding: a
 * `%` in a folder name is a `%`. A blank path is refused: it would resolve to the working
 * directory, which nobody means by `dir: `.
 */
export function directoryPath(url: string): string {
  const path = /^dir:/i.test(url) ? url.slice(4).replace(/^\/\//, '') : '';
  if (path.trim() === '') throw new ConfigError(`malformed directory URL ${url}: expected dir:<path to a directory>`);
  return resolve(path);
}

/**
 * `--paths` as the engine uses them: relative to the backed-up directory (a leading `/` or
 * `./` means its root), `/`-separated, no trailing `/`, no duplicates, and none beneath
 * another one (restoring `data` restores `data/x` already). Sorted, so parents come before
 * their children. `..` is refused: a selection names something inside the backup.
 *
 * @example normalizeSelection(['./data/', 'data/x', '/config/app.yaml']) // ['config/app.yaml', 'data']
 */
export function normalizeSelection(paths: readonly string[]): string[] {
  const cleaned = new Set<string>();
  for (const raw of paths) {
    const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.includes('..')) throw new ConfigError(`--paths ${JSON.stringify(raw)}: ".." is not allowed; name a path inside the backed-up directory (e.g. config/app.yaml)`);
    if (parts.length === 0) throw new ConfigError(`--paths ${JSON.stringify(raw)}: name a file or folder inside the backup (restore without --paths to restore everything)`);
    cleaned.add(parts.join('/'));
  }
  const sorted = [...cleaned].sort();
  return sorted.filter((path) => !sorted.some((other) => other !== path && path.startsWith(`${other}/`)));
}

/** How our archives name a path: every member starts with `./` (they are made with `tar … .`). */
export function memberName(path: string): string {
  return `./${path}`;
}

/** `a/b/c` → `['a', 'a/b']`: the folders above a path, outermost first. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, index) => parts.slice(0, index + 1).join('/'));
}

/**
 * The members tar extracts for a selection (from `normalizeSelection`): the folders above each
 * selected path with their archived modes but not their contents (`./` too, for a target that
 * does not exist yet), then each selected path with everything beneath it.
 */
export function selectionTarArgs(selection: readonly string[]): string[] {
  const folders = [...new Set(['', ...selection.flatMap(ancestorsOf)])].map((folder) => (folder ? memberName(folder) : './'));
  return ['--no-recursion', ...folders, '--recursion', ...selection.map(memberName)];
}
