/**
 * Peak memory of a StorageBackend's streamed `put` and `get`, measured in a fresh Node process
 * per object size (storage-memory-probe-main.ts, bundled by esbuild), so one adapter's figures
 * are not mixed with the test runner's own memory.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect } from 'vitest';
import { repoRoot } from './cli.js';
import { run } from './exec.js';

export interface StorageMemoryFigures {
  readonly baselineMiB: number;
  readonly uploadPeakMiB: number;
  readonly readPeakMiB: number;
  readonly uploadMiBps: number;
  readonly readMiBps: number;
}

/** Bundles the probe into `dir`; returns the script to pass to {@link measureStorageMemory}. */
export async function buildStorageMemoryProbe(dir: string): Promise<string> {
  const script = join(dir, 'storage-memory-probe.mjs');
  await build({
    entryPoints: [join(repoRoot, 'test', 'support', 'storage-memory-probe-main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile: script,
    // As scripts/build.mjs: bundled CommonJS needs require(), and some SDK code reads __dirname.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url); var __dirname = import.meta.dirname;" },
    logLevel: 'error',
  });
  return script;
}

/** Puts and gets `sizeMiB` of generated data at `url` in a fresh process; `env` reaches the adapter (endpoints, credentials). */
export async function measureStorageMemory(script: string, url: string, sizeMiB: number, env: Readonly<Record<string, string>>): Promise<StorageMemoryFigures> {
  const result = await run(process.execPath, [script, url, String(sizeMiB)], { env: { ...process.env, ...env }, timeoutMs: 300_000 });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StorageMemoryFigures;
}
