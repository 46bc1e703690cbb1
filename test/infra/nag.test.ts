/**
 * cdk-nag's AwsSolutions pack, as `cdk synth` runs it (app.ts registers it), plus aws-cdk-lib's
 * CloudFormation validation: the one test file that synthesizes with full validation.
 */
delete process.env.CDK_VALIDATION;

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { awsEnvironmentOf } from '../../infra/aws/deployment-config.js';
import { addNagChecks } from '../../infra/aws/nag.js';
import { VaultraStack } from '../../infra/aws/vaultra-stack.js';
import { cdkJsonContext, EXAMPLE_CONFIG, stubToolsLayerZip, synthStack, testConfig, testOutdir } from './support/synth.js';

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: unknown;
}

/** Every acknowledgement recorded in the construct tree under `root`. */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

/** The AwsSolutions findings with every acknowledgement ignored: what each acknowledgement must match. */
function findingsIgnoringAcknowledgements(root: IConstruct): { ruleName: string; paths: string[] }[] {
  const prototype = NagPack.prototype as unknown as { isAcknowledged: (...args: unknown[]) => boolean };
  const original = prototype.isAcknowledged;
  prototype.isAcknowledged = () => false;
  try {
    return new AwsSolutionsChecks().validateScope(root).violations.map((violation) => ({ ruleName: violation.ruleName, paths: violation.violatingResources.map((resource) => resource.constructPath ?? '') }));
  } finally {
    prototype.isAcknowledged = original;
  }
}

describe('the example stack under cdk-nag and CloudFormation validation', () => {
  let app: App;
  let directory: string;

  beforeAll(() => {
    // Prepare: the app as app.ts builds it (the functions' bundling aside: the CLI test bundles).
    app = new App({ outdir: testOutdir(), context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    new VaultraStack(app, 'Vaultra-example', { deployment: awsEnvironmentOf(EXAMPLE_CONFIG, 'example') });
    addNagChecks(app);
    // Act: a finding that is not acknowledged makes this throw, with the report.
    directory = app.synth().directory;
  });

  it('synthesizes with no finding left, from cdk-nag or the CloudFormation validation', () => {
    const report = JSON.parse(readFileSync(path.join(directory, 'validation-report.json'), 'utf8')) as { pluginReports: { violations?: unknown[] }[] };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });

  it('gives every acknowledgement a reason that explains it', () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(typeof ack.reason, `${ack.id} on ${ack.path}`).toBe('string');
      expect((ack.reason as string).trim().length, `${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(20);
    }
  });

  it('acknowledges only findings that exist: each AwsSolutions acknowledgement silences a real one', () => {
    const findings = findingsIgnoringAcknowledgements(app);
    const ours = acknowledgements(app).filter((ack) => ack.id.startsWith('AwsSolutions-'));
    expect(ours.length).toBeGreaterThan(0);
    for (const ack of ours) {
      const silenced = findings.some((finding) => finding.ruleName === ack.id && finding.paths.some((found) => found === ack.path || found.startsWith(`${ack.path}/`)));
      expect(silenced, `${ack.id} on ${ack.path} matches no finding`).toBe(true);
    }
  });

  it('acknowledges nothing but the expected kinds of finding', () => {
    const kind = (id: string) => (/^AwsSolutions-IAM5\[Resource::<\w+\.Arn>\/vaultra\/\*\]$/.test(id) ? 'IAM5 objects under the prefix' : id);
    const kinds = new Set(acknowledgements(app).filter((ack) => ack.id.startsWith('AwsSolutions-')).map((ack) => kind(ack.id)));
    // SMG4 (no rotation): the dedup key must never rotate, or every job's next run is a full (dedup-key.ts).
    expect([...kinds].sort()).toEqual(['AwsSolutions-IAM5[Resource::*]', 'AwsSolutions-L1', 'AwsSolutions-SMG4', 'AwsSolutions-SQS3', 'IAM5 objects under the prefix']);
  });
});

describe.each([
  ['Object Lock, existing VPC', testConfig({ storage: { objectLock: { mode: 'COMPLIANCE', days: 30 } }, network: { vpcId: 'vpc-0abc1234def567890', subnetIds: ['subnet-0abc1234def567890'] } })],
  ['pinned account, existing security groups', testConfig({ account: '123456789012', network: { vpcId: 'vpc-0abc1234def567890', subnetIds: ['subnet-0abc1234def567890'], securityGroupIds: ['sg-0abc1234def567890'] } })],
  ['log catch-up schedules', testConfig({}, { shop: { source: 'secret+aws://vaultra/test/shop', schedule: { cron: '0 3 * * *' }, logs: { every: '5m' } } })],
])('the %s stack under cdk-nag', (_name, config) => {
  it('has no unacknowledged finding either', () => {
    const { app } = synthStack(config, 'test');
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });
});

describe('the stack of runtime: inline jobs (tools layer, inline functions in the VPC) under cdk-nag', () => {
  it('has no unacknowledged finding either', () => {
    const jobs = { small: { source: 'secret+aws://vaultra/test/small', schedule: { cron: '0 3 * * *' }, runtime: 'inline', timeout: '10m' } };
    const { app } = synthStack(testConfig({}, jobs), 'test', { toolsLayerZip: stubToolsLayerZip() });
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });
});
