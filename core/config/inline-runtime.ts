import * as z from 'zod';
import type { EngineId } from '../domain/engine-vocabulary.js';
import { formatDurationMs } from './durations.js';

/**
 * Inline runs (docs/inline-runs.md): a small job's backup runs inside a Lambda function with the
 * tools layer (`layers/`), no Fargate start-up and no NAT. Lambda stops every invocation at 15
 * minutes, so an inline job must fit well inside that, and fails over to Fargate when its last
 * backup took more than its share of it.
 */

/** Lambda's hard limit on one invocation. */
export const LAMBDA_MAX_INVOCATION_MS = 15 * 60_000;

/**
 * Kept free of the runner: the function records the run, releases the lock, alerts and applies
 * retention after the runner exits, and must not be cut off doing it.
 */
export const INLINE_FINISH_RESERVE_MS = 60_000;

/** The longest timeout an inline job may have: the invocation less the reserve. */
export const INLINE_MAX_TIMEOUT_MS = LAMBDA_MAX_INVOCATION_MS - INLINE_FINISH_RESERVE_MS;

/** @default share of an inline job: its last backup may have taken half of Lambda's 15 minutes. */
export const DEFAULT_INLINE_MAX_SHARE = 0.5;

export const inlineSettingsSchema = z.strictObject({
  /**
   * The share of Lambda's 15 minutes the job's last successful backup may have taken: above it,
   * the next run goes to Fargate. Leaves room for the database to grow between two runs.
   */
  maxShare: z.number().gt(0).max(1).default(DEFAULT_INLINE_MAX_SHARE),
});

/** The engines whose tools the layer carries; a folder or a Docker volume is not in a Lambda's reach. */
const INLINE_ENGINES: ReadonlySet<EngineId> = new Set(['postgres', 'mysql', 'mongodb', 'sqlite']);

/** What the inline checks read of a job (a `JobConfig` or a `ScheduledJob`). */
export interface InlineJobFields {
  readonly runtime: { readonly platform?: 'fargate' | 'inline' | undefined };
  readonly timeout: number;
  readonly inline?: { readonly maxShare: number } | undefined;
}

export function runsInline(job: Pick<InlineJobFields, 'runtime'>): boolean {
  return job.runtime.platform === 'inline';
}

/** The job's last backup may have taken this long and the next still runs inline. */
export function inlineDurationBudgetMs(job: Pick<InlineJobFields, 'inline'>): number {
  return (job.inline?.maxShare ?? DEFAULT_INLINE_MAX_SHARE) * LAMBDA_MAX_INVOCATION_MS;
}

/** One reason an inline job cannot run inline, at its field (`runtime`, `timeout`, `source`). */
export interface InlineProblem {
  readonly field: 'runtime' | 'timeout' | 'source';
  readonly message: string;
}

/**
 * Why a job that asks for `runtime: inline` cannot have it; empty when it can (or does not ask).
 * `engine` is the source's engine when the config names a URL; a secret reference names none, and
 * then the runner's own missing-tool error says it at run time.
 */
export function inlineJobProblems(job: InlineJobFields, cloud: string | undefined, engine?: EngineId): InlineProblem[] {
  if (!runsInline(job)) return [];
  const problems: InlineProblem[] = [];
  if (cloud !== 'aws') {
    problems.push({ field: 'runtime', message: `inline runs happen inside an AWS Lambda function with the tools layer, and this is a ${cloud ?? 'non-AWS'} environment: remove runtime: inline` });
  }
  if (job.timeout > INLINE_MAX_TIMEOUT_MS) {
    problems.push({
      field: 'timeout',
      message: `an inline run must end within Lambda's 15 minutes, ${formatDurationMs(INLINE_FINISH_RESERVE_MS)} of which finish the run: set timeout: ${formatDurationMs(INLINE_MAX_TIMEOUT_MS)} or less (got ${formatDurationMs(job.timeout)}), or run the job on Fargate`,
    });
  }
  if (engine !== undefined && !INLINE_ENGINES.has(engine)) {
    problems.push({ field: 'source', message: `a ${engine} source cannot run inline: the Lambda layer carries the tools of ${[...INLINE_ENGINES].join(', ')}; remove runtime: inline` });
  }
  return problems;
}
