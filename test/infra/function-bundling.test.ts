/**
 * The functions' bundling options, proven by bundling a stand-in handler with esbuild the way
 * NodejsFunction does (the real handlers are bundled by the cdk synth test), and the small pure
 * helpers of the stack: secret ARNs, Fargate sizes, log retention.
 */
process.env.CDK_VALIDATION = 'false';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { App, Stack } from 'aws-cdk-lib';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { AWS_FUNCTION_ENV } from '../../core/platform/aws-deployment.js';
import { ConfigError } from '../../core/errors.js';
import { checkFargateSize } from '../../infra/aws/fargate-size.js';
import { functionBundling } from '../../infra/aws/function-bundling.js';
import { logRetention } from '../../infra/aws/log-groups.js';
import { awsSecretArns, webhookSecretReferences } from '../../infra/aws/secret-arns.js';
import { flat } from './support/template-queries.js';
import { EXAMPLE_CONFIG, testOutdir } from './support/synth.js';

describe('functionBundling', () => {
  const configJson = bundledEnvironmentJson(EXAMPLE_CONFIG, 'example');
  const options = functionBundling(configJson);
  let outdir: string;
  let bundled: { literal: string | undefined; computed: string | undefined; requireWorks: boolean };

  beforeAll(async () => {
    // Prepare: a handler that reads the config both ways and needs `require` (as bundled CommonJS does).
    outdir = mkdtempSync(path.join(tmpdir(), 'vaultra-bundle-'));
    const source = [
      `const name = ${JSON.stringify(AWS_FUNCTION_ENV.configJson)};`,
      `export const literal = process.env.${AWS_FUNCTION_ENV.configJson};`,
      'export const computed = process.env[name];',
      "export const requireWorks = typeof require('node:path').join === 'function';",
    ].join('\n');
    // Act: esbuild with the options NodejsFunction passes it.
    await build({
      stdin: { contents: source, loader: 'ts', resolveDir: outdir },
      outfile: path.join(outdir, 'index.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: options.target,
      minify: options.minify,
      sourcemap: options.sourceMap,
      mainFields: options.mainFields,
      external: options.externalModules,
      banner: { js: options.banner! },
      define: options.define,
      logLevel: 'silent',
    });
    delete process.env[AWS_FUNCTION_ENV.configJson];
    bundled = (await import(pathToFileURL(path.join(outdir, 'index.mjs')).href)) as typeof bundled;
  });
  afterAll(() => {
    delete process.env[AWS_FUNCTION_ENV.configJson];
    rmSync(outdir, { recursive: true, force: true });
  });

  it('makes one minified ESM file for Node 22 with a source map, bundling every module (the AWS SDK too) but nodemailer', () => {
    expect(options).toMatchObject({ format: 'esm', target: 'node22', minify: true, sourceMap: true, mainFields: ['module', 'main'], externalModules: ['nodemailer'], bundleAwsSDK: true });
    expect(options.nodeModules).toBeUndefined();
  });

  it('installs nodemailer beside the bundle only for an environment that sends email over SMTP', () => {
    const withSmtp = EXAMPLE_CONFIG.replace(/notifications:\n/, 'notifications:\n      smtp: { host: smtp.example.com, from: v@example.com, to: [ops@example.com] }\n');
    expect(withSmtp).not.toBe(EXAMPLE_CONFIG);
    expect(functionBundling(bundledEnvironmentJson(withSmtp, 'example')).nodeModules).toEqual(['nodemailer']);
  });

  it('compiles the environment config in, for literal and computed reads of VAULTRA_CONFIG_JSON', () => {
    expect(options.define).toEqual({ [`process.env.${AWS_FUNCTION_ENV.configJson}`]: JSON.stringify(configJson) });
    expect(bundled.literal).toBe(configJson);
    expect(bundled.computed).toBe(configJson);
  });

  it('gives the ESM bundle a require', () => {
    expect(options.banner).toMatch(/createRequire.* from 'module';.*const require = .*\(import\.meta\.url\);/);
    expect(bundled.requireWorks).toBe(true);
  });

  it('bundles only the deployed environment', () => {
    expect(Object.keys((JSON.parse(configJson) as { environments: object }).environments)).toEqual(['example']);
  });
});

describe('secret ARNs', () => {
  const stack = new Stack(new App({ outdir: testOutdir() }), 'S', { env: { region: 'eu-west-1' } });

  it('turns secret+aws:// names into ARN patterns and leaves other schemes out', () => {
    const references = webhookSecretReferences({
      notifications: {
        email: [],
        webhooks: [
          { kind: 'slack', url: 'env://SLACK_URL' },
          { kind: 'generic', url: 'secret+aws://hooks/url', signingSecret: 'secret+aws://hooks/key' },
        ],
      },
    });
    expect(references).toEqual(['env://SLACK_URL', 'secret+aws://hooks/url', 'secret+aws://hooks/key']);
    expect(awsSecretArns(stack, [...references, 'secret+aws://hooks/url']).map((arn) => flat(stack.resolve(arn)))).toEqual([
      'arn:<AWS::Partition>:secretsmanager:eu-west-1:<AWS::AccountId>:secret:hooks/url-??????',
      'arn:<AWS::Partition>:secretsmanager:eu-west-1:<AWS::AccountId>:secret:hooks/key-??????',
    ]);
  });

  it('grants every secret the other notifiers read: routing key, ping URLs, the SMTP password', () => {
    const references = webhookSecretReferences({
      notifications: {
        email: [],
        smtp: { host: 'smtp.example.com', security: 'starttls', username: 'vaultra', password: 'secret+aws://mail/password', from: 'v@example.com', to: ['ops@example.com'] },
        webhooks: [
          { kind: 'teams', url: 'secret+aws://hooks/teams' },
          { kind: 'discord', url: 'secret+aws://hooks/discord' },
          { kind: 'pagerduty', routingKey: 'secret+aws://hooks/pagerduty' },
          { kind: 'healthchecks', url: 'secret+aws://hooks/hc', jobs: { app: 'secret+aws://hooks/hc-app' } },
        ],
      },
    });
    expect(references.sort()).toEqual(['secret+aws://hooks/discord', 'secret+aws://hooks/hc', 'secret+aws://hooks/hc-app', 'secret+aws://hooks/pagerduty', 'secret+aws://hooks/teams', 'secret+aws://mail/password']);
  });
});

describe('Fargate sizes', () => {
  it('accepts the sizes Fargate offers', () => {
    for (const [cpu, memory] of [
      [256, 512],
      [256, 2048],
      [1024, 2048],
      [1024, 8192],
      [4096, 30720],
      [8192, 20480],
      [16384, 122880],
    ] as const) {
      expect(() => checkFargateSize(cpu, memory, 'runner')).not.toThrow();
    }
  });

  it('refuses the others, naming the field and the range', () => {
    expect(() => checkFargateSize(256, 1536, 'runner')).toThrow(/256 CPU units with 512 to 2048 MiB .*\(512, 1024 or 2048\), got 1536 MiB/);
    expect(() => checkFargateSize(8192, 18000, 'jobs.x.runtime')).toThrow(/^jobs\.x\.runtime: .* in steps of 4096, got 18000 MiB$/);
    expect(() => checkFargateSize(3000, 4096, 'runner')).toThrow(ConfigError);
  });
});

describe('log retention', () => {
  it('takes the periods CloudWatch offers and refuses others with the nearest one above', () => {
    expect(logRetention(30)).toBe(30);
    expect(logRetention(3653)).toBe(3653);
    expect(() => logRetention(4000)).toThrow(/got 4000$/);
    expect(() => logRetention(2)).toThrow(/got 2 \(nearest above: 3\)/);
  });
});
