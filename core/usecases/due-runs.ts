import type { ScheduledJob } from '../config/environments.js';
import { nextFireTimes } from '../config/schedule.js';
import { logFireTimes } from '../config/log-schedule.js';
import { ConfigError } from '../errors.js';

/**
 * One scheduled fire of a job: a backup, started under `scheduledRunId(job.name, scheduledTime)`,
 * a log catch-up, started under `logPushRunId(job.name, scheduledTime)`, or a restore drill
 * (`drill.schedule`), started under `drillRunId(job.name, scheduledTime)`.
 */
export interface DueRun {
  readonly job: ScheduledJob;
  readonly kind: 'backup' | 'log' | 'drill';
  /** The fire time the job's cron gives in its own time zone, as an instant (UTC ISO 8601, milliseconds). */
  readonly scheduledTime: string;
}

/** A window of time, `from` excluded and `to` included. */
export interface FireWindow {
  readonly from: Date;
  readonly to: Date;
}

/** A five-field cron fires at most once a minute: a window of n minutes holds at most n + 1 fire times. */
const MINUTE_MS = 60_000;
/** A dispatcher looks back minutes, not days; a wider window is a bug in the caller. */
export const MAX_WINDOW_MS = 86_400_000;

/**
 * Every (job, fire time) of the enabled jobs whose schedule fires in `(from, to]`, each job on its
 * own cron and time zone, the newest fire time of its log catch-ups (`logs.every`) in the
 * window, and every fire of its drill schedule (`drill.schedule`, on its own cron and time zone),
 * oldest first (then backups, log pushes, drills, then by job name). A dispatcher ticking
 * every few minutes thus pushes log at most once a tick, whatever `logs.every` is below it.
 *
 * This is how one timer serves every job on platforms whose timers take one schedule and one
 * time zone per app (Azure Functions, DESIGN.md §7): it ticks every few minutes over a window
 * reaching back further than its period, so a late or missed tick is covered by the next one.
 * A fire time seen by several ticks maps to the same run id (`scheduledRunId`), and the
 * catalog's conditional create turns every start after the first into a `duplicate`: overlapping
 * windows are safe by construction.
 *
 * Time zones follow cron-parser: a wall-clock time skipped by a spring-forward change fires once,
 * an hour later in wall-clock terms (02:30 → 03:30); one repeated by a fall-back change fires
 * once, at its first occurrence; interval schedules (`*\/30 * * * *`) keep firing in real time.
 * Pure: no clock, no I/O.
 */
export function dueRuns(jobs: readonly ScheduledJob[], window: FireWindow): DueRun[] {
  const from = window.from.getTime();
  const to = window.to.getTime();
  if (Number.isNaN(from) || Number.isNaN(to)) throw new ConfigError('the window of due runs needs two valid dates');
  if (to < from) throw new ConfigError(`the window of due runs ends (${window.to.toISOString()}) before it starts (${window.from.toISOString()})`);
  if (to - from > MAX_WINDOW_MS) throw new ConfigError(`the window of due runs spans ${to - from} ms, more than the ${MAX_WINDOW_MS} ms a dispatcher may look back`);
  const upperBound = Math.floor((to - from) / MINUTE_MS) + 1;
  const due: DueRun[] = [];
  for (const job of jobs) {
    if (!job.enabled) continue;
    for (const time of cronFires(job.schedule, window, upperBound)) due.push({ job, kind: 'backup', scheduledTime: time.toISOString() });
    // A job's log catch-ups fire at the multiples of `logs.every` since midnight UTC. Only the
    // newest in the window: one push reads everything up to the server's end, so the older ones
    // would each start nothing but a `skipped` record behind it.
    const newestLogTime = job.logs ? logFireTimes(job.logs.everyMs, from, to).at(-1) : undefined;
    if (newestLogTime) due.push({ job, kind: 'log', scheduledTime: newestLogTime.toISOString() });
    // Every drill fire, like backups: each is its own proof, and a drill is weekly at most in practice.
    if (job.drill?.schedule) for (const time of cronFires(job.drill.schedule, window, upperBound)) due.push({ job, kind: 'drill', scheduledTime: time.toISOString() });
  }
  // Backups before log pushes before drills of the same minute: a busy tick starts what pages when
  // missed first, and a drill restores an earlier backup anyway.
  const order = { backup: 0, log: 1, drill: 2 } as const;
  return due.sort((a, b) => a.scheduledTime.localeCompare(b.scheduledTime) || order[a.kind] - order[b.kind] || a.job.name.localeCompare(b.job.name));
}

/** The fire times of one cron in `(from, to]`, at most `upperBound` of them. */
function cronFires(schedule: { readonly cron: string; readonly timeZone: string }, window: FireWindow, upperBound: number): Date[] {
  const fires: Date[] = [];
  // One fire at a time: asking for `upperBound` at once would make a rare schedule (29 February)
  // search years ahead for fires that cannot be in the window anyway.
  let cursor = window.from;
  for (let i = 0; i < upperBound; i++) {
    const [time] = nextFireTimes(schedule.cron, schedule.timeZone, cursor, 1);
    if (!time || time.getTime() > window.to.getTime()) break;
    fires.push(time);
    cursor = time;
  }
  return fires;
}
