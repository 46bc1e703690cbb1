/**
 * What the config changes in the stack: Object Lock, a named bucket, an existing VPC, disabled
 * jobs, a pinned account, and the mistakes refused at synth with a message naming the value.
 * Each distinct stack is synthesized once.
 */
process.env.CDK_VALIDATION = 'false';

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { ConfigError } from '../../core/errors.js';
import { AWS_FUNCTION_ENV } from '../../core/platform/aws-deployment.js';
import { awsEnvironmentOf } from '../../infra/aws/deployment-config.js';
import { EXAMPLE_CONFIG, synthStack, testConfig, testSource, type Synthesized } from './support/synth.js';
import { asList, flat, granting, onlyResource, resourcesWhere, statementsOfRole } from './support/template-queries.js';

const functionVariables = (template: Template) => resourcesWhere<{ Environment: { Variables: Record<string, unknown> } }>(template, 'AWS::Lambda::Function').map((fn) => fn.Properties.Environment.Variables);

describe('Object Lock, a named bucket, several transitions', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthStack(
      testConfig({
        storage: {
          bucket: 'acme-vaultra-backups',
          prefix: 'backups',
          objectLock: { mode: 'COMPLIANCE', days: 35 },
          transitions: [
            { afterDays: 30, storageClass: 'STANDARD_IA' },
            { afterDays: 90, storageClass: 'DEEP_ARCHIVE' },
          ],
          noncurrentVersionExpirationDays: 90,
        },
      }),
      'test',
    ));
  });

  it('creates the named bucket with Object Lock and its default retention', () => {
    const bucket = onlyResource<Record<string, unknown>>(template, 'AWS::S3::Bucket', (properties) => properties.VersioningConfiguration !== undefined).Properties;
    expect(bucket).toMatchObject({
      BucketName: 'acme-vaultra-backups',
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 35 } } },
    });
    const rules = (bucket.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } }),
        expect.objectContaining({
          Transitions: [
            { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
            { StorageClass: 'DEEP_ARCHIVE', TransitionInDays: 90 },
          ],
        }),
      ]),
    );
  });

  it('lets the runner set and read retention, and task-finished remove locked versions, under the prefix only', () => {
    const runner = granting(statementsOfRole(template, 'RunnerTaskRole'), 's3:PutObjectRetention');
    expect(runner).toHaveLength(1);
    expect(asList(runner[0]!.Action)).toEqual(expect.arrayContaining(['s3:GetObjectRetention', 's3:PutObjectRetention']));
    expect(asList(runner[0]!.Resource).map(flat)).toEqual([expect.stringMatching(/^<BackupsBucket\w+\.Arn>\/backups\/\*$/)]);
    // Before its first locked write the runner asks the bucket whether it enforces Object Lock: on the bucket only, nothing else.
    const lockCheck = granting(statementsOfRole(template, 'RunnerTaskRole'), 's3:GetBucketObjectLockConfiguration');
    expect(lockCheck).toHaveLength(1);
    expect(asList(lockCheck[0]!.Action)).toEqual(['s3:GetBucketObjectLockConfiguration']);
    expect(asList(lockCheck[0]!.Resource).map(flat)).toEqual([expect.stringMatching(/^<BackupsBucket\w+\.Arn>$/)]);
    const finished = statementsOfRole(template, 'FunctionsTaskFinishedRole');
    expect(asList(granting(finished, 's3:DeleteObjectVersion')[0]?.Resource).map(flat)).toEqual([expect.stringMatching(/\/backups\/\*$/)]);
    expect(granting(finished, 's3:ListBucketVersions')[0]?.Condition).toEqual({ StringLike: { 's3:prefix': ['backups/*'] } });
  });
});

describe('without Object Lock', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthStack(testConfig(), 'test'));
  });

  it('grants no retention or version-deleting action to anyone', () => {
    for (const action of ['s3:PutObjectRetention', 's3:GetObjectRetention', 's3:GetBucketObjectLockConfiguration', 's3:DeleteObjectVersion', 's3:ListBucketVersions']) {
      for (const role of ['RunnerTaskRole', 'FunctionsTaskFinishedRole', 'FunctionsApiRole']) expect(granting(statementsOfRole(template, role), action)).toEqual([]);
    }
    const bucket = onlyResource<Record<string, unknown>>(template, 'AWS::S3::Bucket', (properties) => properties.VersioningConfiguration !== undefined).Properties;
    expect(bucket.ObjectLockEnabled).toBeUndefined();
    expect(bucket.ObjectLockConfiguration).toBeUndefined();
  });

  it('creates no email subscription when the config lists none', () => {
    expect(resourcesWhere(template, 'AWS::SNS::Subscription')).toHaveLength(0);
  });
});

describe('an existing VPC with its security groups', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthStack(
      testConfig({ network: { vpcId: 'vpc-0abc1234def567890', subnetIds: ['subnet-0abc1234def567890', 'subnet-0123456789abcdef0'], securityGroupIds: ['sg-0abc1234def567890'] } }),
      'test',
    ));
  });

  it('creates no network resources and hands the configured ids to the launchers', () => {
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::NatGateway', 'AWS::EC2::SecurityGroup', 'AWS::EC2::FlowLog']) expect(resourcesWhere(template, type)).toHaveLength(0);
    for (const variables of functionVariables(template)) {
      expect(variables[AWS_FUNCTION_ENV.subnetIds]).toBe('subnet-0abc1234def567890,subnet-0123456789abcdef0');
      expect(variables[AWS_FUNCTION_ENV.securityGroupIds]).toBe('sg-0abc1234def567890');
      expect(variables[AWS_FUNCTION_ENV.assignPublicIp]).toBe('DISABLED');
    }
  });
});

describe('an existing VPC without security groups', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthStack(testConfig({ network: { vpcId: 'vpc-0abc1234def567890', subnetIds: ['subnet-0abc1234def567890'], assignPublicIp: true } }), 'test'));
  });

  it('gives tasks a public IP only because the config asks for it (public subnets, no NAT)', () => {
    for (const variables of functionVariables(template)) expect(variables[AWS_FUNCTION_ENV.assignPublicIp]).toBe('ENABLED');
  });

  it('creates an outbound-only security group for the runner in that VPC', () => {
    const group = onlyResource<Record<string, unknown>>(template, 'AWS::EC2::SecurityGroup');
    expect(group.Properties.VpcId).toBe('vpc-0abc1234def567890');
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(resourcesWhere(template, 'AWS::EC2::VPC')).toHaveLength(0);
    for (const variables of functionVariables(template)) expect(variables[AWS_FUNCTION_ENV.securityGroupIds]).toEqual({ 'Fn::GetAtt': [group.id, 'GroupId'] });
  });
});

describe('a disabled job', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthStack(
      testConfig({}, {
        nightly: { source: testSource('nightly'), schedule: { cron: '0 1 * * *' } },
        archived: { source: testSource('archived'), schedule: { cron: '0 2 * * *' }, enabled: false },
      }),
      'test',
    ));
  });

  it('gets no schedule and no alarms', () => {
    const names = resourcesWhere<{ Name: string }>(template, 'AWS::Scheduler::Schedule').map((schedule) => schedule.Properties.Name);
    expect(names.sort()).toEqual(['Vaultra-Watchdog', 'nightly']);
    const alarms = resourcesWhere<{ AlarmName: string }>(template, 'AWS::CloudWatch::Alarm').map((alarm) => alarm.Properties.AlarmName);
    expect(alarms.filter((name) => name.includes('archived'))).toEqual([]);
    expect(alarms).toEqual(expect.arrayContaining(['vaultra-test-nightly-run-failed', 'vaultra-test-nightly-rpo-breached']));
  });

  it('keeps its secret readable by the runner: its backups can still be restored into its source', () => {
    const secrets = granting(statementsOfRole(template, 'RunnerTaskRole'), 'secretsmanager:GetSecretValue').flatMap((statement) => asList(statement.Resource).map(flat));
    expect(secrets.sort()).toEqual([
      'arn:aws:secretsmanager:eu-central-1:<AWS::AccountId>:secret:vaultra/test/archived-??????',
      'arn:aws:secretsmanager:eu-central-1:<AWS::AccountId>:secret:vaultra/test/nightly-??????',
    ]);
  });
});

describe('secret references in other regions or as ARNs', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthStack(
      testConfig({}, {
        a: { source: 'secret+aws://shared/db?region=us-east-1', schedule: { cron: '0 1 * * *' } },
        b: { source: 'secret+aws://arn:aws:secretsmanager:eu-west-3:123456789012:secret:team/db-AbCdEf', schedule: { cron: '0 1 * * *' } },
      }),
      'test',
    ));
  });

  it('grants the region the reference names, and an ARN exactly as written', () => {
    const secrets = granting(statementsOfRole(template, 'RunnerTaskRole'), 'secretsmanager:GetSecretValue').flatMap((statement) => asList(statement.Resource).map(flat));
    expect(secrets.sort()).toEqual(['arn:aws:secretsmanager:eu-west-3:123456789012:secret:team/db-AbCdEf', 'arn:aws:secretsmanager:us-east-1:<AWS::AccountId>:secret:shared/db-??????']);
  });
});

describe('an environment that names its account', () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthStack(testConfig({ account: '123456789012' }), 'test');
  });

  it('pins the stack to that account and the config region, and still needs no lookup (synth stays offline)', () => {
    expect(synthesized.stack.account).toBe('123456789012');
    expect(synthesized.stack.region).toBe('eu-central-1');
    expect(synthesized.app.synth().manifest.missing ?? []).toEqual([]);
    expect(resourcesWhere(synthesized.template, 'AWS::EC2::Subnet')).toHaveLength(4);
  });
});

describe('an environment without an account', () => {
  it('is deployed to the config region in whatever account the credentials name', () => {
    const { stack } = synthStack(testConfig(), 'test');
    expect(stack.region).toBe('eu-central-1');
    expect(stack.account).toMatch(/^\$\{Token/);
  });
});

/** The `--platform` of each Docker image `cdk deploy` would build for the app, from its asset manifests. */
function imagePlatforms({ app }: Synthesized): (string | undefined)[] {
  const { directory } = app.synth();
  return readdirSync(directory)
    .filter((file) => file.endsWith('.assets.json'))
    .flatMap((file) => {
      const manifest = JSON.parse(readFileSync(path.join(directory, file), 'utf8')) as { dockerImages?: Record<string, { source: { platform?: string } }> };
      return Object.values(manifest.dockerImages ?? {}).map((image) => image.source.platform);
    });
}

describe('runner.architecture', () => {
  const taskPlatform = (template: Template) => onlyResource<{ RuntimePlatform: unknown }>(template, 'AWS::ECS::TaskDefinition').Properties.RuntimePlatform;

  it('builds the image for linux/arm64 and runs the task on ARM64 by default', () => {
    const synthesized = synthStack(testConfig(), 'test', { realImage: true });
    expect(imagePlatforms(synthesized)).toEqual(['linux/arm64']);
    expect(taskPlatform(synthesized.template)).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
  });

  it('x86_64: builds the image for linux/amd64 and runs the task on X86_64, so a host without arm64 emulation can deploy', () => {
    const synthesized = synthStack(testConfig({ runner: { architecture: 'x86_64' } }), 'test', { realImage: true });
    expect(imagePlatforms(synthesized)).toEqual(['linux/amd64']);
    expect(taskPlatform(synthesized.template)).toEqual({ CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' });
  });

  it('is refused with a message naming the field for a value AWS does not run', () => {
    expect(() => awsEnvironmentOf(testConfig({ runner: { architecture: 'amd64' } }), 'test')).toThrow(/runner\.architecture/);
  });
});

describe('mistakes refused at synth', () => {
  it('names the environments there are when the one asked for is missing or unknown', () => {
    expect(() => awsEnvironmentOf(EXAMPLE_CONFIG, undefined)).toThrow(/pass -c env=<name> \(one of example, local, gcp-example, azure-example\)/);
    expect(() => awsEnvironmentOf(EXAMPLE_CONFIG, 'prod')).toThrow(/no environment "prod" in the config: it has example, local, gcp-example, azure-example/);
  });

  it('refuses an environment that is not on AWS', () => {
    expect(() => awsEnvironmentOf(EXAMPLE_CONFIG, 'local')).toThrow(/"local" in vaultra.config.yaml is a local environment: the CDK app deploys AWS environments only/);
    const gcp = JSON.stringify({ version: 1, environments: { g: { cloud: 'gcp', region: 'europe-west1', gcp: { project: 'vaultra-test' }, jobs: { j: { source: 'secret+gcp://projects/p/secrets/s', schedule: { cron: '0 1 * * *' } } } } } });
    expect(() => awsEnvironmentOf(gcp, 'g')).toThrow(/deploy it with the Terraform module in infra\/gcp\//);
  });

  it('refuses an infrequent-access transition before 30 days', () => {
    expect(() => synthStack(testConfig({ storage: { transitions: [{ afterDays: 7, storageClass: 'STANDARD_IA' }] } }), 'test')).toThrow(ConfigError);
    expect(() => synthStack(testConfig({ storage: { transitions: [{ afterDays: 7, storageClass: 'ONEZONE_IA' }] } }), 'test')).toThrow(/ONEZONE_IA 30 days after creation at the earliest, got afterDays: 7/);
  });

  it('refuses a CPU/memory pair Fargate cannot run, for the runner and for a job override', () => {
    expect(() => synthStack(testConfig({ runner: { cpu: 1024, memoryMiB: 512 } }), 'test')).toThrow(/runner: Fargate runs 1024 CPU units with 2048 to 8192 MiB of memory in steps of 1024, got 512 MiB/);
    expect(() => synthStack(testConfig({}, { big: { source: testSource('big'), schedule: { cron: '0 1 * * *' }, runtime: { cpu: 4096 } } }), 'test')).toThrow(/jobs\.big\.runtime: Fargate runs 4096 CPU units with 8192/);
  });

  it('refuses a log retention CloudWatch does not offer', () => {
    expect(() => synthStack(testConfig({ runner: { logRetentionDays: 31 } }), 'test')).toThrow(/runner.logRetentionDays: CloudWatch Logs keeps logs for one of .* days, got 31 \(nearest above: 60\)/);
  });
});
