/**
 * `npx cdk synth -c env=example` as a user runs it on a fresh clone: the pinned CDK CLI, cdk.json's
 * app command, no AWS credentials at all, the four functions really bundled, cdk-nag and the
 * CloudFormation validation on. And the one-line refusals of a missing or wrong environment.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/synth.js';

const run = promisify(execFile);

/** The environment of a machine without AWS credentials or an instance role to fall back on. */
function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of Object.keys(env)) {
    if (/^AWS_/.test(name) || /^CDK_(CONTEXT_JSON|OUTDIR|DEFAULT_ACCOUNT|DEFAULT_REGION)$/.test(name)) delete env[name];
  }
  delete env.CDK_VALIDATION;
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    ...extra,
  };
}

async function exitOf(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: REPO_ROOT, env, timeout: 240_000, maxBuffer: 64 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function bytesUnder(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const full = path.join(dir, entry.name);
    return sum + (entry.isDirectory() ? bytesUnder(full) : statSync(full).size);
  }, 0);
}

describe('npx cdk synth -c env=example, offline', () => {
  let outdir: string;
  let result: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    outdir = mkdtempSync(path.join(tmpdir(), 'vaultra-synth-'));
    result = await exitOf('npx', ['cdk', 'synth', '-c', 'env=example', '--quiet', '--no-notices', '--output', outdir], offlineEnv());
  }, 240_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('exits 0 and writes the Vaultra-example template', () => {
    expect(result.code, result.stderr).toBe(0);
    const template = JSON.parse(readFileSync(path.join(outdir, 'Vaultra-example.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function')).toHaveLength(4);
  });

  it('leaves no finding in the validation report (cdk-nag and CloudFormation validation ran)', () => {
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { violations?: unknown[] }[] };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
  });

  it('bundles each function into one ESM file with the environment config compiled in', () => {
    const assets = JSON.parse(readFileSync(path.join(outdir, 'Vaultra-example.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string; packaging?: string } }> };
    const code = Object.values(assets.files).filter((file) => file.source.packaging === 'zip').map((file) => path.join(outdir, file.source.path));
    expect(code).toHaveLength(4);
    for (const dir of code) {
      const bundle = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith("import { createRequire as __vaultraCreateRequire } from 'module';")).toBe(true);
      expect(bundle).toContain('process.env.VAULTRA_CONFIG_JSON ??= "{\\"version\\":1,\\"environments\\":{\\"example\\":');
      expect(existsSync(path.join(dir, 'index.mjs.map'))).toBe(true);
    }
  });

  it('stages a small runner image context', () => {
    const assets = JSON.parse(readFileSync(path.join(outdir, 'Vaultra-example.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform?: string } }> };
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]!.source).toMatchObject({ dockerFile: 'runner/Dockerfile', platform: 'linux/arm64' });
    expect(bytesUnder(path.join(outdir, images[0]!.source.directory))).toBeLessThan(5 * 2 ** 20);
  });
});

/** Runs the app the way the CDK CLI does (context in CDK_CONTEXT_JSON), without the CLI around it. */
async function runApp(context: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'vaultra-synth-'));
  try {
    return await exitOf('npx', ['tsx', 'infra/aws/app.ts'], offlineEnv({ CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('choosing the environment', () => {
  it('fails in one line naming the environments there are when -c env is missing', async () => {
    const { code, stderr } = await runApp({});
    expect(code).toBe(1);
    expect(stderr.trim().split('\n').filter((line) => line.startsWith('vaultra:'))).toEqual(['vaultra: no environment chosen: pass -c env=<name> (one of example, local, gcp-example, azure-example)']);
  });

  it('refuses an environment that is not on AWS', async () => {
    const { code, stderr } = await runApp({ env: 'local' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^vaultra: environment "local" in .*vaultra\.config\.yaml is a local environment: the CDK app deploys AWS environments only/m);
  });

  it('makes cdk synth fail on an unknown environment, with the same line', async () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'vaultra-synth-'));
    const { code, stderr } = await exitOf('npx', ['cdk', 'synth', '-c', 'env=prod', '--quiet', '--no-notices', '--output', outdir], offlineEnv());
    rmSync(outdir, { recursive: true, force: true });
    expect(code).not.toBe(0);
    expect(stderr).toContain('vaultra: no environment "prod" in the config: it has example, local, gcp-example, azure-example');
  }, 120_000);
});
