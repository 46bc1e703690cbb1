/**
 * The inline functions' asset as `cdk deploy` builds it (infra/aws/inline-functions.ts), without
 * the CDK: each handler bundled with the very options `functionBundling` gives every function
 * (ESM for Node 22, the environment's config compiled in, the banner), and the runner CLI beside
 * them by scripts/build-inline-runner.mjs, the script the CDK's afterBundling hook runs. Plus a
 * driver that calls a handler as the Lambda runtime would, for running the asset under a foreign
 * root (test/support/layer-root.ts) with the layer at /opt and the asset at /var/task.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { functionBundling } from '../../infra/aws/function-bundling.js';
import { AWS_FUNCTION_ENTRIES, INLINE_RUNNER_PATH } from '../../core/platform/aws-deployment.js';
import { repoRoot } from './cli.js';
import { runOk } from './exec.js';

/** The handler files in the asset, by function. */
export const INLINE_HANDLERS = { backup: 'inline-backup.mjs', restore: 'inline-restore.mjs' } as const;

/** The driver in the asset: `node invoke.mjs <handler file> <event JSON>` prints `INVOCATION-RESULT <json>`. */
export const INVOKE_DRIVER = 'invoke.mjs';
const RESULT_MARK = 'INVOCATION-RESULT ';

export async function bundleInlineFunctions(outDir: string, configJson: string): Promise<void> {
  const options = functionBundling(configJson);
  await build({
    entryPoints: { [INLINE_HANDLERS.backup.replace('.mjs', '')]: join(repoRoot, AWS_FUNCTION_ENTRIES.inlineBackup), [INLINE_HANDLERS.restore.replace('.mjs', '')]: join(repoRoot, AWS_FUNCTION_ENTRIES.inlineRestore) },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: options.target,
    minify: options.minify,
    mainFields: options.mainFields,
    external: options.externalModules,
    banner: { js: options.banner ?? '' },
    define: options.define,
    logLevel: 'warning',
  });
  await runOk(process.execPath, [join(repoRoot, 'scripts/build-inline-runner.mjs'), join(outDir, INLINE_RUNNER_PATH.replace(/\/[^/]+$/, ''))], { timeoutMs: 120_000 });
  await writeFile(
    join(outDir, INVOKE_DRIVER),
    [
      'const [file, event] = process.argv.slice(2);',
      "const { handler } = await import(new URL(file, import.meta.url).href);",
      'const started = Date.now();',
      // What the handler reads of Lambda's context: the time left of a fresh 15-minute invocation.
      "const context = { functionName: 'vaultra-inline', awsRequestId: 'invocation-1', getRemainingTimeInMillis: () => 900000 - (Date.now() - started) };",
      'const result = await handler(JSON.parse(event), context);',
      `process.stdout.write('\\n${RESULT_MARK}' + JSON.stringify(result) + '\\n');`,
      // The SDK's kept-alive sockets would hold the process: Lambda freezes it instead.
      'process.exit(0);',
    ].join('\n'),
  );
}

/** The handler's answer in the driver's output. */
export function invocationResult(stdout: string): Record<string, unknown> {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith(RESULT_MARK));
  if (!line) throw new Error(`the function printed no result; its output ends:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice(RESULT_MARK.length)) as Record<string, unknown>;
}
