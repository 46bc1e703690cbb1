import type { RunRecord } from '../core/domain/run.js';
import type { RunLogLine } from '../core/ports/run-log.js';
import { formatDuration } from './format.js';

/**
 * A run's timings and log as text lines: what `vaultra show <runId>` prints and the console's
 * run screen shows, the same lines in both.
 */

/** One `phase  duration  share` line per timed phase, in the order the phases ran; none without timings. */
export function phaseLines(run: Pick<RunRecord, 'phasesMs'>): string[] {
  const phases = Object.entries(run.phasesMs ?? {});
  if (phases.length === 0) return [];
  const nameWidth = Math.max(...phases.map(([name]) => name.length));
  const durations = phases.map(([, ms]) => formatDuration(ms));
  const durationWidth = Math.max(...durations.map((text) => text.length));
  // The share of all the phases' time (they run one after the other): which phase to look at
  // when a run is slow. Not of `durationMs`, which ends when the data is stored, before the commit.
  const total = phases.reduce((sum, [, ms]) => sum + ms, 0);
  return phases.map(([name, ms], i) => {
    const share = total > 0 ? `  ${String(Math.round((100 * ms) / total)).padStart(3)} %` : '';
    return `${name.padEnd(nameWidth)}  ${durations[i]!.padStart(durationWidth)}${share}`;
  });
}

/** A log line with its time of day (UTC, to the millisecond): the run's date is on its record. */
export function logLineText(line: RunLogLine): string {
  const time = line.at ? /T(\d{2}:\d{2}:\d{2}(?:\.\d{3})?)/.exec(line.at)?.[1] : undefined;
  return time ? `${time}  ${line.text}` : line.text;
}

/** What the log block says when a run has no log lines to show. */
export function noLogText(lines: readonly RunLogLine[] | undefined): string {
  return lines === undefined ? 'none kept here (the runner keeps the log of each backup, restore, verify and drill it runs, beside a local catalog)' : 'the log is empty';
}
