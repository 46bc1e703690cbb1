/**
 * What a chunked run (docs/chunked-snapshots.md) touches in the AWS stack, checked on the
 * synthesized policies with IAM's own wildcard rules: the runner lists the job's folder and its
 * `shared/` packs, reads manifests, signatures and snapshot indexes, writes and cleans up packs;
 * retention (task-finished) lists, reads manifests and deletes packs. And the dedup key: one
 * generated secret, read by the runner's execution role only.
 */
process.env.CDK_VALIDATION = 'false';

import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { EXAMPLE_CONFIG, synthStack, testConfig } from './support/synth.js';
import { asList, flat, iamMatches, onlyResource, roleStatements, statementsOfRole, type Statement } from './support/template-queries.js';

let example: Template;
let locked: Template;

beforeAll(() => {
  example = synthStack(EXAMPLE_CONFIG, 'example').template;
  locked = synthStack(testConfig({ storage: { objectLock: { mode: 'GOVERNANCE', days: 14 } } }), 'test').template;
});

/** Whether an Allow statement grants `action` on `resource` (flattened ARN) — and, for a listing, with `s3:prefix` = `listPrefix`. */
function allows(statements: readonly Statement[], action: string, resource: string, listPrefix?: string): boolean {
  return statements.some((statement) => {
    if (statement.Effect !== 'Allow' || !asList(statement.Action).includes(action)) return false;
    if (!asList(statement.Resource).map(flat).some((pattern) => iamMatches(pattern, resource))) return false;
    const prefixes = asList(statement.Condition?.StringLike?.['s3:prefix'] as string | string[] | undefined);
    if (listPrefix === undefined || prefixes.length === 0) return statement.Condition === undefined || listPrefix !== undefined;
    return prefixes.some((pattern) => iamMatches(pattern, listPrefix));
  });
}

const dataBucket = (template: Template) => onlyResource<Record<string, unknown>>(template, 'AWS::S3::Bucket', (properties) => properties.VersioningConfiguration !== undefined).id;

/** The keys of one chunked run of job `nightly` under the default prefix, as object ARNs. */
function chunkedRunKeys(template: Template) {
  const object = (key: string) => `<${dataBucket(template)}.Arn>/vaultra/${key}`;
  const run = 'nightly/2026/12/06/20261206T030000000Z-4f2a9c';
  return {
    bucket: `<${dataBucket(template)}.Arn>`,
    planReads: ['manifest.json', 'manifest.json.sig', 'index.tsv.gz'].map((name) => object(`${run}/${name}`)),
    pack: object('nightly/shared/pack-0123456789abcdef0123456789abcdef.age'),
    listings: ['vaultra/nightly/', 'vaultra/nightly/shared/'],
  };
}

describe.each([
  ['example', () => example],
  ['Object Lock', () => locked],
])('a chunked run in the %s stack', (_name, templateOf) => {
  it('the runner lists the job and its packs, reads manifests, signatures and indexes, writes packs and deletes its failed ones', () => {
    const runner = statementsOfRole(templateOf(), 'RunnerTaskRole');
    const keys = chunkedRunKeys(templateOf());
    for (const prefix of keys.listings) expect(allows(runner, 's3:ListBucket', keys.bucket, prefix), `list ${prefix}`).toBe(true);
    for (const key of keys.planReads) expect(allows(runner, 's3:GetObject', key), key).toBe(true);
    // Packs are about 32 MiB: multipart uploads, aborted on failure; a failed run deletes the packs it wrote.
    for (const action of ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject']) expect(allows(runner, action, keys.pack), action).toBe(true);
    // No version deletes: a compromised runner cannot erase a pack's history.
    expect(allows(runner, 's3:DeleteObjectVersion', keys.pack)).toBe(false);
  });

  it('retention (task-finished) lists the job and its packs, reads manifests and deletes unreferenced packs', () => {
    const finished = statementsOfRole(templateOf(), 'FunctionsTaskFinishedRole');
    const keys = chunkedRunKeys(templateOf());
    for (const prefix of keys.listings) expect(allows(finished, 's3:ListBucket', keys.bucket, prefix), `list ${prefix}`).toBe(true);
    expect(allows(finished, 's3:GetObject', keys.planReads[0]!)).toBe(true);
    expect(allows(finished, 's3:DeleteObject', keys.pack)).toBe(true);
    expect(allows(finished, 's3:PutObject', keys.pack)).toBe(false);
  });

  it('nothing lists outside the prefix', () => {
    const keys = chunkedRunKeys(templateOf());
    for (const [role, statements] of roleStatements(templateOf())) expect(allows(statements, 's3:ListBucket', keys.bucket, 'other/nightly/shared/'), role).toBe(false);
  });
});

describe('the dedup key', () => {
  const secretArn = () => `<${onlyResource(example, 'AWS::SecretsManager::Secret').id}>`;
  const onSecret = (statements: readonly Statement[]) => statements.filter((statement) => asList(statement.Resource).map(flat).includes(secretArn()));

  it('is read by the runner’s execution role only (ECS injects it at start), which may only read it', () => {
    const touching = [...roleStatements(example)].filter(([, statements]) => onSecret(statements).length > 0);
    expect(touching.map(([role]) => role)).toEqual([expect.stringMatching(/^RunnerExecutionRole/)]);
    expect(onSecret(touching[0]![1]).flatMap((statement) => asList(statement.Action)).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
  });

  it('is encrypted with the AWS managed key, so the execution role that reads it holds no KMS permission', () => {
    expect(onlyResource<{ KmsKeyId?: unknown }>(example, 'AWS::SecretsManager::Secret').Properties.KmsKeyId).toBeUndefined();
    const execution = statementsOfRole(example, 'RunnerExecutionRole');
    expect(execution.flatMap((statement) => asList(statement.Action)).filter((action) => action.startsWith('kms:'))).toEqual([]);
  });
});
