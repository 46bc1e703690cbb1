/**
 * dueRuns with restore drills (issue 20, Azure): a job's `drill.schedule` fires on its own cron
 * and time zone beside the backup's, under the run id AWS's drill schedules get (`drillRunId`),
 * so overlapping dispatcher ticks start each drill once. Fixed windows: no clock involved.
 */
import { describe, expect, it } from 'vitest';
import { environmentOf, resolveConfig, type ScheduledJob } from '../../core/config/environments.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { dueRuns, type DueRun } from '../../core/usecases/due-runs.js';
import { drillRunId } from '../../core/usecases/start-drill.js';

function jobs(raw: Record<string, Record<string, unknown>>): ScheduledJob[] {
  const withSources = Object.fromEntries(Object.entries(raw).map(([name, job]) => [name, { source: `env://DB_${name.toUpperCase()}`, ...job }]));
  return [...environmentOf(resolveConfig({ version: 1, environments: { t: { cloud: 'local', jobs: withSources } } }), 't').jobs];
}

const window = (from: string, to: string) => ({ from: new Date(from), to: new Date(to) });
const listed = (due: DueRun[]) => due.map((run) => `${run.kind} ${run.job.name}@${run.scheduledTime}`);

describe('dueRuns with drills', () => {
  it('fires a drill on its own cron and time zone, after the backups and log pushes of the same minute', () => {
    // Prepare: shop backs up at 03:00 UTC and drills at 04:00 Paris (03:00 UTC in winter); audit only backs up then.
    const all = jobs({
      shop: { schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '0 4 * * 4', timeZone: 'Europe/Paris' } } },
      audit: { schedule: { cron: '0 3 * * *' } },
    });
    // Act: Thursday 15 January 2026.
    const due = dueRuns(all, window('2026-01-15T02:40:00Z', '2026-01-15T03:00:00Z'));
    // Assess
    expect(listed(due)).toEqual(['backup audit@2026-01-15T03:00:00.000Z', 'backup shop@2026-01-15T03:00:00.000Z', 'drill shop@2026-01-15T03:00:00.000Z']);
  });

  it('does not fire the drill outside its schedule, nor for a job without drill.schedule (drill settings alone run on demand only)', () => {
    const all = jobs({
      shop: { schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '0 5 * * 0' } } },
      adhoc: { schedule: { cron: '0 5 * * *' }, drill: { rto: '30m' } },
    });
    // Sunday 18 January 2026, 05:00 UTC: shop's drill and adhoc's backup, never an adhoc drill.
    expect(listed(dueRuns(all, window('2026-01-18T04:40:00Z', '2026-01-18T05:00:00Z')))).toEqual(['backup adhoc@2026-01-18T05:00:00.000Z', 'drill shop@2026-01-18T05:00:00.000Z']);
    // Monday: no drill.
    expect(listed(dueRuns(all, window('2026-01-19T04:40:00Z', '2026-01-19T05:00:00Z')))).toEqual(['backup adhoc@2026-01-19T05:00:00.000Z']);
  });

  it('never drills a disabled job', () => {
    const all = jobs({ paused: { enabled: false, schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '0 5 * * *' } } } });
    expect(dueRuns(all, window('2026-01-15T04:50:00Z', '2026-01-15T05:10:00Z'))).toEqual([]);
  });

  it('overlapping ticks see a drill fire time several times, always under one drill run id distinct from the backup of the same minute', () => {
    const all = jobs({ shop: { schedule: { cron: '0 5 * * *' }, drill: { schedule: { cron: '0 5 * * *' } } } });
    // Four ticks five minutes apart, each looking back twenty minutes, all around 05:00.
    const ticks = ['05:00', '05:05', '05:10', '05:15'].map((end) => {
      const to = new Date(`2026-01-15T${end}:00Z`);
      return dueRuns(all, { from: new Date(to.getTime() - 20 * 60_000), to });
    });
    const drillIds = ticks.flatMap((due) => due.filter((run) => run.kind === 'drill').map((run) => drillRunId(run.job.name, run.scheduledTime)));
    expect(drillIds).toHaveLength(4);
    expect(new Set(drillIds).size).toBe(1);
    expect(drillIds[0]).not.toBe(scheduledRunId('shop', '2026-01-15T05:00:00.000Z'));
  });

  it('follows daylight saving time like backups: a skipped wall-clock time fires once, an hour later', () => {
    const all = jobs({ shop: { schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '30 2 * * *', timeZone: 'Europe/Paris' } } } });
    // 29 March 2026: 02:00 → 03:00 in Paris, so 02:30 does not exist; it fires at 03:30 CEST (01:30 UTC).
    const drills = dueRuns(all, window('2026-03-28T23:00:00Z', '2026-03-29T04:00:00Z')).filter((run) => run.kind === 'drill');
    expect(drills.map((run) => run.scheduledTime)).toEqual(['2026-03-29T01:30:00.000Z']);
  });
});
