// Bundles the runner CLI for the inline functions' asset (docs/inline-runs.md): the same entry as
// dist/vaultra.mjs (scripts/build.mjs), for the Lambda runtime's Node 22, into <outdir>, with the
// one native addon it loads (zstd-napi, chunk codecs) copied beside it. The CDK runs it after
// bundling each inline function (infra/aws/inline-functions.ts):
//
//   node scripts/build-inline-runner.mjs <function asset dir>/runner
//
// The addon is the build machine's (linux x86_64, N-API, so any Node version): the same
// architecture as the tools layer, which is why the inline functions run on x86_64.
import { build } from 'esbuild';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

const outdir = process.argv[2];
if (!outdir) {
  console.error('usage: node scripts/build-inline-runner.mjs <outdir>');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { vaultra: path.join(root, 'runner/main.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // As for the CLI: cloud SDKs in chunks loaded on first use, so a run parses only its own cloud's.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
  define: { __VAULTRA_VERSION__: JSON.stringify(pkg.version) },
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);\nvar __dirname = import.meta.dirname;" },
  external: ['zstd-napi', 'react-devtools-core'],
  logLevel: 'warning',
});

// Only what loading the addon reads: its entry, its manifest and the compiled binding.
const addon = path.join(root, 'node_modules/zstd-napi');
const target = path.join(outdir, 'node_modules/zstd-napi');
await mkdir(path.join(target, 'build/Release'), { recursive: true });
for (const file of ['package.json', 'binding.js', 'LICENSE', 'dist']) await cp(path.join(addon, file), path.join(target, file), { recursive: true });
await cp(path.join(addon, 'build/Release/binding.node'), path.join(target, 'build/Release/binding.node'));
