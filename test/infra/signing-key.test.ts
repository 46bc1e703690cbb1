/**
 * The manifest signing key in the AWS stack: an asymmetric ECC_NIST_P256 SIGN_VERIFY key that
 * outlives the stack, the runner allowed kms:Sign and kms:GetPublicKey on it and nothing else, no
 * other role touching it, and its ARN handed to the functions (which put it on the runner's
 * command line) and shown as an output.
 */
process.env.CDK_VALIDATION = 'false';

import { beforeAll, describe, expect, it } from 'vitest';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AWS_FUNCTION_ENV } from '../../core/platform/aws-deployment.js';
import { EXAMPLE_CONFIG, synthStack } from './support/synth.js';
import { asList, flat, onlyResource, resourcesWhere, roleStatements, type Statement } from './support/template-queries.js';

let template: Template;
let signingKey: string;

beforeAll(() => {
  ({ template } = synthStack(EXAMPLE_CONFIG, 'example'));
  signingKey = onlyResource<Record<string, unknown>>(template, 'AWS::KMS::Key', (properties) => properties.KeyUsage === 'SIGN_VERIFY').id;
});

describe('the manifest signing key', () => {
  it('is asymmetric P-256 for signing, kept when the stack goes, with its own alias and no rotation (KMS has none for asymmetric keys)', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', EnableKeyRotation: Match.absent() }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/vaultra/example/signing', TargetKeyId: { 'Fn::GetAtt': [signingKey, 'Arn'] } });
  });

  it('the backup role may sign and read the public key, the restore role only read it; never verify, decrypt or administer it; no other role touches it', () => {
    const onKey = (statements: readonly Statement[]) => statements.filter((statement) => asList(statement.Resource).map(flat).includes(`<${signingKey}.Arn>`));
    const touching = [...roleStatements(template)].filter(([, statements]) => onKey(statements).length > 0);
    expect(touching.map(([role]) => role).sort()).toEqual([expect.stringMatching(/^RunnerRestoreRole/), expect.stringMatching(/^RunnerTaskRole/)]);
    const actionsOf = (prefix: string) => onKey(touching.find(([role]) => role.startsWith(prefix))![1]).flatMap((statement) => asList(statement.Action)).sort();
    expect(actionsOf('RunnerTaskRole')).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    // Restores and verifies trust the key by name (`--trust aws-kms:…`); they sign nothing.
    expect(actionsOf('RunnerRestoreRole')).toEqual(['kms:GetPublicKey']);
  });

  it('reaches every function as VAULTRA_SIGNING_KEY_ARN, and is a stack output', () => {
    const functions = resourcesWhere<{ Environment?: { Variables?: Record<string, unknown> } }>(template, 'AWS::Lambda::Function', (properties) => properties.Environment?.Variables?.[AWS_FUNCTION_ENV.environmentName] !== undefined);
    expect(functions).toHaveLength(4);
    for (const fn of functions) expect(flat(fn.Properties.Environment!.Variables![AWS_FUNCTION_ENV.signingKeyArn]), fn.id).toBe(`<${signingKey}.Arn>`);
    template.hasOutput('SigningKeyArn', { Value: { 'Fn::GetAtt': [signingKey, 'Arn'] } });
  });
});
