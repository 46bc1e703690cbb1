import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it, vi } from 'vitest';
import { AwsSecretsManagerResolver, parseAwsSecretReference } from '../../core/adapters/secrets/aws-secret-resolver.js';
import { resolveSecret } from '../../core/adapters/secrets/secret-resolvers.js';
import { connectionUrlFromSecret } from '../../core/adapters/engines/secret-connection-url.js';
import { redact } from '../../core/domain/redact.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { eachAwsEmulator } from '../support/aws-emulators.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { secretResolverContract } from './secret-resolver.contract.js';

describe('parseAwsSecretReference', () => {
  it('reads names, ARNs (their region too), region and versionStage', () => {
    expect(parseAwsSecretReference('secret+aws://prod/shop/db')).toEqual({ secretId: 'prod/shop/db' });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/shop/db-AbCdEf';
    expect(parseAwsSecretReference(`secret+aws://${arn}`)).toEqual({ secretId: arn, region: 'eu-west-1' });
    expect(parseAwsSecretReference('secret+aws://rds-db-1234?region=us-east-2&versionStage=AWSPREVIOUS')).toEqual({
      secretId: 'rds-db-1234',
      region: 'us-east-2',
      versionStage: 'AWSPREVIOUS',
    });
  });

  it.each(['secret+aws://', 'secret+aws://a b', 'secret+aws://db?regoin=eu-west-1', 'secret+aws://db?region=Europe', 'secret+gcp://db', 'secret+aws://db#x'])('refuses %s with a ConfigError', (reference) => {
    expect(() => parseAwsSecretReference(reference)).toThrow(ConfigError);
  });
});

describe.each(eachAwsEmulator())('AwsSecretsManagerResolver on %s', (_name, emulator) => {
  const server = emulator.require();
  if (!server) return;

  const secrets = new SecretsManagerClient(motoClientConfig(server));
  const resolver = () => new AwsSecretsManagerResolver({ clientFor: (region) => new SecretsManagerClient(motoClientConfig(server, region ?? server.region)) });
  const unique = (name: string) => `vaultra-test/${name}-${randomBytes(4).toString('hex')}`;

  secretResolverContract('AwsSecretsManagerResolver', async () => ({
    resolver: resolver(),
    async put(name, value) {
      const { ARN } = await secrets.send(new CreateSecretCommand({ Name: unique(name), SecretString: value }));
      return `secret+aws://${ARN}`;
    },
    missingReference: `secret+aws://${unique('missing')}`,
    malformedReference: 'secret+aws://prod db?colour=blue',
  }));

  it('reads by name, and an older version by its stage', async () => {
    const name = unique('rotated');
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'postgres://app:old@db/shop' }));
    await secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'postgres://app:new@db/shop' }));
    expect(await resolver().resolve(`secret+aws://${name}`)).toBe('postgres://app:new@db/shop');
    expect(await resolver().resolve(`secret+aws://${name}?versionStage=AWSPREVIOUS`)).toBe('postgres://app:old@db/shop');
  });

  it('an RDS-shaped JSON secret becomes a connection URL', async () => {
    const name = unique('rds');
    const json = JSON.stringify({ engine: 'postgres', host: 'db.internal', port: 5432, username: 'app', password: 'p@ss/word', dbname: 'shop' });
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: json }));
    expect(connectionUrlFromSecret(await resolver().resolve(`secret+aws://${name}`))).toBe('postgres://app:p%40ss%2Fword@db.internal:5432/shop');
  });

  it('refuses a binary secret with a ConfigError that carries no value', async () => {
    const name = unique('binary');
    await secrets.send(new CreateSecretCommand({ Name: name, SecretBinary: Buffer.from('binary-canary-value') }));
    await expect(resolver().resolve(`secret+aws://${name}`)).rejects.toSatisfy((e: unknown) => e instanceof ConfigError && /binary/.test(e.message) && !e.message.includes('canary'));
  });

  it('a missing secret in another region is a NotFoundError naming it', async () => {
    const name = unique('elsewhere');
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'x-value' }));
    await expect(resolver().resolve(`secret+aws://${name}?region=eu-central-1`)).rejects.toSatisfy((e: unknown) => e instanceof NotFoundError && e.message.includes(name));
  });

  it('resolveSecret() reaches Secrets Manager through the AWS_* environment and registers the value for redaction', async () => {
    const canary = `canary-${randomBytes(6).toString('hex')}`;
    const value = JSON.stringify({ engine: 'postgres', host: 'db', username: 'app', password: canary });
    const name = unique('registry');
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    for (const [key, setting] of Object.entries(server.env)) vi.stubEnv(key, setting);
    try {
      expect(await resolveSecret(`secret+aws://${name}`)).toBe(value);
      // Only the registration can remove it: the JSON form escapes the URL and password patterns.
      expect(redact(`unexpected secret shape: ${value}`)).not.toContain(canary);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
