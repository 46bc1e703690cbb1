// Packages the Azure functions (functions/azure/index.ts) as a Node function app for the v4
// programming model: dist/functions-azure/{host.json, package.json, index.mjs[.map]}, ready to be
// zipped and published (infra/azure publishes it with OneDeploy). Prints the bundle's size.
//
//   node scripts/package-azure-functions.mjs [--outdir <dir>]
//
// - One minified ESM file. @azure/functions is bundled with the rest (its CommonJS exports need
//   esbuild's interop under ESM) and also listed as a dependency, as the Functions host expects;
//   `@azure/functions-core` stays external: the Node worker provides it at run time.
// - The AWS and GCP SDKs are never needed here: the Azure functions resolve env:// and
//   secret+azure:// only, and build no SNS notifier. They are marked external so a lazy import()
//   of them somewhere in core/ cannot drag them into the bundle.
// - keepNames: errors are told apart by their class names (`VaultraError.name`).
import { build } from 'esbuild';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdirArg = process.argv.indexOf('--outdir');
const outdir = resolve(root, outdirArg >= 0 ? process.argv[outdirArg + 1] : 'dist/functions-azure');

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const functionsVersion = JSON.parse(await readFile(join(root, 'node_modules/@azure/functions/package.json'), 'utf8')).version;

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ['functions/azure/index.ts'],
  outfile: join(outdir, 'index.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  external: ['@azure/functions-core', '@aws-sdk/*', '@google-cloud/*'],
  define: { __VAULTRA_VERSION__: JSON.stringify(pkg.version) },
  // Bundled CommonJS packages call require() and read __dirname: give the ESM file both.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);\nvar __dirname = import.meta.dirname;" },
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const hostJson = {
  version: '2.0',
  extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
  // A dispatcher tick and a reconcile pass take seconds; the api function starts a job and returns.
  functionTimeout: '00:10:00',
  logging: { logLevel: { default: 'Information' }, applicationInsights: { samplingSettings: { isEnabled: true, excludedTypes: 'Request;Exception' } } },
};
const appPackage = {
  name: 'vaultra-functions-azure',
  version: pkg.version,
  private: true,
  description: 'Vaultra on Azure Functions: dispatcher, reconcile and watchdog timers, on-demand api',
  type: 'module',
  main: 'index.mjs',
  engines: { node: '>=20' },
  dependencies: { '@azure/functions': functionsVersion },
};
await writeFile(join(outdir, 'host.json'), `${JSON.stringify(hostJson, null, 2)}\n`);
await writeFile(join(outdir, 'package.json'), `${JSON.stringify(appPackage, null, 2)}\n`);

const bytes = (await stat(join(outdir, 'index.mjs'))).size;
const packages = new Map();
for (const [path, input] of Object.entries(result.metafile.outputs[Object.keys(result.metafile.outputs).find((name) => name.endsWith('index.mjs'))].inputs)) {
  const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(vaultra)';
  packages.set(name, (packages.get(name) ?? 0) + input.bytesInOutput);
}
const largest = [...packages].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, size]) => `${name} ${(size / 1024).toFixed(0)} KiB`);
console.log(`${join(outdir, 'index.mjs')}: ${(bytes / 1024 / 1024).toFixed(2)} MiB (${bytes} bytes); largest parts: ${largest.join(', ')}`);
