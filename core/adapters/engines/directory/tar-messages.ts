import type { ToolExit } from '../../process/child-process.js';

/**
 * What GNU tar says on stderr (run with `LC_ALL=C`, so the messages are the English ones
 * matched here, and names are printed in the escape quoting style).
 */

/** The warnings of a `tar --create` that still produced a complete archive. */
export interface CreateWarnings {
  /** Members whose file changed, shrank or vanished while tar read it (exit 1, "some files differ"). */
  readonly changed: string[];
  /** Members tar left out because the archive format cannot hold them (sockets). */
  readonly skipped: string[];
}

const CHANGED = /^tar: (.*): (?:file changed as we read it|File shrank by \d+ bytes?; padding with zeros|File removed before we read it)$/;
const SKIPPED = /^tar: (.*): socket ignored$/;

export function createWarnings(lines: readonly string[]): CreateWarnings {
  const changed: string[] = [];
  const skipped: string[] = [];
  for (const line of lines) {
    const change = CHANGED.exec(line);
    if (change) changed.push(change[1]!);
    const skip = SKIPPED.exec(line);
    if (skip) skipped.push(`${skip[1]!} (socket)`);
  }
  return { changed, skipped };
}

/** `./a, ./b and 3 more`: a bounded list for a one-line message or a manifest detail. */
export function preview(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** Members named on the command line that the archive does not hold (`tar: ./x: Not found in archive`). */
export function notFoundMembers(stderr: string): string[] {
  return [...stderr.matchAll(/^tar: (.*): Not found in archive$/gm)].map((match) => match[1]!);
}

/** `tar: ./b: Cannot hard link to './a': …` → `{ link: './b', target: './a' }`. */
export function brokenHardLink(stderr: string): { link: string; target: string } | undefined {
  const match = /^tar: (.*): Cannot hard link to '(.*)': /m.exec(stderr);
  return match ? { link: match[1]!, target: match[2]! } : undefined;
}

/** The lines where tar says it rewrote a member name that pointed outside the extraction folder. */
export function rewrittenNames(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^tar: Removing leading `.*' from (member names|hard link targets)$|^tar: .*: Member name contains '\.\.'$/.test(line));
}

/**
 * How tar ended, for a one-line error: `exit 2: ./x: Cannot open: Permission denied`. The first
 * real complaint explains the failure; the closing "Exiting with failure status" never does.
 */
export function describeTarExit(exit: ToolExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  const lines = exit.stderrTail
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^tar: (Exiting with failure status|Error is not recoverable|Removing leading)/.test(line) && !/^tar: .*: (file changed as we read it|socket ignored)$/.test(line));
  if (lines.length === 0) return how;
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more message(s))` : '';
  return `${how}: ${lines[0]!.replace(/^tar: /, '')}${more}`;
}
