/**
 * Time in tests (docs/architecture.md, "How time enters the code"). A test either fixes the
 * clock of everything it calls (a use case's or deployment's `now`), or builds its dates from
 * the clock it runs under — with these helpers — so no test depends on the day it runs.
 * CI runs the clock-sensitive suites a second time under `faketime '+400 days'`.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * A scheduled fire time `day` days after the start of the UTC day three days ago, at `hour`:00
 * UTC — `recentFireTime(0)` … `recentFireTime(2)` are the last three days' fire times, always in
 * the past and inside every settling window, whatever the date.
 */
export function recentFireTime(day: number, hour = 2, now = Date.now()): string {
  const firstDay = Math.floor(now / DAY_MS) * DAY_MS - 3 * DAY_MS;
  return new Date(firstDay + day * DAY_MS + hour * HOUR_MS).toISOString();
}

/**
 * The variables through which `faketime` (libfaketime) moves a process's clock. A child process
 * given an explicit environment (the runner a launcher starts) loses them and runs on the real
 * clock while the test runs on the moved one: certificates the test made "today" are then not yet
 * valid to the child. Passing these on keeps a test and its children on one clock. Empty when
 * the test runs on the real clock.
 */
export function testClockEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const clock: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (name === 'LD_PRELOAD' || name.startsWith('FAKETIME'))) clock[name] = value;
  }
  return clock;
}

/**
 * What a container runtime gives the runner besides its platform's variables: a private HOME
 * (no identity file), the server's own client tools first on PATH, no colours — on the test's clock.
 */
export function runnerProcessEnvironment(home: string, toolsBinDir: string): Record<string, string> {
  return {
    HOME: home,
    XDG_CONFIG_HOME: `${home}/.config`,
    XDG_STATE_HOME: `${home}/.state`,
    PATH: `${toolsBinDir}:${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
    ...testClockEnvironment(),
  };
}
