// Bundles the CLI into one ESM file (dist/vaultra.mjs) with esbuild: fast start, no TS at run time.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';

import { rm } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

// Chunks carry content hashes: clear old ones so dist/ holds exactly one build.
await rm(new URL('../dist/chunks', import.meta.url), { recursive: true, force: true });

await build({
  entryPoints: { vaultra: 'runner/main.ts', 'backup-bench': 'bench/backup-bench.ts', 'chunked-bench': 'bench/chunked-bench.ts', 's3-upload-rss': 'bench/s3-upload-rss.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Cloud SDKs are imported on first use (the storage, catalog, key and secret registries):
  // splitting keeps each in its own chunk, so a local backup never parses 15 MB of SDKs.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  define: { __VAULTRA_VERSION__: JSON.stringify(pkg.version) },
  // Bundled CommonJS dependencies call require() (cli-progress) and read __dirname (gRPC, under
  // the Google SDKs): give every ESM chunk both. `var`, because some bundled ESM packages declare
  // their own `var __dirname` (a redeclared var is legal; a redeclared const is not).
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);\nvar __dirname = import.meta.dirname;" },
  // A native addon (chunk codecs): its loader require()s build/<config>/binding.node at run time,
  // which a bundle cannot hold. Resolved from node_modules (it is a dependency).
  // ink loads react-devtools-core only when DEV=true (a development aid, not a dependency): left out.
  external: ['zstd-napi', 'react-devtools-core'],
  logLevel: 'warning',
});
