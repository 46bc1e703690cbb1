/**
 * A run whose execution has ended, as the platform saw it end: what the settling side reconciles
 * with the runner's own record and the manifest (the shape of finish-run's `TaskReport`).
 */
export interface EndedRun {
  readonly job: string;
  readonly runId: string;
  /** The execution that ran it: the settled record names it, and a repeated hand-off of the same execution changes nothing. */
  readonly taskId: string;
  /** The runner's exit code; `undefined` when it never ran or was killed. */
  readonly exitCode: number | undefined;
  readonly stoppedReason?: string;
  readonly stoppedAt?: string;
}

/**
 * Hands a run that has ended to whatever settles it (manifest check, lock release, alerts,
 * retention) under an identity of its own: the side that ran the backup is write-only and must
 * not hold the delete rights retention needs (docs/inline-runs.md).
 *
 * Contract: resolves once the settler has ACCEPTED the run (queued it), not once it is settled.
 * May be called more than once for the same run: settling is idempotent. Rejects with a
 * `LaunchFailedError` when the hand-off could not be delivered after the adapter's retries.
 */
export interface RunSettler {
  handOff(run: EndedRun, options?: { readonly signal?: AbortSignal }): Promise<void>;
}
