import type { Clock } from '../domain/clock.js';
import type { RunTracer } from '../ports/run-tracer.js';

/** A run's phase durations in milliseconds by phase name, in the order the phases started (`phasesMs` of a run record). */
export type PhaseDurations = Readonly<Record<string, number>>;

/**
 * How long each phase of one run took, measured where the phases are already named: the
 * {@link RunTracer} spans. `tracing(inner)` is a tracer that passes every span on to `inner`
 * unchanged and adds its duration, read from the injected clock, under the span's name. A phase
 * that runs more than once (the catalog write of a failed run and of its repair) adds up; a
 * phase that failed counts the time it took to fail. One instance per run.
 *
 * @example
 * const timings = new PhaseTimings(now);
 * await runBackup({ ...deps, tracer: timings.tracing(runTracer()) }, request);
 * timings.phasesMs(); // { claim: 4, 'start dump': 31, 'dump, compress, encrypt, upload': 812, … }
 */
export class PhaseTimings {
  private readonly durations = new Map<string, number>();

  constructor(private readonly now: Clock) {}

  /** `inner`, with the duration of every phase it runs recorded here. */
  tracing(inner: RunTracer): RunTracer {
    return {
      span: async (name, attributes, fn) => {
        const startedMs = this.now().getTime();
        try {
          return await inner.span(name, attributes, fn);
        } finally {
          this.add(name, this.now().getTime() - startedMs);
        }
      },
    };
  }

  /** The durations so far; empty (so left out of the record) before any phase ended. */
  phasesMs(): PhaseDurations {
    return Object.fromEntries(this.durations);
  }

  private add(name: string, elapsedMs: number): void {
    // A clock set back meanwhile (NTP) must not make a negative duration.
    this.durations.set(name, (this.durations.get(name) ?? 0) + Math.max(0, Math.round(elapsedMs)));
  }
}

/** `{ phasesMs }` for a run record, or nothing when no phase was timed. */
export function phasesField(timings: PhaseTimings | undefined): { phasesMs?: PhaseDurations } {
  const phasesMs = timings?.phasesMs();
  return phasesMs && Object.keys(phasesMs).length > 0 ? { phasesMs } : {};
}
