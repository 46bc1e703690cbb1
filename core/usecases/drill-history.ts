import type { Catalog, CatalogCallOptions } from '../ports/catalog.js';
import type { RunRecord } from '../domain/run.js';

/** A job's drills, newest first, and how its RTO moves. */
export interface DrillTrend {
  readonly job: string;
  readonly drills: readonly RunRecord[];
  /** RTO of the newest drill that got as far as measuring one (every drill that restored), in ms. */
  readonly latestRtoMs?: number;
  /** Median RTO of the drills before it (up to `window`), the baseline the newest is compared with. */
  readonly previousMedianMs?: number;
  /** `up` when the newest RTO is over 20 % above the baseline, `down` when over 20 % below, else `flat`. */
  readonly direction?: 'up' | 'down' | 'flat';
  readonly passed: number;
  readonly failed: number;
}

/**
 * The drill runs of each job in the catalog (kind `drill`), with the RTO trend per job: the
 * newest measured RTO against the median of the `window` before it, so one slow drill stands out
 * without a noisy run flipping the arrow back and forth.
 */
export async function drillTrends(catalog: Catalog, options: { readonly job?: string; readonly window?: number; readonly signal?: AbortSignal } = {}): Promise<DrillTrend[]> {
  const io: CatalogCallOptions = options.signal ? { signal: options.signal } : {};
  const runs = await catalog.list({ ...(options.job ? { job: options.job } : {}), kind: 'drill' }, io);
  const byJob = new Map<string, RunRecord[]>();
  for (const run of runs) byJob.set(run.job, [...(byJob.get(run.job) ?? []), run]);
  return [...byJob].sort(([a], [b]) => a.localeCompare(b)).map(([job, drills]) => trendOf(job, drills, options.window ?? 10));
}

function trendOf(job: string, drills: RunRecord[], window: number): DrillTrend {
  const measured = drills.filter((run) => run.drill?.phasesMs.restore !== undefined).map((run) => run.drill!.rtoMs);
  const [latest, ...earlier] = measured;
  const previous = median(earlier.slice(0, window));
  const direction = latest === undefined || previous === undefined ? undefined : latest > previous * 1.2 ? 'up' : latest < previous * 0.8 ? 'down' : 'flat';
  return {
    job,
    drills,
    ...(latest === undefined ? {} : { latestRtoMs: latest }),
    ...(previous === undefined ? {} : { previousMedianMs: previous }),
    ...(direction ? { direction } : {}),
    passed: drills.filter((run) => run.status === 'succeeded').length,
    failed: drills.filter((run) => run.status === 'failed').length,
  };
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}
