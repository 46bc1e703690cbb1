/**
 * `jobSchedules` (vaultra schedule) at a fixed instant: fire times in UTC and on the job's own
 * wall clock across a daylight-saving change, the longest gap, log catch-ups, and agreement with
 * `dueRuns` (what the Azure dispatcher starts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentOf, parseConfig } from '../../core/config/load-config.js';
import { dueRuns } from '../../core/usecases/due-runs.js';
import { jobSchedules, wallClock } from '../../core/usecases/job-schedule.js';
import { repoRoot } from '../support/cli.js';

const HOUR = 3_600_000;
// The Saturday before Europe's spring-forward change (2026-03-29 02:00 → 03:00 in Paris).
const NOW = new Date('2026-03-28T12:00:00.000Z');
const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';

const ENVIRONMENT = environmentOf(
  parseConfig(
    JSON.stringify({
      version: 1,
      environments: {
        prod: {
          cloud: 'aws',
          region: 'eu-west-1',
          defaults: { encryption: { kms: false, recipients: [RECIPIENT] } },
          jobs: {
            paris: { source: 'secret+aws://prod/paris', schedule: { cron: '30 2 * * *', timeZone: 'Europe/Paris' }, rpo: '20h' },
            weekdays: { source: 'secret+aws://prod/weekdays', schedule: { cron: '30 1 * * 1-5', timeZone: 'America/New_York' }, logs: { every: '15m' } },
            off: { source: 'secret+aws://prod/off', schedule: { cron: '0 * * * *' }, enabled: false },
          },
        },
      },
    }),
  ),
  'prod',
);

describe('jobSchedules', () => {
  it("gives each job's next fire times in UTC and on its own wall clock, across a DST change", () => {
    const [paris, weekdays, off] = jobSchedules([ENVIRONMENT], NOW, 3);

    // 02:30 does not exist in Paris on 29 March: it fires once, at 03:30 summer time.
    expect(paris!.next).toEqual([
      { utc: '2026-03-29T01:30:00.000Z', local: '2026-03-29 03:30 GMT+2' },
      { utc: '2026-03-30T00:30:00.000Z', local: '2026-03-30 02:30 GMT+2' },
      { utc: '2026-03-31T00:30:00.000Z', local: '2026-03-31 02:30 GMT+2' },
    ]);
    expect(paris).toMatchObject({ environment: 'prod', job: 'paris', enabled: true, cron: '30 2 * * *', timeZone: 'Europe/Paris', rpoMs: 20 * HOUR });
    // The autumn change makes one night 25 h long.
    expect(paris!.longestGapMs).toBe(25 * HOUR);

    expect(weekdays!.next.map((time) => time.local)).toEqual(['2026-03-30 01:30 GMT-4', '2026-03-31 01:30 GMT-4', '2026-04-01 01:30 GMT-4']);
    expect(weekdays!.longestGapMs).toBe(73 * HOUR);
    expect(weekdays!.logs).toEqual({
      everyMs: 15 * 60_000,
      // Multiples of 15 minutes since midnight UTC, shown on the job's wall clock too (New York is on summer time already).
      next: ['15', '30', '45'].map((m) => ({ utc: `2026-03-28T12:${m}:00.000Z`, local: `2026-03-28 08:${m} GMT-4` })),
    });

    expect(off).toMatchObject({ job: 'off', enabled: false, next: [] });
  });

  it('shows the fire times dueRuns starts, no more and no fewer', () => {
    const schedules = jobSchedules([ENVIRONMENT], NOW, 5);
    const window = { from: NOW, to: new Date(NOW.getTime() + 24 * HOUR) };
    const due = dueRuns(ENVIRONMENT.jobs, window).filter((run) => run.kind === 'backup');
    const shown = schedules.flatMap((s) => s.next.filter((time) => Date.parse(time.utc) <= window.to.getTime()).map((time) => [s.job, time.utc]));
    expect(shown.sort()).toEqual(due.map((run) => [run.job.name, run.scheduledTime]).sort());
  });

  it("covers every job of the shipped vaultra.config.yaml's environments", async () => {
    const config = parseConfig(await readFile(join(repoRoot, 'vaultra.config.yaml'), 'utf8'));
    const schedules = jobSchedules([...config.environments.values()], NOW, 2);
    expect(schedules.length).toBe([...config.environments.values()].reduce((n, e) => n + e.jobs.length, 0));
    expect(schedules.find((s) => s.environment === 'local' && s.job === 'app')!.next).toEqual([
      { utc: '2026-03-28T13:00:00.000Z', local: '2026-03-28 13:00 GMT+0' },
      { utc: '2026-03-28T14:00:00.000Z', local: '2026-03-28 14:00 GMT+0' },
    ]);
  });

  it('writes a wall clock with its offset', () => {
    expect(wallClock(new Date('2026-07-01T10:05:00Z'), 'Asia/Kolkata')).toBe('2026-07-01 15:35 GMT+5:30');
  });
});
