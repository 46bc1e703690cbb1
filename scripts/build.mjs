// Bundles the CLI into one ESM file (dist/vaultra.mjs) with esbuild: fast start, no TS at run time.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: { vaultra: 'runner/main.ts', 'backup-bench': 'bench/backup-bench.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  define: { __VAULTRA_VERSION__: JSON.stringify(pkg.version) },
  // Bundled CommonJS dependencies (cli-progress) call require(): give them one.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
