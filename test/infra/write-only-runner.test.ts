/**
 * Issue 14's "the runner role on AWS still cannot read any backup (tested with its policy)":
 * backups run as a write-only *backup role* (the task definition's own task role), restores and
 * verifies as a *restore role* the api function passes in RunTask's `overrides.taskRoleArn`.
 * Checked by evaluating the synthesized identity policies against requests, conditions included
 * (a small evaluator of the operators the stack uses; an operator it does not know fails the test).
 */
process.env.CDK_VALIDATION = 'false';

import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { AWS_FUNCTION_ENV } from '../../core/platform/aws-deployment.js';
import { EXAMPLE_CONFIG, synthStack, testConfig } from './support/synth.js';
import { asList, flat, iamMatches, granting, onlyResource, resourcesWhere, roleStatements, statementsOfRole, type Statement } from './support/template-queries.js';

let example: Template;
let locked: Template;

beforeAll(() => {
  example = synthStack(EXAMPLE_CONFIG, 'example').template;
  locked = synthStack(testConfig({ storage: { objectLock: { mode: 'GOVERNANCE', days: 14 } } }), 'test').template;
});

/** One API call as IAM sees it: the action, the resource (flattened ARN) and the request's condition keys. */
interface Request {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
}

const OPERATORS: Record<string, (pattern: string, value: string) => boolean> = {
  StringEquals: (pattern, value) => pattern === value,
  ArnEquals: (pattern, value) => pattern === value,
  StringLike: iamMatches,
  ArnLike: iamMatches,
};

/** Whether every condition of `statement` holds for `request`; a key the request lacks fails its condition, as in IAM. */
function conditionsHold(statement: Statement, request: Request): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) => {
    const test = OPERATORS[operator];
    if (!test) throw new Error(`the evaluator does not know condition operator ${operator}: teach it before trusting this test`);
    return Object.entries(keys).every(([key, patterns]) => {
      const value = request.context?.[key];
      return value !== undefined && asList(patterns).map(flat).some((pattern) => test(pattern, value));
    });
  });
}

/** IAM's verdict on `request` from identity policies alone: some Allow matches and no Deny does. */
function isAllowed(statements: readonly Statement[], request: Request): boolean {
  const matching = statements.filter(
    (statement) => asList(statement.Action).includes(request.action) && asList(statement.Resource).map(flat).some((pattern) => iamMatches(pattern, request.resource)) && conditionsHold(statement, request),
  );
  return matching.some((statement) => statement.Effect === 'Allow') && !matching.some((statement) => statement.Effect === 'Deny');
}

const REGION_OF = { example: 'eu-west-1', test: 'eu-central-1' } as const;
const dataBucket = (template: Template) => onlyResource<Record<string, unknown>>(template, 'AWS::S3::Bucket', (properties) => properties.VersioningConfiguration !== undefined).id;
const environmentKey = (template: Template) => onlyResource<Record<string, unknown>>(template, 'AWS::KMS::Key', (properties) => properties.KeyUsage === undefined).id;
const signingKey = (template: Template) => onlyResource<Record<string, unknown>>(template, 'AWS::KMS::Key', (properties) => properties.KeyUsage === 'SIGN_VERIFY').id;
const roleId = (template: Template, prefix: string) => {
  const ids = [...roleStatements(template).keys()].filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one role ${prefix}…, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
};

/** The keys of job `nightly` under the default prefix, as object ARNs. */
function objectsOf(template: Template) {
  const object = (key: string) => `<${dataBucket(template)}.Arn>/vaultra/nightly/${key}`;
  const run = '2026/12/06/20261206T030000000Z-4f2a9c';
  return {
    planReads: ['manifest.json', 'manifest.json.sig', 'index.tsv.gz'].map((name) => object(`${run}/${name}`)),
    pack: object('shared/pack-0123456789abcdef0123456789abcdef.age'),
    data: object(`${run}/data.dump.zst.age`),
  };
}

describe.each([
  ['example', () => example, REGION_OF.example],
  ['Object Lock', () => locked, REGION_OF.test],
])('the runner roles of the %s stack', (_name, templateOf, region) => {
  const key = () => `<${environmentKey(templateOf())}.Arn>`;
  const backup = () => statementsOfRole(templateOf(), 'RunnerTaskRole');
  const restore = () => statementsOfRole(templateOf(), 'RunnerRestoreRole');
  const via = (service: string) => ({ 'kms:ViaService': `${service}.${region}.<AWS::URLSuffix>` });

  it('the task definition runs as the backup role unless a launch names another', () => {
    const task = onlyResource<{ TaskRoleArn: unknown; ExecutionRoleArn: unknown }>(templateOf(), 'AWS::ECS::TaskDefinition');
    expect(flat(task.Properties.TaskRoleArn)).toBe(`<${roleId(templateOf(), 'RunnerTaskRole')}.Arn>`);
    expect(flat(task.Properties.ExecutionRoleArn)).toBe(`<${roleId(templateOf(), 'RunnerExecutionRole')}.Arn>`);
  });

  it('the backup role cannot call kms:Decrypt itself, so it cannot unwrap an age vaultra-kms stanza', () => {
    expect(isAllowed(backup(), { action: 'kms:Decrypt', resource: key() })).toBe(false);
    // Not through a service that would decrypt what the caller hands it, either.
    for (const service of ['secretsmanager', 'sns', 'sqs', 'lambda', 'logs']) expect(isAllowed(backup(), { action: 'kms:Decrypt', resource: key(), context: via(service) }), service).toBe(false);
    // Every statement that grants Decrypt, on any resource, is bound to S3 or DynamoDB.
    for (const statement of granting(backup(), 'kms:Decrypt')) {
      expect(Object.keys(statement.Condition?.StringEquals ?? {})).toEqual(['kms:ViaService']);
      expect(asList(statement.Condition!.StringEquals!['kms:ViaService']).map(flat).sort()).toEqual([via('dynamodb')['kms:ViaService'], via('s3')['kms:ViaService']]);
    }
    // Wrapping a new backup's file key stays allowed.
    expect(isAllowed(backup(), { action: 'kms:Encrypt', resource: key() })).toBe(true);
  });

  it('the backup role decrypts only as S3 and DynamoDB do for it: the bucket and the catalog table are encrypted with the environment key', () => {
    const bucket = onlyResource<{ BucketEncryption: { ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID: unknown } }[] } }>(
      templateOf(),
      'AWS::S3::Bucket',
      (properties) => (properties as Record<string, unknown>).VersioningConfiguration !== undefined,
    );
    const sse = bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]!.ServerSideEncryptionByDefault;
    expect(sse.SSEAlgorithm).toBe('aws:kms');
    expect(flat(sse.KMSMasterKeyID)).toBe(key());
    const table = onlyResource<{ SSESpecification: { SSEType: string; KMSMasterKeyId: unknown } }>(templateOf(), 'AWS::DynamoDB::Table');
    expect(table.Properties.SSESpecification.SSEType).toBe('KMS');
    expect(flat(table.Properties.SSESpecification.KMSMasterKeyId)).toBe(key());
    for (const service of ['s3', 'dynamodb']) {
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) expect(isAllowed(backup(), { action, resource: key(), context: via(service) }), `${action} via ${service}`).toBe(true);
    }
    expect(isAllowed(backup(), { action: 'kms:GenerateDataKey', resource: key() }), 'no data key of its own').toBe(false);
  });

  it('the backup role reads what a chunked backup plans from (manifests, signatures, indexes) and writes packs', () => {
    const objects = objectsOf(templateOf());
    for (const object of objects.planReads) expect(isAllowed(backup(), { action: 's3:GetObject', resource: object }), object).toBe(true);
    for (const action of ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject']) expect(isAllowed(backup(), { action, resource: objects.pack }), action).toBe(true);
  });

  it('the backup role gets only ciphertext from a pack or a data object: s3:GetObject stays (S3 authorizes HEAD with it), the unwrap does not', () => {
    // The upload HEADs each object it completes (size and checksum check), and S3 has no
    // HEAD-only permission: a GetObject on a pack therefore succeeds and returns an age file,
    // whose file key only a direct kms:Decrypt (or an X25519 identity the runner never holds) opens.
    const objects = objectsOf(templateOf());
    for (const object of [objects.pack, objects.data]) expect(isAllowed(backup(), { action: 's3:GetObject', resource: object }), object).toBe(true);
    expect(isAllowed(backup(), { action: 'kms:Decrypt', resource: key() })).toBe(false);
  });

  it('the restore role reads and decrypts every backup, writes and deletes nothing, and only reads the signing key’s public half', () => {
    const objects = objectsOf(templateOf());
    expect(isAllowed(restore(), { action: 'kms:Decrypt', resource: key() })).toBe(true);
    for (const object of [...objects.planReads, objects.pack, objects.data]) expect(isAllowed(restore(), { action: 's3:GetObject', resource: object }), object).toBe(true);
    for (const action of ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectRetention']) expect(isAllowed(restore(), { action, resource: objects.pack }), action).toBe(false);
    const signing = `<${signingKey(templateOf())}.Arn>`;
    expect(isAllowed(restore(), { action: 'kms:GetPublicKey', resource: signing })).toBe(true);
    expect(isAllowed(restore(), { action: 'kms:Sign', resource: signing })).toBe(false);
    expect(isAllowed(backup(), { action: 'kms:Sign', resource: signing })).toBe(true);
  });

  it('both task roles are assumable by ECS tasks of this account only', () => {
    for (const prefix of ['RunnerTaskRole', 'RunnerRestoreRole']) {
      const [role] = resourcesWhere<{ AssumeRolePolicyDocument: { Statement: Statement[] } }>(templateOf(), 'AWS::IAM::Role').filter((candidate) => candidate.id.startsWith(prefix));
      expect(role!.Properties.AssumeRolePolicyDocument.Statement, prefix).toEqual([
        expect.objectContaining({ Principal: { Service: 'ecs-tasks.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }),
      ]);
    }
  });

  it('only the api function may pass the restore role to a task; scheduled-backup passes the backup role only', () => {
    const arn = (prefix: string) => `<${roleId(templateOf(), prefix)}.Arn>`;
    const passes = (statements: readonly Statement[], role: string) => isAllowed(statements, { action: 'iam:PassRole', resource: arn(role), context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    const scheduled = statementsOfRole(templateOf(), 'FunctionsScheduledBackupRole');
    const api = statementsOfRole(templateOf(), 'FunctionsApiRole');
    for (const role of ['RunnerTaskRole', 'RunnerExecutionRole']) {
      expect(passes(scheduled, role), `scheduled-backup passes ${role}`).toBe(true);
      expect(passes(api, role), `api passes ${role}`).toBe(true);
    }
    expect(passes(scheduled, 'RunnerRestoreRole')).toBe(false);
    expect(passes(api, 'RunnerRestoreRole')).toBe(true);
    // To ECS tasks only.
    expect(isAllowed(api, { action: 'iam:PassRole', resource: arn('RunnerRestoreRole'), context: { 'iam:PassedToService': 'lambda.amazonaws.com' } })).toBe(false);
    const passers = [...roleStatements(templateOf())].filter(([, statements]) => passes(statements, 'RunnerRestoreRole')).map(([role]) => role);
    expect(passers).toEqual([roleId(templateOf(), 'FunctionsApiRole')]);
  });

  it('every function learns the restore role’s ARN from the stack (the launcher passes it for restores and verifies)', () => {
    const functions = resourcesWhere<{ Environment?: { Variables?: Record<string, unknown> } }>(templateOf(), 'AWS::Lambda::Function', (properties) => properties.Environment?.Variables?.[AWS_FUNCTION_ENV.environmentName] !== undefined);
    expect(functions).toHaveLength(4);
    for (const fn of functions) expect(flat(fn.Properties.Environment!.Variables![AWS_FUNCTION_ENV.restoreTaskRoleArn]), fn.id).toBe(`<${roleId(templateOf(), 'RunnerRestoreRole')}.Arn>`);
  });
});
