import { spawn } from 'node:child_process';
import { runVerify, type VerifyReport } from '../../core/usecases/verify.js';
import { runRestore, type RestoreReport } from '../../core/usecases/restore.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';
import { decryptorsFor } from '../keys.js';
import { existingDedupKey } from '../dedup-key.js';
import { trustPolicyFor } from '../signing-keys.js';
import type { ConsoleSources } from './console-data.js';

/**
 * The console's actions, wired exactly as `vaultra verify`, `vaultra restore` and `vaultra run`
 * wire them: the same use cases with the same default keys and trust (your identity, your
 * signing key, $VAULTRA_TRUST). Each takes the signal its screen's cancel aborts.
 */

/** Bytes read so far: what progress shows, beside the total it reads towards. */
export type OnBytes = (bytes: number) => void;

async function readers() {
  const { decryptor, randomAccess } = await decryptorsFor({});
  const dedupKey = await existingDedupKey(undefined);
  return { decryptor, randomAccess, trust: await trustPolicyFor({}), ...backupAdapters, ...(dedupKey ? { dedupKey } : {}) };
}

/** `vaultra verify <runId> --job <job>`. */
export async function verifyRun(sources: ConsoleSources, run: { job: string; runId: string }, onBytes: OnBytes, signal: AbortSignal): Promise<VerifyReport> {
  return runVerify({ storage: sources.storage, catalog: sources.catalog, ...(await readers()) }, { ref: run.runId, job: run.job }, { signal, onProgress: onBytes });
}

export interface RestoreChoice {
  readonly job: string;
  readonly runId: string;
  readonly target: string;
  /** What to restore, empty: everything. Tables (collections) of a database, paths of a directory backup. */
  readonly tables: readonly string[];
  /** How `tables` are named to the restore: `--paths` for a directory backup, `--tables` otherwise. */
  readonly selectBy: 'tables' | 'paths';
  readonly dryRun: boolean;
  /** Replace what the target holds: only after the user typed the target's name. */
  readonly force: boolean;
}

/** `vaultra restore <runId> --job <job> --target <url> [--tables …|--paths …] [--force|--dry-run]`. */
export async function restoreRun(sources: ConsoleSources, choice: RestoreChoice, onBytes: OnBytes, signal: AbortSignal): Promise<RestoreReport> {
  return runRestore(
    { storage: sources.storage, catalog: sources.catalog, ...(await readers()) },
    {
      ref: choice.runId,
      job: choice.job,
      target: choice.target,
      ...(choice.tables.length > 0 ? { [choice.selectBy]: choice.tables } : {}),
      force: choice.force,
      dryRun: choice.dryRun,
      signal,
      onProgress: onBytes,
    },
  );
}

/** What `vaultra run <job> --json` printed about the backup it made, or its error line when it made none. */
export type BackupOutcome = { readonly status: 'succeeded'; readonly runId: string; readonly bytesStored?: number } | { readonly status: 'failed'; readonly error: string; readonly exitCode: number | null };

/**
 * `vaultra run <job>`: this very program started again on the job, so that the backup is the one
 * the CLI makes (spec built from the config, repairs, notifications) and its output stays out of
 * the console's screen. Aborting the signal sends it SIGINT, as Ctrl-C does: the run tears down,
 * removes what it wrote and is recorded as interrupted.
 */
export function backupNow(sources: ConsoleSources, job: string, signal: AbortSignal): Promise<BackupOutcome> {
  const args = [...process.execArgv, process.argv[1]!, 'run', job, '--config', sources.configPath, '--env', sources.environment.name, '--json', '--no-progress'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], killSignal: 'SIGINT', signal });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(error));
    child.on('close', (code) => {
      const errorLine = stderr.trim().split('\n').filter((line) => line.startsWith('vaultra: error:')).pop();
      if (code !== 0) return resolve({ status: 'failed', error: errorLine?.replace(/^vaultra: error: /, '') ?? `vaultra run ${job} exited ${code}`, exitCode: code });
      const { runId, bytesStored } = JSON.parse(stdout) as { runId: string; bytesStored?: number };
      resolve({ status: 'succeeded', runId, ...(bytesStored === undefined ? {} : { bytesStored }) });
    });
  });
}
