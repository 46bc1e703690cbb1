import { describe, expect, it } from 'vitest';
import type { RetentionKeep } from '../../core/config/config-schema.js';
import { isoWeek, planRetention, type RetainableBackup } from '../../core/domain/retention-plan.js';

/** A backup that finished at `iso`, with a run id that sorts by that time (run ids carry the start time: 5 minutes earlier). */
function backupAt(iso: string, suffix = '000000'): RetainableBackup {
  const finished = Date.parse(iso);
  const started = new Date(finished - 5 * 60_000).toISOString().replace(/[-:]/g, '');
  return { runId: `${started}-${suffix}`, finishedAt: new Date(finished).toISOString() };
}

/** One backup every `stepMs` from `fromIso` (inclusive) to `toIso` (exclusive). */
function series(fromIso: string, toIso: string, stepMs: number): RetainableBackup[] {
  const out: RetainableBackup[] = [];
  for (let t = Date.parse(fromIso); t < Date.parse(toIso); t += stepMs) out.push(backupAt(new Date(t).toISOString()));
  return out;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = new Date('2030-01-01T00:00:00Z');

const finishedOf = (backups: readonly RetainableBackup[], runId: string): string => backups.find((b) => b.runId === runId)!.finishedAt;
const keptTimes = (backups: readonly RetainableBackup[], keep: RetentionKeep): string[] => planRetention(backups, keep, NOW).keep.map((k) => finishedOf(backups, k.runId));

describe('planRetention', () => {
  it('last: n keeps the n newest and prunes the rest, newest first', () => {
    const backups = series('2026-11-01T00:00:00Z', '2026-11-11T00:00:00Z', DAY);
    const plan = planRetention(backups, { last: 3 }, NOW);
    expect(plan.keep).toEqual(backups.slice(-3).reverse().map((b) => ({ runId: b.runId, reasons: ['last'] })));
    expect(plan.prune).toEqual(backups.slice(0, 7).reverse().map((b) => b.runId));
  });

  it('daily over a month of hourly backups keeps the newest backup of each of the n latest days', () => {
    const backups = series('2026-11-01T00:30:00Z', '2026-12-01T01:00:00Z', HOUR); // the last one is 2026-12-01T00:30
    const plan = planRetention(backups, { daily: 7 }, NOW);
    expect(plan.keep.map((k) => finishedOf(backups, k.runId))).toEqual([
      '2026-12-01T00:30:00.000Z',
      '2026-11-30T23:30:00.000Z',
      '2026-11-29T23:30:00.000Z',
      '2026-11-28T23:30:00.000Z',
      '2026-11-27T23:30:00.000Z',
      '2026-11-26T23:30:00.000Z',
      '2026-11-25T23:30:00.000Z',
    ]);
    expect(plan.keep.every((k) => k.reasons.join() === 'daily')).toBe(true);
    expect(plan.prune).toHaveLength(backups.length - 7);
  });

  it('hourly counts only hours that have a backup: a gap does not use up a slot', () => {
    const backups = ['2026-11-22T00:10:00Z', '2026-11-22T01:10:00Z', '2026-11-22T01:50:00Z', '2026-11-22T05:10:00Z', '2026-11-22T09:10:00Z'].map((t) => backupAt(t));
    expect(keptTimes(backups, { hourly: 3 })).toEqual(['2026-11-22T09:10:00.000Z', '2026-11-22T05:10:00.000Z', '2026-11-22T01:50:00.000Z']);
  });

  it('weekly uses ISO weeks, which run across the new year (2026-W53 is Mon 28 Dec to Sun 3 Jan)', () => {
    const backups = series('2026-12-14T12:00:00Z', '2027-01-11T12:00:00Z', DAY); // daily, to Sun 2027-01-10
    expect(keptTimes(backups, { weekly: 3 })).toEqual(['2027-01-10T12:00:00.000Z', '2027-01-03T12:00:00.000Z', '2026-12-27T12:00:00.000Z']);
  });

  it.each([
    ['2026-12-31T23:59:59Z', 2026, 53],
    ['2027-01-03T00:00:00Z', 2026, 53],
    ['2027-01-04T00:00:00Z', 2027, 1],
    ['2024-12-30T00:00:00Z', 2025, 1],
    ['2021-01-03T00:00:00Z', 2020, 53],
    ['2026-11-22T07:00:00Z', 2026, 47],
  ])('isoWeek(%s) is %i-W%i', (iso, weekYear, week) => {
    expect(isoWeek(new Date(iso))).toEqual({ weekYear, week });
  });

  it('monthly and yearly keep the newest backup of each of the latest months and years', () => {
    const backups: RetainableBackup[] = [];
    for (let year = 2024; year <= 2026; year++) {
      for (let month = 1; month <= 12; month++) {
        if (year === 2026 && month === 12) break;
        for (const day of [1, 15]) backups.push(backupAt(`${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T03:00:00Z`));
      }
    }
    expect(keptTimes(backups, { monthly: 6 })).toEqual(['11', '10', '09', '08', '07', '06'].map((m) => `2026-${m}-15T03:00:00.000Z`));
    expect(keptTimes(backups, { yearly: 3 })).toEqual(['2026-11-15T03:00:00.000Z', '2025-12-15T03:00:00.000Z', '2024-12-15T03:00:00.000Z']);
    // More years asked for than exist: every year's newest, nothing invented.
    expect(keptTimes(backups, { yearly: 10 })).toHaveLength(3);
  });

  it('lists every reason a backup is kept for', () => {
    // Every 6 hours over three weeks.
    const backups = series('2026-11-01T00:00:00Z', '2026-11-22T00:00:00Z', 6 * HOUR);
    const plan = planRetention(backups, { last: 2, daily: 3, weekly: 2, monthly: 1, yearly: 1 }, NOW);
    const byTime = Object.fromEntries(plan.keep.map((k) => [finishedOf(backups, k.runId), k.reasons]));
    expect(byTime).toEqual({
      '2026-11-21T18:00:00.000Z': ['last', 'daily', 'weekly', 'monthly', 'yearly'],
      '2026-11-21T12:00:00.000Z': ['last'],
      '2026-11-20T18:00:00.000Z': ['daily'],
      '2026-11-19T18:00:00.000Z': ['daily'],
      '2026-11-15T18:00:00.000Z': ['weekly'], // Sunday: the newest of 2026-W46
    });
    expect(plan.prune).toHaveLength(backups.length - 5);
  });

  it.each<[string, RetentionKeep]>([
    ['{}', {}],
    ['every rule undefined', { last: undefined, daily: undefined }],
    ['every rule 0', { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0 }],
  ])('a policy without a rule above zero (%s) prunes nothing', (_name, keep) => {
    const backups = series('2026-11-01T00:00:00Z', '2026-11-05T00:00:00Z', DAY);
    const plan = planRetention(backups, keep, NOW);
    expect(plan.prune).toEqual([]);
    expect(plan.keep.map((k) => k.runId)).toEqual(backups.map((b) => b.runId).reverse());
    expect(plan.keep.every((k) => k.reasons.join() === 'no-policy')).toBe(true);
  });

  it('a rule at zero beside another rule is simply inactive', () => {
    const backups = series('2026-11-01T00:00:00Z', '2026-11-05T00:00:00Z', DAY);
    expect(planRetention(backups, { last: 1, daily: 0 }, NOW).keep).toEqual([{ runId: backups.at(-1)!.runId, reasons: ['last'] }]);
  });

  it('the newest backup is always kept, whatever the policy', () => {
    const backups = series('2026-01-01T00:00:00Z', '2026-11-22T00:00:00Z', 7 * DAY);
    for (const keep of [{ yearly: 1 }, { monthly: 1 }, { weekly: 1 }, { hourly: 1 }, { last: 1 }] satisfies RetentionKeep[]) {
      expect(planRetention(backups, keep, NOW).keep[0]?.runId).toBe(backups.at(-1)!.runId);
    }
  });

  it('orders by run id, not by input order; duplicates count once', () => {
    const backups = series('2026-11-01T00:00:00Z', '2026-11-11T00:00:00Z', DAY);
    const expected = planRetention(backups, { last: 2, daily: 4 }, NOW);
    const shuffled = [backups[3]!, backups[9]!, backups[0]!, backups[7]!, backups[9]!, backups[1]!, backups[8]!, backups[2]!, backups[6]!, backups[4]!, backups[5]!, backups[0]!];
    expect(planRetention(shuffled, { last: 2, daily: 4 }, NOW)).toEqual(expected);
    expect(expected.keep.map((k) => k.runId)).toEqual(backups.slice(-4).reverse().map((b) => b.runId));
  });

  it('keeps a backup dated after now, or not dated at all, without letting it take a slot', () => {
    const backups = series('2026-11-18T00:00:00Z', '2026-11-22T00:00:00Z', DAY);
    const future = backupAt('2026-11-25T00:00:00Z');
    const undated = { runId: '20261120T120000.000Z-aaaaaa', finishedAt: 'not a time' };
    const plan = planRetention([...backups, future, undated], { last: 1 }, new Date('2026-11-22T07:00:00Z'));
    expect(plan.keep).toEqual([
      { runId: future.runId, reasons: ['future'] },
      { runId: backups.at(-1)!.runId, reasons: ['last'] },
      { runId: undated.runId, reasons: ['undated'] },
    ]);
    expect(plan.prune).toEqual(backups.slice(0, 3).reverse().map((b) => b.runId));
  });

  it('an empty list plans nothing', () => {
    expect(planRetention([], { last: 3 }, NOW)).toEqual({ keep: [], prune: [] });
  });

  describe('over random histories and policies', () => {
    /** mulberry32: a small seeded generator, so a failure can be replayed. */
    const seeded = (seed: number) => () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };

    it('the plan partitions the input, keeps the newest, respects each count and is idempotent (500 seeds)', () => {
      for (let seed = 1; seed <= 500; seed++) checkSeed(seed);
    });

    /** One random history and policy; assertion messages name the seed, to replay it. */
    function checkSeed(seed: number): void {
      const random = seeded(seed);
      const count = Math.floor(random() * 120);
      const start = Date.parse('2024-06-01T00:00:00Z');
      // Irregular times over ~2.5 years, some within the same minute, some ids given twice.
      const backups: RetainableBackup[] = [];
      for (let i = 0; i < count; i++) {
        const at = new Date(start + Math.floor(random() ** 2 * 900 * DAY)).toISOString();
        backups.push(backupAt(at, Math.floor(random() * 0xffffff).toString(16).padStart(6, '0')));
        if (random() < 0.05) backups.push(backups[Math.floor(random() * backups.length)]!);
      }
      const pick = () => (random() < 0.4 ? undefined : Math.floor(random() * 6));
      const keep: RetentionKeep = { last: pick(), hourly: pick(), daily: pick(), weekly: pick(), monthly: pick(), yearly: pick() };

      const plan = planRetention(backups, keep, NOW);
      const unique = [...new Set(backups.map((b) => b.runId))];
      const kept = plan.keep.map((k) => k.runId);
      expect([...kept, ...plan.prune].sort(), `seed ${seed}`).toEqual([...unique].sort());
      expect(new Set([...kept, ...plan.prune]).size, `seed ${seed}`).toBe(unique.length);
      if (unique.length > 0) expect(kept, `seed ${seed}`).toContain([...unique].sort().at(-1));
      for (const rule of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
        expect(plan.keep.filter((k) => (k.reasons as string[]).includes(rule)).length, `seed ${seed}: ${rule}`).toBeLessThanOrEqual(keep[rule] ?? 0);
      }

      const again = planRetention(
        backups.filter((b) => kept.includes(b.runId)),
        keep,
        NOW,
      );
      expect(again.prune, `seed ${seed}`).toEqual([]);
      expect(again.keep, `seed ${seed}`).toEqual(plan.keep);
    }
  });
});
