import type { JobState } from '../../core/usecases/job-status.js';
import type { RunStatus } from '../../core/domain/run.js';
import { roughDuration } from '../commands/status-command.js';

/**
 * How the console writes values into cells. States are a symbol and a word, never colour
 * alone (a monochrome terminal, a screen reader, a captured screen must read the same).
 */

export const JOB_STATE: Record<JobState, { readonly text: string; readonly color: string }> = {
  ok: { text: '✓ ok', color: 'green' },
  late: { text: '✗ late', color: 'red' },
  never: { text: '? never', color: 'yellow' },
  disabled: { text: '- off', color: 'gray' },
};

export const RUN_STATUS: Record<RunStatus, { readonly text: string; readonly color: string }> = {
  succeeded: { text: '✓ succeeded', color: 'green' },
  failed: { text: '✗ failed', color: 'red' },
  running: { text: '… running', color: 'cyan' },
  pending: { text: '… pending', color: 'cyan' },
  skipped: { text: '- skipped', color: 'gray' },
};

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of sizes, oldest first: the trend at a glance (a jump, a backup that shrank to nothing). */
export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return '';
  const max = Math.max(...values);
  const min = Math.min(...values);
  return values.map((value) => BARS[max === min ? BARS.length - 1 : Math.round(((value - min) / (max - min)) * (BARS.length - 1))]).join('');
}

/** `3h 12m ago`: how old a time is, as `vaultra status` writes it. */
export function ago(iso: string, nowMs: number): string {
  return `${roughDuration(nowMs - Date.parse(iso))} ago`;
}

/** `in 2h 5m`. */
export function until(iso: string, nowMs: number): string {
  return `in ${roughDuration(Date.parse(iso) - nowMs)}`;
}

/** Cuts a cell to `width` characters, marking the cut. */
export function clip(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** A row of cells padded to their column widths; the last column takes what is left of the line. */
export function row(cells: readonly string[], widths: readonly number[], lineWidth: number): string {
  const line = cells.map((cell, i) => (i === cells.length - 1 ? cell : clip(cell, widths[i]!).padEnd(widths[i]!))).join('  ');
  return clip(line, lineWidth);
}

/**
 * Lines of at most `width` characters, broken at spaces (a word longer than a line is cut):
 * how a long command reads on a narrow terminal, computed here so the screen knows its height.
 */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= width) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = word;
    while (line.length > width) {
      lines.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line) lines.push(line);
  return lines;
}
