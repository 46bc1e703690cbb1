/**
 * What the benchmark driver needs from each engine: a throwaway server (or folder) to work in,
 * a generated data set of about the requested size, the shell pipeline a user would otherwise
 * write, and the URLs Vaultra is given. The driver (bench/backup-bench.ts) does the rest —
 * alternating rounds, measuring, checking the restores, ratios and verdicts — the same way
 * for every engine.
 */

export type EngineName = 'postgres' | 'mysql' | 'directory' | 'mongodb';

export interface BenchEngine {
  readonly name: EngineName;
  /** For the tables: `PostgreSQL`, `MariaDB`… */
  readonly title: string;
  /** `--size-mb` when the command line gives none. */
  readonly defaultSizeMb: number;
  /** What "size" means for this engine (the figure the generator fills up to). */
  readonly sizeMeaning: string;
  /** Must be on PATH (zstd and bash are checked by the driver). */
  readonly tools: readonly string[];
  /** Vaultra's wall time over the shell pipeline's it must stay within (issue 13's targets). */
  readonly targets: RatioTargets;
  /** Starts the server (if any) in `work`, a private folder the caller removes; `sizesMb`: the data sets to come. */
  start(work: string, plan: { readonly sizesMb: readonly number[] }): Promise<EngineHost>;
}

/**
 * Ratios vaultra/shell (median wall time) a run must stay within: at the large size, and at the
 * small size where the fixed cost per run (start-up, describe, manifest) weighs more.
 */
export interface RatioTargets {
  readonly backup: number;
  readonly restore: number;
  /** Default: no check at the small size. */
  readonly smallBackup?: number;
  readonly smallRestore?: number;
}

/** A generated data set, and what a restore of it must bring back. */
export interface Dataset {
  /** Database (or folder) name: `bench_512mb`. */
  readonly name: string;
  /** Its size in the engine's own measure (see `sizeMeaning`). */
  readonly bytes: number;
  /** Row counts, file counts, digests…: compared as JSON with what each restore holds. */
  readonly fingerprint: Readonly<Record<string, number | string>>;
}

export interface EngineHost {
  readonly serverVersion: string;
  /** Version lines of the tools involved, for the report. */
  readonly versions: Readonly<Record<string, string>>;
  /** The four pipelines in a few words, for the printed header. */
  readonly pipelines: { readonly backup: string; readonly vaultraBackup: string; readonly restore: string; readonly vaultraRestore: string };
  /** Environment of every timed command (credentials for the shell tools live in files, not here). */
  env(): NodeJS.ProcessEnv;
  /** Creates `name` and fills it to about `targetMb` MB. */
  generate(name: string, targetMb: number): Promise<Dataset>;
  /** Vaultra's source URL for the data set. */
  sourceUrl(dataset: Dataset): string;
  /** Vaultra's restore target URL for a restore called `target` (an identifier: `restore_shell_…`). */
  targetUrl(target: string): string;
  /** bash text: dump `dataset` and compress it into `file` with `zstd -3 -T0`. */
  shellBackup(dataset: Dataset, file: string): string;
  /** bash text: create `target` and restore `file` (written by shellBackup) into it. */
  shellRestore(dataset: Dataset, file: string, target: string): string;
  /** The fingerprint of a restored `target`, to compare with the data set's. */
  fingerprint(target: string): Promise<Record<string, number | string>>;
  /** Removes a restored target (or a data set, with `dataset.name`). */
  drop(target: string): Promise<void>;
  /** Between timed commands: no dirty pages or background work of one bleed into the next. */
  settle(): Promise<void>;
  /** `--keep`: leave the server running after the benchmark exits; returns where things are and how to stop it. */
  keep(): string;
  /** Stops the server; idempotent. */
  stop(): Promise<void>;
}
