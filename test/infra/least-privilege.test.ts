/**
 * Least privilege, checked on the synthesized templates rather than trusted to the code: every
 * identity-policy statement of every role, for the example stack and an Object Lock stack.
 */
process.env.CDK_VALIDATION = 'false';

import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { environmentOf, parseConfig } from '../../core/config/load-config.js';
import { CATALOG_INDEX } from '../../core/adapters/catalog/dynamodb-table-schema.js';
import { EXAMPLE_CONFIG, synthStack, testConfig } from './support/synth.js';
import { asList, flat, granting, onlyResource, resourcesWhere, roleStatements, statementsOfRole, type Statement } from './support/template-queries.js';

/** Actions AWS offers no resource-level permission for: the only ones allowed on Resource "*". */
const STAR_ONLY_ACTIONS = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'ecr:GetAuthorizationToken']);

let example: Template;
let locked: Template;

beforeAll(() => {
  // The real image asset: the execution role's ECR permissions are part of what is checked.
  example = synthStack(EXAMPLE_CONFIG, 'example', { realImage: true }).template;
  locked = synthStack(testConfig({ storage: { objectLock: { mode: 'GOVERNANCE', days: 14 } } }), 'test').template;
});

const services = (statements: readonly Statement[]) => [...new Set(statements.flatMap((statement) => asList(statement.Action).map((action) => action.split(':')[0])))].sort();
const resourcesOf = (statements: readonly Statement[]) => [...new Set(statements.flatMap((statement) => asList(statement.Resource).map(flat)))].sort();
const logicalId = (template: Template, type: string) => onlyResource(template, type).id;
const dataBucket = (template: Template) => onlyResource<Record<string, unknown>>(template, 'AWS::S3::Bucket', (properties) => properties.VersioningConfiguration !== undefined).id;

describe.each([
  ['example', () => example],
  ['Object Lock', () => locked],
])('every role of the %s stack', (_name, templateOf) => {
  it('names every action: no "*", no "service:*", no wildcard in any action', () => {
    const roles = roleStatements(templateOf());
    expect(roles.size).toBeGreaterThanOrEqual(8);
    for (const [role, statements] of roles) {
      for (const statement of statements) {
        for (const action of asList(statement.Action)) expect(action, `${role} grants ${action}`).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
      }
    }
  });

  it('uses Resource "*" only for actions AWS offers no resource-level permission for', () => {
    for (const [role, statements] of roleStatements(templateOf())) {
      for (const statement of statements.filter((candidate) => asList(candidate.Resource).includes('*'))) {
        for (const action of asList(statement.Action)) expect(STAR_ONLY_ACTIONS.has(action), `${role} grants ${action} on "*"`).toBe(true);
      }
    }
  });

  it('grants S3 object actions only under the prefix, listing only with the prefix condition, and on the bucket itself only the Object Lock check', () => {
    const template = templateOf();
    const bucket = dataBucket(template);
    // Both stacks keep the default prefix.
    const prefix = 'vaultra';
    for (const [role, statements] of roleStatements(template)) {
      for (const statement of statements.filter((candidate) => asList(candidate.Action).some((action) => action.startsWith('s3:')))) {
        const resources = asList(statement.Resource).map(flat);
        // The one bucket-level read that is not a listing: whether the bucket enforces Object Lock (no object is reachable through it).
        if (asList(statement.Action).every((action) => action === 's3:GetBucketObjectLockConfiguration')) {
          expect(resources, role).toEqual([`<${bucket}.Arn>`]);
        } else if (asList(statement.Action).every((action) => action.startsWith('s3:List'))) {
          expect(resources, role).toEqual([`<${bucket}.Arn>`]);
          expect(statement.Condition, role).toEqual({ StringLike: { 's3:prefix': [`${prefix}/*`] } });
        } else {
          expect(resources, role).toEqual([`<${bucket}.Arn>/${prefix}/*`]);
        }
      }
    }
  });

  it('uses KMS on the environment key, and the signing key only to sign (the backup role) and read its public key (both runner roles)', () => {
    const template = templateOf();
    const key = onlyResource<Record<string, unknown>>(template, 'AWS::KMS::Key', (properties) => properties.KeyUsage === undefined).id;
    const signingKey = onlyResource<Record<string, unknown>>(template, 'AWS::KMS::Key', (properties) => properties.KeyUsage === 'SIGN_VERIFY').id;
    for (const [role, statements] of roleStatements(template)) {
      const kms = statements.filter((statement) => asList(statement.Action).some((action) => action.startsWith('kms:')));
      const onSigningKey = kms.filter((statement) => asList(statement.Resource).map(flat).includes(`<${signingKey}.Arn>`));
      if (kms.length > 0) expect(resourcesOf(kms.filter((statement) => !onSigningKey.includes(statement))), role).toEqual([`<${key}.Arn>`]);
      if (onSigningKey.length === 0) continue;
      expect(role, 'only the runner roles use the signing key').toMatch(/^Runner(Task|Restore)Role/);
      // Backups sign; restores and verifies only trust the public half.
      const expected = role.startsWith('RunnerTaskRole') ? ['kms:GetPublicKey', 'kms:Sign'] : ['kms:GetPublicKey'];
      expect(onSigningKey.flatMap((statement) => asList(statement.Action)).sort(), role).toEqual(expected);
      expect(resourcesOf(onSigningKey), role).toEqual([`<${signingKey}.Arn>`]);
    }
  });
});

describe('the runner task role (backups: the task definition’s own role)', () => {
  const runner = () => statementsOfRole(example, 'RunnerTaskRole');

  it('reaches S3, DynamoDB, KMS and Secrets Manager, nothing else', () => {
    expect(services(runner())).toEqual(['dynamodb', 'kms', 's3', 'secretsmanager']);
  });

  it('writes, reads and cleans up objects under the prefix, and lists only the prefix', () => {
    const bucket = dataBucket(example);
    const objects = granting(runner(), 's3:PutObject');
    expect(objects).toHaveLength(1);
    expect(asList(objects[0]!.Action).sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:GetObjectVersion', 's3:ListMultipartUploadParts', 's3:PutObject']);
    expect(asList(objects[0]!.Resource).map(flat)).toEqual([`<${bucket}.Arn>/vaultra/*`]);
    const listing = granting(runner(), 's3:ListBucket');
    expect(listing).toHaveLength(1);
    expect(asList(listing[0]!.Action).sort()).toEqual(['s3:ListBucket', 's3:ListBucketMultipartUploads']);
  });

  it('reads exactly the secrets the job sources reference', () => {
    const environment = environmentOf(parseConfig(EXAMPLE_CONFIG), 'example');
    const expected = environment.jobs.map((job) => `arn:aws:secretsmanager:eu-west-1:<AWS::AccountId>:secret:${job.source.replace('secret+aws://', '')}-??????`).sort();
    expect(resourcesOf(granting(runner(), 'secretsmanager:GetSecretValue'))).toEqual(expected);
  });

  it('uses the key to encrypt (wrap file keys); decrypts and makes data keys only through S3 and DynamoDB (write-only: test/infra/write-only-runner.test.ts)', () => {
    expect(asList(granting(runner(), 'kms:Encrypt')[0]?.Action).sort()).toEqual(['kms:DescribeKey', 'kms:Encrypt']);
    expect(granting(runner(), 'kms:Encrypt')[0]?.Condition).toBeUndefined();
    const decrypt = granting(runner(), 'kms:Decrypt');
    expect(decrypt).toHaveLength(1);
    expect(asList(decrypt[0]!.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(Object.keys(decrypt[0]!.Condition?.StringEquals ?? {})).toEqual(['kms:ViaService']);
  });

  it('touches catalog items on the table and its named indexes, never /index/*', () => {
    const table = logicalId(example, 'AWS::DynamoDB::Table');
    const dynamo = runner().filter((statement) => asList(statement.Action).some((action) => action.startsWith('dynamodb:')));
    expect(asList(dynamo[0]?.Action).sort()).toEqual(['dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(resourcesOf(dynamo)).toEqual([`<${table}.Arn>`, ...Object.values(CATALOG_INDEX).map((index) => `<${table}.Arn>/index/${index}`)].sort());
  });

  it('is assumable by ECS tasks of this account only', () => {
    const role = onlyResource<{ Description: string; AssumeRolePolicyDocument: { Statement: Statement[] } }>(example, 'AWS::IAM::Role', (properties) => properties.Description?.includes('runner: backups under'));
    expect(role.id).toMatch(/^RunnerTaskRole/);
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'ecs-tasks.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }),
    ]);
  });
});

describe('the runner restore role (restores and verifies, passed as RunTask overrides.taskRoleArn)', () => {
  const restore = () => statementsOfRole(example, 'RunnerRestoreRole');

  it('reaches S3, DynamoDB, KMS and Secrets Manager, nothing else', () => {
    expect(services(restore())).toEqual(['dynamodb', 'kms', 's3', 'secretsmanager']);
  });

  it('reads objects under the prefix and lists only the prefix; writes and deletes nothing', () => {
    const bucket = dataBucket(example);
    const objects = granting(restore(), 's3:GetObject');
    expect(objects).toHaveLength(1);
    expect(asList(objects[0]!.Action).sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    expect(asList(objects[0]!.Resource).map(flat)).toEqual([`<${bucket}.Arn>/vaultra/*`]);
    expect(asList(granting(restore(), 's3:ListBucket')[0]?.Action)).toEqual(['s3:ListBucket']);
    expect(restore().flatMap((statement) => asList(statement.Action)).filter((action) => /^s3:(Put|Delete|Abort)/.test(action))).toEqual([]);
  });

  it('decrypts with the key (unwraps the age vaultra-kms stanza), unconditionally', () => {
    const decrypt = granting(restore(), 'kms:Decrypt');
    expect(decrypt).toHaveLength(1);
    expect(asList(decrypt[0]!.Action).sort()).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']);
    expect(decrypt[0]!.Condition).toBeUndefined();
  });

  it('reads the same secrets as the backup role', () => {
    expect(resourcesOf(granting(restore(), 'secretsmanager:GetSecretValue'))).toEqual(resourcesOf(granting(statementsOfRole(example, 'RunnerTaskRole'), 'secretsmanager:GetSecretValue')));
  });
});

describe('the runner execution role', () => {
  it('pulls the image from the CDK asset repository, writes the runner log group and reads the dedup key, nothing else', () => {
    const statements = statementsOfRole(example, 'RunnerExecutionRole');
    expect(services(statements)).toEqual(['ecr', 'logs', 'secretsmanager']);
    expect(resourcesOf(granting(statements, 'secretsmanager:GetSecretValue'))).toEqual([`<${logicalId(example, 'AWS::SecretsManager::Secret')}>`]);
    expect(resourcesOf(granting(statements, 'ecr:BatchGetImage'))).toEqual(['arn:aws:ecr:eu-west-1:<AWS::AccountId>:repository/cdk-hnb659fds-container-assets-${AWS::AccountId}-eu-west-1']);
    expect(resourcesOf(granting(statements, 'ecr:GetAuthorizationToken'))).toEqual(['*']);
    expect(resourcesOf(granting(statements, 'logs:PutLogEvents'))).toEqual([expect.stringMatching(/^<RunnerLogs\w+\.Arn>$/)]);
  });
});

describe('the function roles', () => {
  const webhookSecrets = ['alert-webhook', 'alert-webhook-key', 'slack-webhook'].map((name) => `arn:aws:secretsmanager:eu-west-1:<AWS::AccountId>:secret:vaultra/example/${name}-??????`);

  it('scheduled-backup: catalog, RunTask of this task definition in this cluster, alerts, webhook secrets', () => {
    const statements = statementsOfRole(example, 'FunctionsScheduledBackupRole');
    expect(services(statements)).toEqual(['dynamodb', 'ecs', 'iam', 'kms', 'logs', 'secretsmanager', 'sns', 'xray']);
    expect(resourcesOf(granting(statements, 'secretsmanager:GetSecretValue'))).toEqual(webhookSecrets);
    expectLaunchOnly(statements, ['RunnerExecutionRole', 'RunnerTaskRole']);
  });

  it('task-finished: catalog, reading and deleting run folders under the prefix, alerts, webhook secrets', () => {
    const statements = statementsOfRole(example, 'FunctionsTaskFinishedRole');
    expect(services(statements)).toEqual(['dynamodb', 'kms', 'logs', 's3', 'secretsmanager', 'sns', 'xray']);
    expect(asList(granting(statements, 's3:DeleteObject')[0]?.Action).sort()).toEqual(['s3:DeleteObject', 's3:GetObject']);
    expect(resourcesOf(granting(statements, 'secretsmanager:GetSecretValue'))).toEqual(webhookSecrets);
  });

  it('watchdog: catalog, alerts, webhook secrets; no S3, no ECS', () => {
    expect(services(statementsOfRole(example, 'FunctionsWatchdogRole'))).toEqual(['dynamodb', 'kms', 'logs', 'secretsmanager', 'sns', 'xray']);
  });

  it('api: catalog, RunTask (restores and verifies as the restore role), alerts, webhook secrets; no S3 (restores and verifies read in the runner task)', () => {
    const statements = statementsOfRole(example, 'FunctionsApiRole');
    expect(services(statements)).toEqual(['dynamodb', 'ecs', 'iam', 'kms', 'logs', 'secretsmanager', 'sns', 'xray']);
    expectLaunchOnly(statements, ['RunnerExecutionRole', 'RunnerRestoreRole', 'RunnerTaskRole']);
  });

  it('write only their own log group', () => {
    for (const prefix of ['FunctionsScheduledBackupRole', 'FunctionsTaskFinishedRole', 'FunctionsWatchdogRole', 'FunctionsApiRole']) {
      const logs = granting(statementsOfRole(example, prefix), 'logs:PutLogEvents');
      expect(logs).toHaveLength(1);
      expect(asList(logs[0]!.Resource).map(flat)).toEqual([expect.stringMatching(new RegExp(`^<${prefix.replace('Role', 'Logs')}\\w+\\.Arn>$`))]);
    }
  });
});

/** RunTask of this task definition in this cluster, and PassRole on exactly `passedRoles` (logical id prefixes, sorted) to ECS tasks. */
function expectLaunchOnly(statements: readonly Statement[], passedRoles: readonly string[]): void {
  const task = logicalId(example, 'AWS::ECS::TaskDefinition');
  const cluster = logicalId(example, 'AWS::ECS::Cluster');
  const runTask = granting(statements, 'ecs:RunTask');
  expect(runTask).toHaveLength(1);
  expect(asList(runTask[0]!.Resource).map(flat)).toEqual([`<${task}>`]);
  expect(runTask[0]!.Condition).toEqual({ ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [cluster, 'Arn'] } } });
  const passRole = granting(statements, 'iam:PassRole');
  expect(passRole).toHaveLength(1);
  expect(resourcesOf(passRole)).toEqual(passedRoles.map((role) => expect.stringMatching(new RegExp(`^<${role}\\w+\\.Arn>$`))));
  expect(passRole[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
}

describe('the scheduler roles', () => {
  it('each invoke one function (not its versions) and send to the dead-letter queue, assumed only from this account', () => {
    const roles = resourcesWhere<{ AssumeRolePolicyDocument: { Statement: Statement[] } }>(example, 'AWS::IAM::Role', (properties) => JSON.stringify(properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'));
    expect(roles).toHaveLength(2);
    for (const role of roles) {
      expect(role.Properties.AssumeRolePolicyDocument.Statement[0]!.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
      const statements = statementsOfRole(example, role.id);
      expect(services(statements)).toEqual(['kms', 'lambda', 'sqs']);
      const invoke = granting(statements, 'lambda:InvokeFunction');
      expect(asList(invoke[0]!.Resource).map(flat)).toEqual([expect.stringMatching(/^<Functions(ScheduledBackup|Watchdog)Function\w+\.Arn>$/)]);
    }
  });
});

describe('the key policy', () => {
  it('gives "kms:*" only to the account root (AWS’s default delegation to IAM); service principals get named actions (both keys)', () => {
    const keys = resourcesWhere<{ KeyPolicy: { Statement: Statement[] } }>(example, 'AWS::KMS::Key');
    expect(keys).toHaveLength(2);
    for (const statement of keys.flatMap((key) => key.Properties.KeyPolicy.Statement)) {
      const actions = asList(statement.Action);
      if (actions.includes('kms:*')) {
        expect(flat((statement.Principal as { AWS: unknown }).AWS)).toBe('arn:aws:iam::<AWS::AccountId>:root');
      } else {
        for (const action of actions) expect(action).toMatch(/^kms:[A-Za-z]+$/);
      }
    }
  });
});
