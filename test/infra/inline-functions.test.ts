/**
 * The stack of an environment with `runtime: inline` jobs: the tools layer as a layer version,
 * the inline backup and restore functions that use it, their rights (the runner task's, split
 * the same way), the schedules that target them, and what synth refuses.
 */
process.env.CDK_VALIDATION = 'false';

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { INLINE_RUNNER_PATH } from '../../core/platform/aws-deployment.js';
import { TOOLS_LAYER_ARCHITECTURE } from '../../core/platform/tools-layer.js';
import { run } from '../support/exec.js';
import type { Template } from 'aws-cdk-lib/assertions';
import { synthStack, stubToolsLayerZip, testConfig, testSource } from './support/synth.js';
import { asList, flat, granting, onlyResource, resourcesWhere, statementsOfRole, type Statement } from './support/template-queries.js';

const JOBS = {
  small: { source: testSource('small'), schedule: { cron: '0 3 * * *' }, runtime: 'inline', timeout: '10m', logs: { every: '15m' } },
  big: { source: testSource('big'), schedule: { cron: '0 4 * * *' } },
};

let template: Template;
let layerZip: string;

beforeAll(() => {
  layerZip = stubToolsLayerZip();
  template = synthStack(testConfig({}, JOBS), 'test', { toolsLayerZip: layerZip }).template;
});

interface FunctionProperties {
  readonly Description: string;
  readonly Layers?: unknown[];
  readonly Timeout: number;
  readonly MemorySize: number;
  readonly Architectures: string[];
  readonly VpcConfig?: { SubnetIds: unknown; SecurityGroupIds: unknown };
  readonly EphemeralStorage?: { Size: number };
  readonly Role: unknown;
}

const inlineFunction = (kind: 'back up' | 'restore or verify') => onlyResource<FunctionProperties>(template, 'AWS::Lambda::Function', (properties) => properties.Description.includes(`: ${kind} a runtime: inline job`));

describe('inline functions in the stack', () => {
  it('deploys the tools layer as a layer version for Node 22 on x86_64, and both inline functions use it', () => {
    const layer = onlyResource<{ CompatibleArchitectures: string[]; CompatibleRuntimes: string[] }>(template, 'AWS::Lambda::LayerVersion');
    expect(layer.Properties).toMatchObject({ CompatibleArchitectures: [TOOLS_LAYER_ARCHITECTURE], CompatibleRuntimes: ['nodejs22.x'] });
    for (const fn of [inlineFunction('back up'), inlineFunction('restore or verify')]) {
      expect(fn.Properties.Layers?.map(flat)).toEqual([`<${layer.id}>`]);
      // Lambda's whole 15 minutes, 2 GB (a little over one vCPU), the layer's architecture, 2 GB of /tmp, in the runner's subnets.
      expect(fn.Properties).toMatchObject({ Timeout: 900, MemorySize: 2048, Architectures: ['x86_64'], EphemeralStorage: { Size: 2048 } });
      expect(fn.Properties.VpcConfig).toBeDefined();
      // The dedup key reaches the inline runner from its secret, as ECS injects it into a task.
      expect(Object.keys((fn.Properties as unknown as { Environment: { Variables: object } }).Environment.Variables)).toContain('VAULTRA_DEDUP_KEY_SECRET_ARN');
    }
    // Every other function keeps its shape: no layer, ARM64.
    const others = resourcesWhere<FunctionProperties>(template, 'AWS::Lambda::Function', (properties) => properties.Description.startsWith('Vaultra test') && !properties.Description.includes('runtime: inline'));
    expect(others.length).toBeGreaterThanOrEqual(4);
    for (const fn of others) expect(fn.Properties.Layers).toBeUndefined();
  });

  it('targets the inline function with the inline job\'s backup schedule only; log catch-ups and Fargate jobs stay on the scheduled-backup function', () => {
    const schedules = resourcesWhere<{ Name: string; Target: { Arn: unknown } }>(template, 'AWS::Scheduler::Schedule');
    const targetOf = (name: string) => flat(schedules.find((schedule) => schedule.Properties.Name === name)!.Properties.Target.Arn);
    const inlineId = inlineFunction('back up').id;
    expect(targetOf('small')).toContain(inlineId);
    expect(targetOf('big')).not.toContain(inlineId);
    expect(targetOf('Logs-small')).toBe(targetOf('big'));
  });

  it('the inline backup function is write-only like the runner\'s backup role: no kms:Decrypt of its own, no restore role to pass', () => {
    const statements = statementsOfRole(template, 'InlineBackupRole');
    expect(granting(statements, 's3:PutObject')).not.toEqual([]);
    // kms:Decrypt only when S3, DynamoDB or SNS asks on its behalf: never the direct call that unwraps a backup's file key.
    const decrypt = granting(statements, 'kms:Decrypt');
    expect(decrypt.length).toBeGreaterThan(0);
    for (const statement of decrypt) expect(flat(statement.Condition?.StringEquals?.['kms:ViaService'])).toMatch(/s3\..*dynamodb\..*sns\./);
    const passed = granting(statements, 'iam:PassRole').flatMap((statement) => asList(statement.Resource).map(flat));
    expect(passed.some((arn) => arn.includes('RestoreRole'))).toBe(false);
    expect(granting(statements, 'ecs:RunTask')).not.toEqual([]);
    // Lambda creates the function's network interfaces in the VPC as this role.
    expect(granting(statements, 'ec2:CreateNetworkInterface')).not.toEqual([]);
    expect(granting(statements, 'secretsmanager:GetSecretValue').map((statement) => flat(statement.Resource)).join()).toContain('DedupKey');
  });

  it('the inline backup role holds exactly the runner backup role\'s S3 actions (no version deletes, even under Object Lock), plus failover and one invoke of task-finished', () => {
    const locked = synthStack(testConfig({ storage: { objectLock: { mode: 'GOVERNANCE', days: 14 } } }, JOBS), 'test', { toolsLayerZip: layerZip }).template;
    const s3Actions = (statements: readonly Statement[]) => [...new Set(statements.flatMap((statement) => asList(statement.Action)).filter((action) => action.startsWith('s3:')))].sort();
    const inline = statementsOfRole(locked, 'InlineBackupRole');
    const fargate = statementsOfRole(locked, 'RunnerTaskRole');
    expect(s3Actions(inline)).toEqual(s3Actions(fargate));
    // Retention's rights stay with task-finished: destroying a version, or listing them to find one.
    for (const action of ['s3:DeleteObjectVersion', 's3:ListBucketVersions', 's3:BypassGovernanceRetention']) expect(granting(inline, action), action).toEqual([]);
    const taskFinished = onlyResource<FunctionProperties>(locked, 'AWS::Lambda::Function', (properties) => properties.Description.includes('a runner task stopped')).id;
    const invoke = granting(inline, 'lambda:InvokeFunction');
    expect(invoke.map((statement) => [asList(statement.Action), asList(statement.Resource).map(flat)])).toEqual([[['lambda:InvokeFunction'], [`<${taskFinished}.Arn>`]]]);
    expect(granting(inline, 'ecs:RunTask')).not.toEqual([]);
    expect(granting(inline, 'iam:PassRole')).not.toEqual([]);
    const backupFunction = onlyResource<FunctionProperties & { Environment: { Variables: Record<string, unknown> } }>(locked, 'AWS::Lambda::Function', (properties) => properties.Description.includes(': back up a runtime: inline job'));
    expect(flat(backupFunction.Properties.Environment.Variables.VAULTRA_TASK_FINISHED_FUNCTION)).toBe(`<${taskFinished}>`);
    // Nothing else of Lambda, and the restore function hands nothing off.
    expect(inline.flatMap((statement) => asList(statement.Action)).filter((action) => action.startsWith('lambda:'))).toEqual(['lambda:InvokeFunction']);
    expect(granting(statementsOfRole(locked, 'InlineRestoreRole'), 'lambda:InvokeFunction')).toEqual([]);
  });

  it('the api function may invoke the two inline functions (their inline jobs\' on-demand runs), nothing else of Lambda, and knows their names; without inline jobs, neither', () => {
    // Prepare
    type WithVariables = FunctionProperties & { Environment: { Variables: Record<string, unknown> } };
    const apiFunction = (of: Template) => onlyResource<WithVariables>(of, 'AWS::Lambda::Function', (properties) => properties.Description.includes('on-demand backup, restore'));
    const [backup, restore] = [inlineFunction('back up').id, inlineFunction('restore or verify').id];
    const plain = synthStack(testConfig(), 'test').template;
    // Act
    const api = statementsOfRole(template, 'FunctionsApiRole');
    // Assess: one statement, the two functions themselves (not their versions).
    const invoke = granting(api, 'lambda:InvokeFunction');
    expect(invoke.map((statement) => [asList(statement.Action), asList(statement.Resource).map(flat)])).toEqual([[['lambda:InvokeFunction'], [`<${backup}.Arn>`, `<${restore}.Arn>`]]]);
    expect(api.flatMap((statement) => asList(statement.Action)).filter((action) => action.startsWith('lambda:'))).toEqual(['lambda:InvokeFunction']);
    const variables = apiFunction(template).Properties.Environment.Variables;
    expect(flat(variables.VAULTRA_INLINE_BACKUP_FUNCTION)).toBe(`<${backup}>`);
    expect(flat(variables.VAULTRA_INLINE_RESTORE_FUNCTION)).toBe(`<${restore}>`);

    expect(granting(statementsOfRole(plain, 'FunctionsApiRole'), 'lambda:InvokeFunction')).toEqual([]);
    expect(Object.keys(apiFunction(plain).Properties.Environment.Variables).filter((name) => name.startsWith('VAULTRA_INLINE_'))).toEqual([]);
  });

  it('the inline restore function reads and decrypts but writes no backup and signs nothing', () => {
    const statements = statementsOfRole(template, 'InlineRestoreRole');
    expect(granting(statements, 'kms:Decrypt').some((statement) => statement.Condition === undefined)).toBe(true);
    expect(granting(statements, 's3:GetObject')).not.toEqual([]);
    for (const action of ['s3:PutObject', 's3:DeleteObject', 'kms:Sign', 'ecs:RunTask', 'iam:PassRole']) expect(granting(statements, action), action).toEqual([]);
  });

  it('alarms on the inline functions\' errors like on every other function\'s', () => {
    const alarms = resourcesWhere<{ AlarmName: unknown }>(template, 'AWS::CloudWatch::Alarm').map((alarm) => flat(alarm.Properties.AlarmName));
    expect(alarms.filter((name) => /inline-(backup|restore)-errors/.test(name))).toHaveLength(2);
  });

  it('leaves the inline functions and the layer out of an environment without inline jobs', () => {
    const plain = synthStack(testConfig(), 'test').template;
    expect(resourcesWhere(plain, 'AWS::Lambda::LayerVersion')).toEqual([]);
  });
});

describe('what synth refuses for inline jobs', () => {
  it('a timeout that does not fit in Lambda\'s 15 minutes', () => {
    expect(() => synthStack(testConfig({}, { small: { ...JOBS.small, timeout: '20m' } }), 'test', { toolsLayerZip: layerZip })).toThrow(
      /jobs\.small\.timeout: an inline run must end within Lambda's 15 minutes, 1m of which finish the run: set timeout: 14m or less \(got 20m\)/,
    );
  });

  it('a missing layer zip, saying how to build it', () => {
    expect(() => synthStack(testConfig({}, JOBS), 'test', { toolsLayerZip: '/nonexistent/vaultra-tools-layer.zip' })).toThrow(/the tools layer \/nonexistent\/vaultra-tools-layer\.zip is missing.*bash layers\/build\.sh, or point -c toolsLayer=<zip>/);
  });

  it('public subnets, where a Lambda function has no route out', () => {
    const network = { vpcId: 'vpc-0abc12345', subnetIds: ['subnet-0abc1234def567890'], assignPublicIp: true };
    expect(() => synthStack(testConfig({ network }, JOBS), 'test', { toolsLayerZip: layerZip })).toThrow(/network\.assignPublicIp.*give runtime: inline jobs private subnets/);
  });
});

describe('the inline functions\' asset', () => {
  it('holds the runner CLI beside the handler (the afterBundling hook), ready to start', async () => {
    const { app } = synthStack(testConfig({}, JOBS), 'test', { toolsLayerZip: layerZip, bundle: true });
    const outdir = app.synth().directory;
    const runners = readdirSync(outdir)
      .filter((entry) => entry.startsWith('asset.'))
      .map((entry) => path.join(outdir, entry, INLINE_RUNNER_PATH))
      .filter((file) => existsSync(file));
    // Two: the backup and the restore function.
    expect(runners).toHaveLength(2);
    const version = await run(process.execPath, [runners[0]!, '--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(existsSync(path.join(path.dirname(runners[0]!), 'node_modules/zstd-napi/build/Release/binding.node'))).toBe(true);
  }, 300_000);
});
