/**
 * What the Azure functions read from the variables the Terraform module sets, the trace context
 * they hand the runner, and the HTTP status of each api answer. Pure: no emulator.
 */
import { describe, expect, it } from 'vitest';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { AZURE_FUNCTION_ENV, FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { ConfigError } from '../../core/errors.js';
import { azureSettingsFromEnv, cached } from '../../functions/azure/shared/settings.js';
import { traceEnvironment } from '../../functions/azure/shared/invocation.js';
import { statusFor } from '../../functions/azure/api.js';

const CONFIG = `
version: 1
environments:
  prod:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-from-config, storageAccount: vaultraprod }
    jobs:
      shop:
        source: "secret+azure://vaultraprod/shop-db"
        schedule: { cron: "0 3 * * *" }
  laptop:
    cloud: local
    jobs:
      notes: { source: "sqlite:/tmp/notes.db", schedule: { cron: "0 3 * * *" } }
`;

const env = (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
  const base: Record<string, string | undefined> = {
    [FUNCTION_ENV.environmentName]: 'prod',
    [FUNCTION_ENV.configJson]: bundledEnvironmentJson(CONFIG, 'prod'),
    [FUNCTION_ENV.storageUrl]: 'azblob://vaultraprod/vaultra/backups',
    [FUNCTION_ENV.catalogUrl]: 'aztable://vaultraprod/vaultraruns',
    [FUNCTION_ENV.kmsKey]: 'azure-keyvault:https://vaultraprod.vault.azure.net/keys/backups/0123456789abcdef0123456789abcdef',
    [AZURE_FUNCTION_ENV.subscriptionId]: '00000000-0000-4000-8000-000000000001',
    [AZURE_FUNCTION_ENV.resourceGroup]: 'rg-vaultra-prod',
    [AZURE_FUNCTION_ENV.containerAppsJob]: 'vaultra-runner',
    [AZURE_FUNCTION_ENV.managedIdentityClientId]: 'c1c1c1c1-0000-4000-8000-000000000002',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(base).filter((entry): entry is [string, string] => entry[1] !== undefined));
};

describe('azureSettingsFromEnv', () => {
  it('reads the environment, the runner target, the Container Apps job and the managed identity', () => {
    const settings = azureSettingsFromEnv(env());
    expect(settings.environment).toMatchObject({ name: 'prod', cloud: 'azure' });
    expect(settings.environment.jobs.map((job) => job.name)).toEqual(['shop']);
    expect(settings.target).toEqual({
      storageUrl: 'azblob://vaultraprod/vaultra/backups',
      catalogUrl: 'aztable://vaultraprod/vaultraruns',
      kmsKey: 'azure-keyvault:https://vaultraprod.vault.azure.net/keys/backups/0123456789abcdef0123456789abcdef',
    });
    expect(settings.containerApps).toEqual({ subscriptionId: '00000000-0000-4000-8000-000000000001', resourceGroup: 'rg-vaultra-prod', jobName: 'vaultra-runner' });
    expect(settings.managedIdentityClientId).toBe('c1c1c1c1-0000-4000-8000-000000000002');
  });

  it('reads the signing key the runner signs with and launched restores trust', () => {
    const signingKey = 'azure-keyvault:https://vaultraprod.vault.azure.net/keys/vaultra-signing/0123456789abcdef0123456789abcdef';
    expect(azureSettingsFromEnv(env({ [FUNCTION_ENV.signingKey]: signingKey })).target.signingKey).toBe(signingKey);
    expect(() => azureSettingsFromEnv(env({ [FUNCTION_ENV.signingKey]: 'aws-kms:arn' }))).toThrow(/VAULTRA_SIGNING_KEY is "aws-kms:arn": expected azure-keyvault:/);
  });

  it('falls back to the config for the resource group; the key and the client id are optional', () => {
    const settings = azureSettingsFromEnv(env({ [AZURE_FUNCTION_ENV.resourceGroup]: undefined, [FUNCTION_ENV.kmsKey]: undefined, [AZURE_FUNCTION_ENV.managedIdentityClientId]: undefined }));
    expect(settings.containerApps.resourceGroup).toBe('rg-from-config');
    expect(settings.target.kmsKey).toBeUndefined();
    expect(settings.managedIdentityClientId).toBeUndefined();
  });

  it('refuses what the module would never set, naming the variable and the value', () => {
    expect(() => azureSettingsFromEnv(env({ [AZURE_FUNCTION_ENV.containerAppsJob]: undefined }))).toThrow('environment variable VAULTRA_CONTAINER_APPS_JOB is not set');
    expect(() => azureSettingsFromEnv(env({ [FUNCTION_ENV.storageUrl]: 's3://bucket/backups' }))).toThrow('environment variable VAULTRA_STORAGE_URL is "s3://bucket/backups": expected azblob://');
    expect(() => azureSettingsFromEnv(env({ [FUNCTION_ENV.catalogUrl]: 'dynamodb://runs' }))).toThrow(ConfigError);
    expect(() => azureSettingsFromEnv(env({ [FUNCTION_ENV.kmsKey]: 'aws-kms:arn:aws:kms:eu-west-1:1:key/x' }))).toThrow(/VAULTRA_KMS_KEY .*expected azure-keyvault:/);
    expect(() => azureSettingsFromEnv(env({ [FUNCTION_ENV.environmentName]: 'laptop', [FUNCTION_ENV.configJson]: bundledEnvironmentJson(CONFIG, 'laptop') }))).toThrow('environment laptop is a local environment');
    expect(() => azureSettingsFromEnv(env({ [FUNCTION_ENV.environmentName]: 'staging' }))).toThrow('no environment "staging"');
  });

  it('cached builds once, and again after a failed build', async () => {
    let builds = 0;
    const get = cached(() => {
      builds += 1;
      if (builds === 1) throw new Error('cold start failed');
      return builds;
    });
    await expect(get()).rejects.toThrow('cold start failed');
    expect(await get()).toBe(2);
    expect(await get()).toBe(2);
  });
});

describe('traceEnvironment', () => {
  it('passes the first valid W3C traceparent as TRACEPARENT, and nothing else', () => {
    const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(traceEnvironment(valid)).toEqual({ TRACEPARENT: valid });
    expect(traceEnvironment(null, undefined, ` ${valid.toUpperCase()} `)).toEqual({ TRACEPARENT: valid });
    expect(traceEnvironment('not-a-traceparent', valid)).toEqual({ TRACEPARENT: valid });
    // All-zero trace or span ids are invalid by the W3C spec.
    expect(traceEnvironment('00-00000000000000000000000000000000-b7ad6b7169203331-01')).toEqual({});
    expect(traceEnvironment('00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01')).toEqual({});
    expect(traceEnvironment()).toEqual({});
  });
});

describe('api status codes', () => {
  it('200 for ok; 400 invalid request, 404 unknown run, 409 lock held, 502 not started, 500 otherwise', () => {
    expect(statusFor({ ok: true, action: 'list' })).toBe(200);
    const failed = (kind: string) => statusFor({ ok: false, error: { kind, message: '' } });
    expect(['config', 'not-found', 'skipped', 'launch-failed', 'launch', 'storage', 'internal'].map(failed)).toEqual([400, 404, 409, 502, 502, 500, 500]);
  });
});
