/**
 * The function app's entry (`main` of its package.json, bundled by
 * scripts/package-azure-functions.mjs): registers every function with the v4 programming model.
 * Timer schedules are NCRONTAB in UTC; the jobs' own crons and time zones are the dispatcher's
 * business (dispatch.ts), so the app needs no WEBSITE_TIME_ZONE.
 */
import { app } from '@azure/functions';
import { DISPATCH_SCHEDULE, handler as dispatch } from './dispatch.js';
import { RECONCILE_SCHEDULE, handler as reconcile } from './reconcile.js';
import { WATCHDOG_SCHEDULE, handler as watchdog } from './watchdog.js';
import { handler as api } from './api.js';

// useMonitor: the host records each tick, so a restart knows a tick was missed (isPastDue);
// the dispatcher's lookback covers the missed fire times either way.
app.timer('dispatch', { schedule: DISPATCH_SCHEDULE, useMonitor: true, handler: dispatch });
app.timer('reconcile', { schedule: RECONCILE_SCHEDULE, handler: reconcile });
app.timer('watchdog', { schedule: WATCHDOG_SCHEDULE, handler: watchdog });
app.http('api', { methods: ['POST'], authLevel: 'function', handler: api });
