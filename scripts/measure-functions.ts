/**
 * `npm run measure:functions`: bundles every AWS function exactly as the stack does
 * (infra/aws/function-bundling.ts, esbuild) with the example environment's config, then reports
 * each bundle's size and its cold-start import time: a fresh `node` process importing the bundle,
 * median of several, with the variables Lambda sets so Powertools behaves as it does there.
 * Targets (issue 5): under 1 MB and under 300 ms per function.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { bundledEnvironmentJson } from '../core/config/load-config.js';
import { AWS_FUNCTION_ENTRIES } from '../core/platform/aws-deployment.js';
import { functionBundling } from '../infra/aws/function-bundling.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const outRoot = join('dist', 'functions');
const bundling = functionBundling(bundledEnvironmentJson(readFileSync('vaultra.config.yaml', 'utf8'), 'example'));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const rows: { name: string; bytes: number; importMs: number; rssMiB: number }[] = [];
for (const [name, entry] of Object.entries(AWS_FUNCTION_ENTRIES)) {
  const outdir = join(outRoot, name);
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, 'index.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: bundling.target,
    minify: bundling.minify,
    sourcemap: bundling.sourceMap,
    mainFields: bundling.mainFields,
    external: bundling.externalModules!,
    banner: { js: bundling.banner! },
    define: bundling.define,
    logLevel: 'warning',
  });
  const probe = `const t0 = performance.now(); await import(${JSON.stringify(join(process.cwd(), outfile))}); process.stdout.write(JSON.stringify({ ms: performance.now() - t0, rss: process.memoryUsage().rss }));`;
  const samples = Array.from({ length: ROUNDS }, () =>
    JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
        cwd: outdir,
        env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: `vaultra-${name}`, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' },
        encoding: 'utf8',
      }),
    ) as { ms: number; rss: number },
  );
  rows.push({ name, bytes: statSync(outfile).size, importMs: median(samples.map((s) => s.ms)), rssMiB: median(samples.map((s) => s.rss)) / 2 ** 20 });
}

const json = process.argv.includes('--json');
if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
else {
  process.stdout.write(`function           bundle     import (median of ${ROUNDS})   RSS after import\n`);
  for (const row of rows) {
    const size = `${(row.bytes / 1024).toFixed(0)} KiB`;
    const verdict = row.bytes < 1_000_000 && row.importMs < 300 ? 'ok' : 'OVER TARGET';
    process.stdout.write(`${row.name.padEnd(18)} ${size.padStart(9)}  ${`${row.importMs.toFixed(0)} ms`.padStart(10)}                ${`${row.rssMiB.toFixed(0)} MiB`.padStart(8)}   ${verdict}\n`);
  }
}
if (rows.some((row) => row.bytes >= 1_000_000 || row.importMs >= 300)) process.exitCode = 1;
