import type { ValidationOptions, ValidationSink } from '../../../ports/database-engine.js';
import { IntegrityError } from '../../../errors.js';
import { spawnTool, toolInput } from '../../process/child-process.js';
import { componentsOf, displayName, escapesRoot, unescapeTarName } from './tar-names.js';
import { describeTarExit, preview, rewrittenNames } from './tar-messages.js';
import { BlockLines, eachLine, gnuTarCommand, INSTALL_HINT, tarEnv } from './tar-tool.js';

/**
 * The manifest detail (`dump.details`) naming, as a JSON array, the top-level entries of the
 * contents list that were deleted while the backup ran: the archive may lack them.
 */
export const VANISHED_DETAIL = 'vanishedDuringBackup';

export interface DirectoryValidationOptions extends ValidationOptions {
  /** The manifest's `dump.details`. */
  readonly details?: Readonly<Record<string, string>>;
}

/**
 * `tar --list` over the whole stream: tar reads every header and skips every member's data,
 * so a damaged header or a stream cut inside a member fails it. On top of tar's own checks:
 * - the end-of-archive marker must be there (tar itself accepts an archive cut at a member
 *   boundary, which would pass for a complete backup with fewer files);
 * - no member may name a path outside the folder it is extracted into (`/…`, `..`);
 * - every top-level entry of the manifest's contents list must be in the archive, except those
 *   the manifest says were deleted while the backup ran.
 */
export async function openTarValidation(options: DirectoryValidationOptions = {}): Promise<ValidationSink> {
  const tool = await spawnTool(await gnuTarCommand(), ['--list', '--file=-', '--block-number'], { env: tarEnv(), stdin: 'pipe', stdout: 'pipe', installHint: INSTALL_HINT });
  const onAbort = () => tool.kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const topLevel = new Set<string>();
  const escaping: string[] = [];
  const listing = new BlockLines((escaped) => {
    const name = unescapeTarName(escaped);
    if (escapesRoot(name)) escaping.push(escaped);
    const first = componentsOf(name)[0];
    if (first) topLevel.add(displayName(first));
  });
  const complaints: string[] = [];
  eachLine(tool.child.stdout!, (line) => listing.push(line));
  eachLine(tool.child.stderr!, (line) => {
    if (rewrittenNames(line).length > 0 || /A lone zero block/.test(line)) complaints.push(line);
  });
  const unreadable = (exit: Parameters<typeof describeTarExit>[0]) => new IntegrityError(`tar cannot read the archive (${describeTarExit(exit)})`);
  const stream = toolInput(tool, unreadable);
  return {
    stream,
    async result() {
      const exit = await tool.exited;
      options.signal?.removeEventListener('abort', onAbort);
      if (exit.code !== 0) throw unreadable(exit);
      const outside = [...escaping, ...complaints.filter((line) => !/A lone zero block/.test(line))];
      if (outside.length > 0) {
        throw new IntegrityError(`the archive holds member(s) that would land outside the restore target (${preview(outside, 3)}): it was not written by a Vaultra directory backup`);
      }
      if (listing.finish() !== 'marker' || complaints.some((line) => /A lone zero block/.test(line))) {
        throw new IntegrityError(`the archive is truncated: it stops after ${listing.members} member(s), before its end-of-archive marker`);
      }
      const expected = (options.contents ?? []).filter((entry) => entry.kind === 'directory' || entry.kind === 'file' || entry.kind === 'symlink');
      const vanished = new Set(vanishedEntries(options.details));
      const missing = expected.filter((entry) => !topLevel.has(entry.name) && !vanished.has(entry.name)).map((entry) => entry.name);
      if (missing.length > 0) {
        throw new IntegrityError(`the archive lacks ${missing.length} top-level entr${missing.length === 1 ? 'y' : 'ies'} the manifest lists: ${preview(missing)}`);
      }
      const present = expected.filter((entry) => topLevel.has(entry.name)).length;
      const gone = expected.length - present;
      const checked =
        expected.length === 0
          ? ''
          : gone === 0
            ? `, all ${expected.length} top-level entr${expected.length === 1 ? 'y' : 'ies'} of the manifest present`
            : `, ${present} of ${expected.length} top-level entries of the manifest present (${gone} deleted while the backup ran)`;
      return `tar listing ok: ${listing.members} member(s), end-of-archive marker present${checked}`;
    },
    async abort() {
      options.signal?.removeEventListener('abort', onAbort);
      tool.kill();
      await tool.exited;
    },
  };
}

function vanishedEntries(details: DirectoryValidationOptions['details']): string[] {
  const value = details?.[VANISHED_DETAIL];
  if (!value) return [];
  try {
    const names: unknown = JSON.parse(value);
    return Array.isArray(names) ? names.filter((name): name is string => typeof name === 'string') : [];
  } catch {
    return [];
  }
}
