// Packages the GCP functions for Terraform: dist/functions-gcp/ holds index.mjs (functions/gcp/index.ts
// bundled with esbuild: one minified ESM file for the four entry points) and a package.json, and
// Terraform zips the folder as the functions' source. Cloud Functions (gen2) runs `npm install` on
// it, which installs functions-framework, then starts it with the function's entry point.
//
// - Target node20: the bundle runs on the nodejs20 and nodejs22 runtimes (the module should pick
//   nodejs22; node20 is the oldest it may use, and what this machine tests on).
// - @google-cloud/functions-framework stays external and is a dependency of the package: the
//   runtime starts its own copy, and the handlers must register with that copy's registry, not a
//   bundled one.
// - Everything else is bundled (the Google SDKs the functions use, at the versions tested here).
//   The AWS and Azure SDKs are external only because shared notifier and secret code names them in
//   lazy `import()`s a GCP function never reaches (the SNS notifier is built only with a topic ARN);
//   the bundle is checked below to hold no static import of them, so a GCP cold start never asks
//   for a package that is not installed.
// - The banner gives the ESM bundle `require` and `__dirname`: the bundled Google SDKs are CommonJS
//   and gRPC reads `__dirname`.
//
// Usage: node scripts/package-gcp-functions.mjs [--outdir <dir>]   (prints the sizes)
import { build } from 'esbuild';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const outdirFlag = process.argv.indexOf('--outdir');
const outdir = outdirFlag > 0 ? process.argv[outdirFlag + 1] : join(repo, 'dist', 'functions-gcp');

const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'));
const framework = JSON.parse(await readFile(join(repo, 'node_modules', '@google-cloud', 'functions-framework', 'package.json'), 'utf8'));

const NEVER_LOADED = ['@aws-sdk/*', '@smithy/*', '@azure/*', '@aws-lambda-powertools/*', '@middy/*'];

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
const result = await build({
  entryPoints: [join(repo, 'functions', 'gcp', 'index.ts')],
  outfile: join(outdir, 'index.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  // No source map: it would be four times the bundle in every upload; errors reach the logs as one line anyway.
  sourcemap: false,
  metafile: true,
  external: ['@google-cloud/functions-framework', ...NEVER_LOADED],
  define: { __VAULTRA_VERSION__: JSON.stringify(pkg.version) },
  banner: { js: "import { createRequire as __vaultraCreateRequire } from 'node:module'; const require = __vaultraCreateRequire(import.meta.url); var __dirname = import.meta.dirname;" },
  logLevel: 'warning',
});

// An external package imported statically would be required at every cold start.
const output = result.metafile.outputs[Object.keys(result.metafile.outputs).find((name) => name.endsWith('index.mjs'))];
const statics = output.imports.filter((entry) => entry.external && entry.kind === 'import-statement').map((entry) => entry.path);
const unexpected = statics.filter((path) => path !== '@google-cloud/functions-framework' && !path.startsWith('node:') && !/^[a-z_]+$/.test(path));
if (unexpected.length > 0) {
  console.error(`package-gcp-functions: the bundle imports ${unexpected.join(', ')} at load time, which the package does not install`);
  process.exit(1);
}

await writeFile(
  join(outdir, 'package.json'),
  `${JSON.stringify(
    {
      name: 'vaultra-functions-gcp',
      version: pkg.version,
      private: true,
      description: 'Vaultra GCP functions (scheduledBackup, reconcile, watchdog, api), bundled by scripts/package-gcp-functions.mjs',
      type: 'module',
      main: 'index.mjs',
      engines: { node: '>=20' },
      dependencies: { '@google-cloud/functions-framework': framework.version },
    },
    null,
    2,
  )}\n`,
);

const size = (await stat(join(outdir, 'index.mjs'))).size;
console.log(`package-gcp-functions: ${join(outdir, 'index.mjs')} ${(size / 1024 / 1024).toFixed(2)} MiB (${size} bytes), functions-framework ${framework.version}`);
