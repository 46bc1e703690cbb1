import type { RetentionKeep } from './shared-schemas.js';

/** One backup as the planner sees it: its run id (sortable by time) and when it finished. */
export interface RetainableBackup {
  readonly runId: string;
  /** ISO time; the backup's calendar buckets (hour, day, ISO week, month, year) come from it, in UTC. */
  readonly finishedAt: string;
}

/**
 * Why a backup is kept: the rules that chose it (`last`, `hourly`, `daily`, `weekly`, `monthly`,
 * `yearly`) or a safety rule (`newest`, `no-policy`, `undated`, `future`).
 */
export type KeepReason = keyof RetentionKeep | 'newest' | 'no-policy' | 'undated' | 'future';

export interface RetentionPlan {
  /** Newest first, each with every reason it is kept for. */
  readonly keep: { readonly runId: string; readonly reasons: KeepReason[] }[];
  /** Run ids to remove, newest first. */
  readonly prune: string[];
}

type CalendarRule = Exclude<keyof RetentionKeep, 'last'>;

/** Rules in the order their reasons are listed. */
const RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const satisfies readonly (keyof RetentionKeep)[];

/**
 * Plans grandfather-father-son retention, with the semantics of restic's and borg's `--keep-*`:
 *
 * - `last: n` keeps the n newest backups.
 * - `hourly: n` keeps, for each of the n most recent hours *that have a backup*, the newest
 *   backup of that hour; an hour without a backup does not use up one of the n. `daily`,
 *   `weekly` (ISO 8601 weeks: Monday to Sunday, week-numbering year), `monthly` and `yearly`
 *   do the same with their calendar bucket. Buckets are taken in UTC from `finishedAt`.
 * - The rules are independent; a backup is kept when any rule keeps it, and its reasons list
 *   every rule that did. Everything no rule keeps is pruned.
 *
 * Safety rules, because deleting a backup cannot be undone:
 * - A policy with no rule above zero (`{}`, all undefined, all 0) prunes nothing: that is a
 *   policy nobody wrote on purpose, not "delete everything".
 * - The newest backup is always kept.
 * - A backup whose `finishedAt` does not parse (`undated`) or lies after `now` (`future`, a
 *   skewed clock) is kept and takes no rule's slot.
 * - Order comes from the run ids (they sort by time), never from the input order; a run id
 *   given twice counts once (its first occurrence).
 *
 * Pure and idempotent: planning the kept backups again prunes nothing.
 *
 * @example
 * planRetention(backups, { last: 3, daily: 7, weekly: 4, monthly: 12 }).prune // run ids to delete
 */
export function planRetention(backups: readonly RetainableBackup[], keep: RetentionKeep, now: Date = new Date()): RetentionPlan {
  const unique = new Map<string, RetainableBackup>();
  for (const backup of backups) if (!unique.has(backup.runId)) unique.set(backup.runId, backup);
  const newestFirst = [...unique.values()].sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0));

  const reasons = new Map<string, KeepReason[]>(newestFirst.map((backup) => [backup.runId, []]));
  const activeRules = RULES.filter((rule) => (keep[rule] ?? 0) > 0);
  if (activeRules.length === 0) {
    return { keep: newestFirst.map((backup) => ({ runId: backup.runId, reasons: ['no-policy'] })), prune: [] };
  }

  const remaining = new Map(activeRules.map((rule) => [rule, keep[rule]!]));
  const bucketsSeen = new Map(activeRules.map((rule) => [rule, new Set<string>()]));
  for (const backup of newestFirst) {
    const own = reasons.get(backup.runId)!;
    const finishedMs = Date.parse(backup.finishedAt);
    if (Number.isNaN(finishedMs)) {
      own.push('undated');
      continue;
    }
    if (finishedMs > now.getTime()) {
      own.push('future');
      continue;
    }
    const finished = new Date(finishedMs);
    for (const rule of activeRules) {
      const left = remaining.get(rule)!;
      if (left === 0) continue;
      // `last` gives every backup a bucket of its own; the others group by calendar period.
      const bucket = rule === 'last' ? backup.runId : calendarBucket(rule, finished);
      const seen = bucketsSeen.get(rule)!;
      // Newest first: the first backup met in a bucket is that bucket's newest.
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      remaining.set(rule, left - 1);
      own.push(rule);
    }
  }
  const newest = newestFirst[0];
  if (newest && reasons.get(newest.runId)!.length === 0) reasons.get(newest.runId)!.push('newest');

  const plan: RetentionPlan = { keep: [], prune: [] };
  for (const { runId } of newestFirst) {
    const why = reasons.get(runId)!;
    if (why.length > 0) plan.keep.push({ runId, reasons: why });
    else plan.prune.push(runId);
  }
  return plan;
}

/** The UTC calendar period `time` falls in, as a key that is equal for equal periods. */
export function calendarBucket(rule: CalendarRule, time: Date): string {
  const year = time.getUTCFullYear();
  const month = String(time.getUTCMonth() + 1).padStart(2, '0');
  const day = String(time.getUTCDate()).padStart(2, '0');
  switch (rule) {
    case 'hourly':
      return `${year}-${month}-${day}T${String(time.getUTCHours()).padStart(2, '0')}`;
    case 'daily':
      return `${year}-${month}-${day}`;
    case 'weekly': {
      const { weekYear, week } = isoWeek(time);
      return `${weekYear}-W${String(week).padStart(2, '0')}`;
    }
    case 'monthly':
      return `${year}-${month}`;
    case 'yearly':
      return String(year);
  }
}

/**
 * ISO 8601 week of a UTC date: weeks start on Monday, and week 1 is the week holding the year's
 * first Thursday, so 2026-12-31 (a Thursday) is 2026-W53 and 2027-01-03 (a Sunday) too.
 */
export function isoWeek(time: Date): { weekYear: number; week: number } {
  const day = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate());
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  // The Thursday of this week decides which year the week belongs to.
  const thursday = new Date(day + (3 - weekday) * 86_400_000);
  const weekYear = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / (7 * 86_400_000));
  return { weekYear, week };
}
