import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { awsEnvironmentOf } from '../../../infra/aws/deployment-config.js';
import { REPO_ROOT } from '../../../infra/aws/repo-root.js';
import { VaultraStack, vaultraStackName } from '../../../infra/aws/vaultra-stack.js';

export { REPO_ROOT };

/** The shipped example config. */
export const EXAMPLE_CONFIG = readFileSync(path.join(REPO_ROOT, 'vaultra.config.yaml'), 'utf8');

/** cdk.json's context (the feature flags): tests synthesize with what `cdk synth` uses. */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
}

const outdirs: string[] = [];

/**
 * A fresh cloud-assembly directory for an App (one without `outdir` leaves a temp directory
 * behind on every synth), removed after the test file that imported this module.
 */
export function testOutdir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vaultra-cdk-out-'));
  outdirs.push(dir);
  return dir;
}

// Registered while the importing test file is collected: runs after all of its tests.
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export interface SynthOptions {
  /** Bundle the functions with esbuild (slow); otherwise their assets are placeholders. @default false */
  readonly bundle?: boolean;
  /** Stage the real runner image asset; otherwise a registry image stands in. @default false */
  readonly realImage?: boolean;
  /** The tools layer's zip, for configs with `runtime: inline` jobs (`-c toolsLayer=`). @default layers/dist/vaultra-tools-layer.zip */
  readonly toolsLayerZip?: string;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: VaultraStack;
  readonly template: Template;
}

/** A fresh App (cdk.json's flags) with the stack of `environmentName` from `configText`, synthesized. */
export function synthStack(configText: string, environmentName: string, options: SynthOptions = {}): Synthesized {
  const app = new App({ outdir: testOutdir(), context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) } });
  const deployment = awsEnvironmentOf(configText, environmentName, 'test config');
  const stack = new VaultraStack(app, vaultraStackName(environmentName), {
    deployment,
    ...(options.realImage ? {} : { runnerImage: ContainerImage.fromRegistry('public.ecr.aws/vaultra/runner:test') }),
    ...(options.toolsLayerZip ? { toolsLayerZip: options.toolsLayerZip } : {}),
  });
  return { app, stack, template: Template.fromStack(stack) };
}

const SOURCE = (name: string) => `secret+aws://vaultra/test/${name}`;

/**
 * A config with one AWS environment `test` (eu-central-1), as JSON text (YAML's subset). `jobs`
 * defaults to one daily job; `environment` fields are merged over the minimal environment.
 */
export function testConfig(environment: Record<string, unknown> = {}, jobs?: Record<string, Record<string, unknown>>): string {
  return JSON.stringify({
    version: 1,
    environments: {
      test: {
        cloud: 'aws',
        region: 'eu-central-1',
        ...environment,
        jobs: jobs ?? { daily: { source: SOURCE('daily'), schedule: { cron: '0 3 * * *' } } },
      },
      laptop: { cloud: 'local', jobs: { app: { source: 'postgres://app@localhost/app', schedule: { cron: '0 * * * *' }, encryption: { kms: false, recipients: ['age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40'] } } } },
    },
  });
}

export const testSource = SOURCE;

/** A stand-in for the tools layer's zip in synth tests: an empty zip file (the real one takes a build). */
export function stubToolsLayerZip(): string {
  const zip = path.join(testOutdir(), 'stub-tools-layer.zip');
  // The end-of-central-directory record alone is a valid, empty zip.
  writeFileSync(zip, Buffer.concat([Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]));
  return zip;
}
