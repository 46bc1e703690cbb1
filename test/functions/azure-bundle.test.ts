/**
 * scripts/package-azure-functions.mjs: the function app it writes (host.json, package.json,
 * index.mjs), loaded by Node from a folder with no node_modules, the way the Functions Node
 * worker loads it: the worker provides `@azure/functions-core` (here a recorder installed the
 * same way, by hooking `require`), and the app registers its four functions through it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/exec.js';
import { repoRoot } from '../support/cli.js';

/** Stands in for the worker's `@azure/functions-core`: records what the app registers. */
const FAKE_CORE = `
const Module = require('node:module');
const original = Module.prototype.require;
const registered = [];
const core = {
  version: '3.10.1',
  hostVersion: '4.1000.0',
  setProgrammingModel(model) { registered.push({ model: model.name, version: model.version }); },
  registerFunction(metadata, callback) { registered.push({ name: metadata.name, bindings: Object.values(metadata.bindings), callback: typeof callback }); return { dispose() {} }; },
  registerHook() { return { dispose() {} }; },
  log() {},
};
Module.prototype.require = function (id) { return id === '@azure/functions-core' ? core : original.apply(this, arguments); };
process.on('exit', () => process.stdout.write('REGISTERED ' + JSON.stringify(registered) + '\\n'));
`;

interface Registration {
  readonly model?: string;
  readonly version?: string;
  readonly name?: string;
  readonly bindings?: { type: string; direction: string; schedule?: string; useMonitor?: boolean; authLevel?: string; methods?: string[] }[];
  readonly callback?: string;
}

describe('package-azure-functions.mjs', () => {
  let dir = '';
  let packaged: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vaultra-azfn-'));
    packaged = await run(process.execPath, [join(repoRoot, 'scripts/package-azure-functions.mjs'), '--outdir', join(dir, 'app')], { cwd: repoRoot, timeoutMs: 120_000 });
  }, 180_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes a Node function app: host.json with the extension bundle, package.json with main and @azure/functions, one ESM bundle', () => {
    expect(packaged.code, packaged.stderr).toBe(0);
    expect(packaged.stdout).toMatch(/index\.mjs: \d+\.\d\d MiB \(\d+ bytes\); largest parts: /);
    expect(JSON.parse(readFileSync(join(dir, 'app', 'host.json'), 'utf8'))).toMatchObject({ version: '2.0', extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' } });
    const installed = (JSON.parse(readFileSync(join(repoRoot, 'node_modules/@azure/functions/package.json'), 'utf8')) as { version: string }).version;
    expect(JSON.parse(readFileSync(join(dir, 'app', 'package.json'), 'utf8'))).toMatchObject({ main: 'index.mjs', type: 'module', dependencies: { '@azure/functions': installed } });
  });

  it('holds no AWS or GCP SDK: the Azure functions resolve env:// and secret+azure:// only', () => {
    const bundle = readFileSync(join(dir, 'app', 'index.mjs'), 'utf8');
    expect(bundle).not.toMatch(/DynamoDBClient|ECSClient|SecretsManagerClient|@google-cloud\/|firestore/i);
    // The SNS notifier's lazy import stays a lazy import of a package the app does not have (and never reaches: no topic on Azure).
    expect(bundle.match(/import\("@aws-sdk\/[a-z-]+"\)/g) ?? []).toEqual(['import("@aws-sdk/client-sns")']);
  });

  it('loads without node_modules and registers dispatch, reconcile, watchdog (NCRONTAB timers) and api (POST, function key) with the worker', async () => {
    writeFileSync(join(dir, 'fake-core.cjs'), FAKE_CORE);
    const loaded = await run(process.execPath, ['--require', join(dir, 'fake-core.cjs'), '--input-type=module', '-e', `await import(${JSON.stringify(join(dir, 'app', 'index.mjs'))});`], { cwd: dir, timeoutMs: 60_000 });
    expect(loaded.code, loaded.stderr).toBe(0);
    const registered = JSON.parse(/^REGISTERED (.*)$/m.exec(loaded.stdout)![1]!) as Registration[];
    expect(registered[0]).toMatchObject({ model: '@azure/functions' });
    const functions = registered.slice(1);
    expect(functions.map((fn) => fn.name)).toEqual(['dispatch', 'reconcile', 'watchdog', 'api']);
    expect(functions.every((fn) => fn.callback === 'function')).toBe(true);
    const trigger = (name: string) => functions.find((fn) => fn.name === name)!.bindings!.find((binding) => binding.direction === 'in')!;
    expect(trigger('dispatch')).toMatchObject({ type: 'timerTrigger', schedule: '0 */5 * * * *', useMonitor: true });
    expect(trigger('reconcile')).toMatchObject({ type: 'timerTrigger', schedule: '0 */2 * * * *' });
    expect(trigger('watchdog')).toMatchObject({ type: 'timerTrigger', schedule: '0 0 * * * *' });
    expect(trigger('api')).toMatchObject({ type: 'httpTrigger', authLevel: 'function', methods: ['POST'] });
  });
});
