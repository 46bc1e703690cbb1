/**
 * Running the built `vaultra` CLI (`dist/vaultra.mjs`, produced by `npm run build`) the way
 * a user would, plus the psql helpers tests use to look at the result.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { run, type RunResult } from './exec.js';

export { databaseUrl, pgEnv, psqlQuery, psqlRows } from './psql.js';

/** Repository root (no trailing slash). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** The built CLI entry point. */
export const vaultraBin = join(repoRoot, 'dist', 'vaultra.mjs');

export interface RunVaultraOptions {
  /** Added to (and overriding) the current environment. `undefined` values remove a variable. */
  readonly env?: NodeJS.ProcessEnv;
  /** @default repoRoot */
  readonly cwd?: string;
  /** Written to stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** @default 120_000 */
  readonly timeoutMs?: number;
}

export type VaultraResult = RunResult;

/**
 * `node dist/vaultra.mjs ...args`; never rejects on a non-zero exit (assert on `code`).
 * Secrets belong in `env`, never in `args`.
 *
 * @example
 * const { code, stdout, stderr } = await runVaultra(['backup', '--job', 'local'], { env: pgEnv(pg, db) });
 * expect(code, stderr).toBe(0);
 */
export function runVaultra(args: readonly string[], options: RunVaultraOptions = {}): Promise<VaultraResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return run(process.execPath, [vaultraBin, ...args], {
    env,
    cwd: options.cwd ?? repoRoot,
    input: options.input,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
}

/**
 * `stderr` less what a command may print besides its outcome: the notices of a first run in a
 * fresh workspace (`vaultra: created identity …`, `vaultra: created signing key …`) and storage
 * retry lines (`…; attempt 2 of 6, retrying in 0.4 s`). What a test of one command's error line
 * compares exactly.
 */
export function outcomeLines(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^vaultra: created (identity|signing key) /.test(line) && !/; attempt \d+ of \d+, retrying in [\d.]+ s$/.test(line))
    .join('\n');
}
