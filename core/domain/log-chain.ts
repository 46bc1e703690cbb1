import { compareLogPositions, type BaseLogPosition, type LogKind, type LogRange } from './log-archive.js';

/**
 * Which archived log ranges continue a base, and how far in time they reach: the arithmetic of
 * point-in-time recovery, on facts alone (no storage, no clock).
 *
 * A range continues a position when it starts exactly there (binary log, oplog: their replays
 * apply a range whole, so an overlap would apply changes twice), or — WAL — when it starts at or
 * before it and ends after it (WAL is replayed by segment name: a re-read segment just replaces
 * the earlier copy). The first range after a base may also hold the base's position inside it
 * (pushes ran before the base was taken): the replay starts after the base's position.
 * Continuations are searched breadth-first, so two pushes that overlapped (one range duplicated,
 * another starting at the shorter one's end) never hide a path.
 */

export interface ArchivedRange {
  /** The log run that stored it. */
  readonly runId: string;
  readonly range: LogRange;
}

export interface BaseAt {
  readonly runId: string;
  readonly position: BaseLogPosition;
}

export interface Reach {
  readonly base: BaseAt;
  /** Ranges that continue the base, in replay order, along the path to the furthest one. */
  readonly chain: readonly ArchivedRange[];
  /** The earliest time a restore from this base gives (undefined: the base cannot become consistent with what is archived). */
  readonly from?: Date;
  /** The latest time it reaches: the last chained range's `coveredUntil` (the base's own time without ranges). */
  readonly until?: Date;
}

/** How far `base` reaches through `ranges` (any order; other kinds ignored). */
export function reachOf(base: BaseAt, ranges: readonly ArchivedRange[]): Reach {
  const kind = base.position.kind;
  const path = furthestPath(kind, base.position.start, ranges.filter((r) => r.range.kind === kind));
  const consistent = base.position.consistent;
  const needsReplay = compareLogPositions(kind, consistent, base.position.start) > 0;
  const last = path.at(-1);
  if (needsReplay && (!last || compareLogPositions(kind, last.range.end, consistent) < 0)) return { base, chain: path };
  const coveredUntil = last ? new Date(last.range.coveredUntil) : base.position.consistentAt;
  const until = coveredUntil < base.position.consistentAt ? base.position.consistentAt : coveredUntil;
  return { base, chain: path, from: base.position.consistentAt, until };
}

/** The ranges a restore to `at` replays: the chain up to the first range covering `at`. */
export function chainTo(reach: Reach, at: Date): readonly ArchivedRange[] {
  const kind = reach.base.position.kind;
  const consistent = reach.base.position.consistent;
  const needed: ArchivedRange[] = [];
  for (const link of reach.chain) {
    needed.push(link);
    if (new Date(link.range.coveredUntil) >= at && compareLogPositions(kind, link.range.end, consistent) >= 0) break;
  }
  return needed;
}

/** A stretch of time the archive can restore to. */
export interface Window {
  readonly from: Date;
  readonly until: Date;
}

/** The reachable windows of several bases, merged and in order. */
export function reachableWindows(reaches: readonly Reach[]): Window[] {
  const windows = reaches.filter((r) => r.from && r.until).map((r) => ({ from: r.from!, until: r.until! }));
  windows.sort((a, b) => a.from.getTime() - b.from.getTime());
  const merged: Window[] = [];
  for (const window of windows) {
    const last = merged.at(-1);
    if (last && window.from <= last.until) merged[merged.length - 1] = { from: last.from, until: window.until > last.until ? window.until : last.until };
    else merged.push(window);
  }
  return merged;
}

/** The newest base whose reach holds `at`. */
export function baseFor(reaches: readonly Reach[], at: Date): Reach | undefined {
  const holding = reaches.filter((r) => r.from && r.until && r.from <= at && at <= r.until);
  return holding.sort((a, b) => b.base.position.consistentAt.getTime() - a.base.position.consistentAt.getTime())[0];
}

/** Where the archive breaks: ranges of the job no base's chain reaches, and ranges that say the server lost log before them. */
export interface Gap {
  /** The position the archive reached before the break. */
  readonly after: string;
  /** The position it continues from (the next range's start). */
  readonly resumesAt: string;
  /** The run whose range comes after the break. */
  readonly runId: string;
  /** The time the last range before the break covered up to, and the first after it starts covering. */
  readonly lastCoveredAt?: Date;
  readonly resumesCoveringAt?: Date;
  /** Why: no range continues the archive there (`missing`), or the server had already purged it (`purged`). */
  readonly cause: 'missing' | 'purged';
}

/**
 * The breaks in the archive after `base`: every range not reachable from it, grouped at its start,
 * with the furthest reachable position before it. `logs verify` reports them; none means every
 * archived range continues the base.
 */
export function gapsAfter(base: BaseAt, ranges: readonly ArchivedRange[]): Gap[] {
  const kind = base.position.kind;
  const ofKind = ranges.filter((r) => r.range.kind === kind);
  const reachable = reachableRanges(kind, base.position.start, ofKind);
  const gaps: Gap[] = [];
  // Ranges that end before the base are history: a gap there matters to older bases only.
  const later = ofKind.filter((r) => !reachable.has(r) && compareLogPositions(kind, r.range.end, base.position.start) > 0);
  later.sort((a, b) => compareLogPositions(kind, a.range.start, b.range.start));
  let from = [...reachable].reduce<ArchivedRange | undefined>((best, r) => (!best || compareLogPositions(kind, r.range.end, best.range.end) > 0 ? r : best), undefined);
  for (const next of later) {
    const after = from?.range.end ?? base.position.start;
    if (compareLogPositions(kind, next.range.start, after) <= 0 && compareLogPositions(kind, next.range.end, after) <= 0) continue;
    gaps.push({
      after,
      resumesAt: next.range.start,
      runId: next.runId,
      ...(from ? { lastCoveredAt: new Date(from.range.coveredUntil) } : { lastCoveredAt: base.position.consistentAt }),
      ...(next.range.firstEventAt ? { resumesCoveringAt: new Date(next.range.firstEventAt) } : {}),
      cause: next.range.gapFrom ? 'purged' : 'missing',
    });
    // What follows the break continues from it: later ranges chain on from here.
    const resumed = reachableRanges(kind, next.range.start, later);
    from = [...resumed].reduce<ArchivedRange | undefined>((best, r) => (!best || compareLogPositions(kind, r.range.end, best.range.end) > 0 ? r : best), next);
    for (const r of resumed) reachable.add(r);
  }
  return gaps;
}

/** Whether `range` continues the archive at `position` (see the module comment). */
function continues(kind: LogKind, range: LogRange, position: string, first: boolean): boolean {
  const startVsPos = compareLogPositions(kind, range.start, position);
  const endVsPos = compareLogPositions(kind, range.end, position);
  if (startVsPos === 0) return true;
  if (kind === 'wal' || first) return startVsPos < 0 && endVsPos > 0;
  return false;
}

/** Every range reachable from `start`. */
function reachableRanges(kind: LogKind, start: string, ranges: readonly ArchivedRange[]): Set<ArchivedRange> {
  return new Set(search(kind, start, ranges).keys());
}

/** The path from `start` to the range that ends furthest. */
function furthestPath(kind: LogKind, start: string, ranges: readonly ArchivedRange[]): ArchivedRange[] {
  const reached = search(kind, start, ranges);
  let furthest: ArchivedRange | undefined;
  for (const range of reached.keys()) if (!furthest || laterReach(kind, range, furthest)) furthest = range;
  const path: ArchivedRange[] = [];
  for (let at = furthest; at; at = reached.get(at)) path.unshift(at);
  return path;
}

/** Whether `a` reaches further than `b`: a later end, or at the same end a later time covered (an empty push moves time on). */
function laterReach(kind: LogKind, a: ArchivedRange, b: ArchivedRange): boolean {
  const byEnd = compareLogPositions(kind, a.range.end, b.range.end);
  return byEnd > 0 || (byEnd === 0 && a.range.coveredUntil > b.range.coveredUntil);
}

/** Breadth-first over positions: each reachable range, with the range before it on its path. */
function search(kind: LogKind, start: string, ranges: readonly ArchivedRange[]): Map<ArchivedRange, ArchivedRange | undefined> {
  const before = new Map<ArchivedRange, ArchivedRange | undefined>();
  const seen = new Set<string>();
  let frontier: { position: string; via?: ArchivedRange }[] = [{ position: start }];
  while (frontier.length > 0) {
    const next: { position: string; via?: ArchivedRange }[] = [];
    for (const { position, via } of frontier) {
      if (seen.has(position)) continue;
      seen.add(position);
      for (const range of ranges) {
        if (before.has(range) || !continues(kind, range.range, position, via === undefined)) continue;
        // An empty range (a push that found nothing new) moves time on, not position: it still counts.
        before.set(range, via);
        next.push({ position: range.range.end, via: range });
      }
    }
    frontier = next;
  }
  return before;
}
