/**
 * dueRuns: which (job, fire time) pairs one dispatcher tick starts, each job on its own cron and
 * time zone, over a window (from excluded, to included) that reaches back further than the tick.
 */
import { describe, expect, it } from 'vitest';
import { environmentOf, resolveConfig, type ScheduledJob } from '../../core/config/environments.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { ConfigError } from '../../core/errors.js';
import { dueRuns, type DueRun } from '../../core/usecases/due-runs.js';

function jobs(schedules: Record<string, { cron: string; timeZone?: string; enabled?: boolean }>): ScheduledJob[] {
  const raw = Object.fromEntries(
    Object.entries(schedules).map(([name, { cron, timeZone, enabled }]) => [
      name,
      { source: `env://DB_${name.toUpperCase()}`, schedule: { cron, ...(timeZone ? { timeZone } : {}) }, ...(enabled === undefined ? {} : { enabled }) },
    ]),
  );
  return [...environmentOf(resolveConfig({ version: 1, environments: { t: { cloud: 'local', jobs: raw } } }), 't').jobs];
}

const window = (from: string, to: string) => ({ from: new Date(from), to: new Date(to) });
const pairs = (due: DueRun[]) => due.map((run) => `${run.job.name}@${run.scheduledTime}`);

describe('dueRuns', () => {
  it('gives every job its own cron in its own time zone, oldest first, then by name', () => {
    // Prepare: five jobs whose wall-clock times all mean 03:00 UTC on 15 January 2026, and one that fires later.
    const all = jobs({
      utc: { cron: '0 3 * * *' },
      paris: { cron: '0 4 * * *', timeZone: 'Europe/Paris' },
      tokyo: { cron: '0 12 * * *', timeZone: 'Asia/Tokyo' },
      'new-york': { cron: '0 22 * * *', timeZone: 'America/New_York' },
      kolkata: { cron: '30 8 * * *', timeZone: 'Asia/Kolkata' },
      later: { cron: '5 3 * * *' },
      early: { cron: '50 2 * * *' },
    });
    // Act
    const due = dueRuns(all, window('2026-01-15T02:40:00Z', '2026-01-15T03:00:00Z'));
    // Assess
    expect(pairs(due)).toEqual([
      'early@2026-01-15T02:50:00.000Z',
      'kolkata@2026-01-15T03:00:00.000Z',
      'new-york@2026-01-15T03:00:00.000Z',
      'paris@2026-01-15T03:00:00.000Z',
      'tokyo@2026-01-15T03:00:00.000Z',
      'utc@2026-01-15T03:00:00.000Z',
    ]);
    expect(due[0]!.job).toBe(all.find((job) => job.name === 'early'));
  });

  it('excludes the window start and includes its end, to the millisecond', () => {
    const [job] = jobs({ nightly: { cron: '0 3 * * *' } });
    expect(pairs(dueRuns([job!], window('2026-01-15T03:00:00Z', '2026-01-15T03:20:00Z')))).toEqual([]);
    expect(pairs(dueRuns([job!], window('2026-01-15T02:59:59.999Z', '2026-01-15T03:20:00Z')))).toEqual(['nightly@2026-01-15T03:00:00.000Z']);
    expect(pairs(dueRuns([job!], window('2026-01-15T02:40:00Z', '2026-01-15T03:00:00Z')))).toEqual(['nightly@2026-01-15T03:00:00.000Z']);
    expect(pairs(dueRuns([job!], window('2026-01-15T02:40:00Z', '2026-01-15T02:59:59.999Z')))).toEqual([]);
    // An empty window holds nothing, even on a fire time.
    expect(pairs(dueRuns([job!], window('2026-01-15T03:00:00Z', '2026-01-15T03:00:00Z')))).toEqual([]);
  });

  it('lists every fire of a frequent job within the window', () => {
    const all = jobs({ often: { cron: '*/5 * * * *' }, minutely: { cron: '* * * * *' } });
    const due = dueRuns(all, window('2026-01-15T02:40:00Z', '2026-01-15T03:00:00Z'));
    expect(due.filter((run) => run.job.name === 'often').map((run) => run.scheduledTime)).toEqual([
      '2026-01-15T02:45:00.000Z',
      '2026-01-15T02:50:00.000Z',
      '2026-01-15T02:55:00.000Z',
      '2026-01-15T03:00:00.000Z',
    ]);
    expect(due.filter((run) => run.job.name === 'minutely')).toHaveLength(20);
  });

  it('is empty when nothing fires in the window', () => {
    const all = jobs({ nightly: { cron: '0 3 * * *' }, weekly: { cron: '0 4 * * 0', timeZone: 'Europe/Paris' } });
    expect(dueRuns(all, window('2026-01-15T10:00:00Z', '2026-01-15T10:20:00Z'))).toEqual([]);
    expect(dueRuns([], window('2026-01-15T10:00:00Z', '2026-01-15T10:20:00Z'))).toEqual([]);
  });

  it('never starts a disabled job', () => {
    const all = jobs({ on: { cron: '0 3 * * *' }, off: { cron: '0 3 * * *', enabled: false } });
    expect(pairs(dueRuns(all, window('2026-01-15T02:40:00Z', '2026-01-15T03:00:00Z')))).toEqual(['on@2026-01-15T03:00:00.000Z']);
  });

  it('overlapping ticks see each fire time several times, always under the same run id; a missed tick is covered by the next', () => {
    const all = jobs({ paris: { cron: '0 4 * * *', timeZone: 'Europe/Paris' }, often: { cron: '*/10 * * * *' } });
    const lookbackMs = 20 * 60_000;
    // Ticks every five minutes from 02:30 to 03:30 UTC, except the one at 03:00 (a host restart).
    const ticks = Array.from({ length: 13 }, (_, i) => new Date(Date.parse('2026-01-15T02:30:00Z') + i * 5 * 60_000)).filter(
      (tick) => tick.toISOString() !== '2026-01-15T03:00:00.000Z',
    );
    const seen = new Map<string, Set<string>>();
    for (const tick of ticks) {
      for (const run of dueRuns(all, { from: new Date(tick.getTime() - lookbackMs), to: tick })) {
        const key = `${run.job.name}@${run.scheduledTime}`;
        seen.set(key, (seen.get(key) ?? new Set()).add(scheduledRunId(run.job.name, run.scheduledTime)));
      }
    }
    expect(seen.get('paris@2026-01-15T03:00:00.000Z')?.size).toBe(1);
    // Every fire from 02:20 (first tick's window) to 03:30 is seen, each under one run id.
    const oftenTimes = [...seen.keys()].filter((key) => key.startsWith('often@')).sort();
    expect(oftenTimes).toEqual(['20', '30', '40', '50'].map((m) => `often@2026-01-15T02:${m}:00.000Z`).concat(['00', '10', '20', '30'].map((m) => `often@2026-01-15T03:${m}:00.000Z`)));
    for (const ids of seen.values()) expect(ids.size).toBe(1);
  });

  describe('daylight saving time (Europe/Paris: 29 March 2026 02:00 → 03:00, 25 October 2026 03:00 → 02:00)', () => {
    it('a wall-clock time the spring change skips fires once, an hour later on the wall clock', () => {
      const all = jobs({ nightly: { cron: '30 2 * * *', timeZone: 'Europe/Paris' } });
      const night = dueRuns(all, window('2026-03-28T22:00:00Z', '2026-03-29T04:00:00Z'));
      // 03:30 CEST = 01:30 UTC
      expect(pairs(night)).toEqual(['nightly@2026-03-29T01:30:00.000Z']);
      // The night before and after: 02:30 CET = 01:30 UTC, then 02:30 CEST = 00:30 UTC.
      expect(pairs(dueRuns(all, window('2026-03-27T22:00:00Z', '2026-03-28T04:00:00Z')))).toEqual(['nightly@2026-03-28T01:30:00.000Z']);
      expect(pairs(dueRuns(all, window('2026-03-29T22:00:00Z', '2026-03-30T04:00:00Z')))).toEqual(['nightly@2026-03-30T00:30:00.000Z']);
    });

    it('a wall-clock time the autumn change repeats fires once, at its first occurrence', () => {
      const all = jobs({ nightly: { cron: '30 2 * * *', timeZone: 'Europe/Paris' } });
      // 02:30 CEST = 00:30 UTC; the second 02:30 (CET, 01:30 UTC) does not fire again.
      expect(pairs(dueRuns(all, window('2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z')))).toEqual(['nightly@2026-10-25T00:30:00.000Z']);
    });

    it('an hourly job keeps firing every real hour through the autumn change, each under its own run id', () => {
      const all = jobs({ hourly: { cron: '0 * * * *', timeZone: 'Europe/Paris' } });
      const due = dueRuns(all, window('2026-10-24T23:30:00Z', '2026-10-25T02:30:00Z'));
      // 00:00Z is 02:00 CEST, 01:00Z is 02:00 CET (the repeated hour), 02:00Z is 03:00 CET.
      expect(due.map((run) => run.scheduledTime)).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z']);
      expect(new Set(due.map((run) => scheduledRunId(run.job.name, run.scheduledTime))).size).toBe(3);
    });

    it('America/New_York: a daily job follows the offset change (05:00 UTC in summer time, 06:00 UTC after it)', () => {
      const all = jobs({ daily: { cron: '0 1 * * *', timeZone: 'America/New_York' } });
      const night = (date: string) => pairs(dueRuns(all, window(`${date}T04:00:00Z`, `${date}T07:00:00Z`)));
      expect([...night('2026-10-31'), ...night('2026-11-01'), ...night('2026-11-02')]).toEqual([
        'daily@2026-10-31T05:00:00.000Z',
        'daily@2026-11-01T05:00:00.000Z',
        'daily@2026-11-02T06:00:00.000Z',
      ]);
    });
  });

  it('a rare schedule (29 February) costs one look ahead, not a search over years', () => {
    const all = jobs({ leap: { cron: '0 0 29 2 *' } });
    const started = performance.now();
    expect(dueRuns(all, window('2026-01-15T00:00:00Z', '2026-01-16T00:00:00Z'))).toEqual([]);
    expect(pairs(dueRuns(all, window('2028-02-28T23:50:00Z', '2028-02-29T00:10:00Z')))).toEqual(['leap@2028-02-29T00:00:00.000Z']);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses a window that ends before it starts, an invalid date, or one wider than a day, naming the values', () => {
    const all = jobs({ nightly: { cron: '0 3 * * *' } });
    expect(() => dueRuns(all, window('2026-01-15T03:00:00Z', '2026-01-15T02:00:00Z'))).toThrow(ConfigError);
    expect(() => dueRuns(all, window('2026-01-15T03:00:00Z', '2026-01-15T02:00:00Z'))).toThrow('ends (2026-01-15T02:00:00.000Z) before it starts (2026-01-15T03:00:00.000Z)');
    expect(() => dueRuns(all, { from: new Date('nope'), to: new Date() })).toThrow(ConfigError);
    expect(() => dueRuns(all, window('2026-01-13T00:00:00Z', '2026-01-15T00:00:00Z'))).toThrow(/spans 172800000 ms/);
  });
});
