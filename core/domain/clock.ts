/**
 * How time enters Vaultra. Every use case that decides something by the time (a run's start,
 * a lock's expiry window, which runs still need settling, retention, RPO) reads it from a
 * `Clock` it is given, never from the wall clock directly, so a caller — a test, a replay, a
 * scheduler tick — fixes "now" for everything one operation does.
 *
 * @example
 * const fixed: Clock = () => new Date('2026-12-01T13:00:00Z');
 * await reconcileRuns({ ...deps, now: fixed });
 */
export type Clock = () => Date;

/** The machine's clock: the default wherever no clock is given. */
export const systemClock: Clock = () => new Date();
