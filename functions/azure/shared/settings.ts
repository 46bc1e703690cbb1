import { environmentOf, resolveConfig, type Environment } from '../../../core/config/environments.js';
import { AZURE_FUNCTION_ENV, FUNCTION_ENV } from '../../../core/platform/function-deployment.js';
import { ConfigError } from '../../../core/errors.js';
import type { RunnerTarget } from '../../../core/usecases/runner-commands.js';
import type { ContainerAppsJobTarget } from '../../../core/adapters/launchers/container-apps-job-launcher.js';

/**
 * What the Terraform module told a function about its deployment, read from the variables it
 * sets (core/platform/function-deployment.ts). Plain data: each function then opens only the
 * clients it uses (clients.ts).
 */
export interface AzureSettings {
  readonly environment: Environment;
  /** Where launched runners write: `azblob://…`, `aztable://…`, and `azure-keyvault:…` for jobs with `encryption.kms`. */
  readonly target: RunnerTarget;
  readonly containerApps: ContainerAppsJobTarget & { readonly subscriptionId: string };
  /** The user-assigned managed identity the functions authenticate as (`AZURE_CLIENT_ID`); system-assigned when absent. */
  readonly managedIdentityClientId: string | undefined;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`environment variable ${name} is not set: the function app is not deployed by the Vaultra Terraform module`);
  return value;
}

function withScheme(env: NodeJS.ProcessEnv, name: string, scheme: string, example: string): string {
  const value = required(env, name);
  if (!value.startsWith(scheme)) throw new ConfigError(`environment variable ${name} is ${JSON.stringify(value)}: expected ${example}`);
  return value;
}

/** The environment's config arrives in `VAULTRA_CONFIG_JSON` and is validated again here, on a cold start. */
export function azureSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AzureSettings {
  const name = required(env, FUNCTION_ENV.environmentName);
  const environment = environmentOf(resolveConfig(JSON.parse(required(env, FUNCTION_ENV.configJson)), 'bundled config'), name);
  if (environment.cloud !== 'azure') throw new ConfigError(`environment ${name} is a ${environment.cloud} environment: the Azure functions serve azure environments only`);
  const kmsKey = env[FUNCTION_ENV.kmsKey]?.trim();
  if (kmsKey && !kmsKey.startsWith('azure-keyvault:')) throw new ConfigError(`environment variable ${FUNCTION_ENV.kmsKey} is ${JSON.stringify(kmsKey)}: expected azure-keyvault:https://<vault>.vault.azure.net/keys/<key>/<version>`);
  const signingKey = env[FUNCTION_ENV.signingKey]?.trim();
  if (signingKey && !signingKey.startsWith('azure-keyvault:')) throw new ConfigError(`environment variable ${FUNCTION_ENV.signingKey} is ${JSON.stringify(signingKey)}: expected azure-keyvault:https://<vault>.vault.azure.net/keys/<key>/<version>`);
  return {
    environment,
    target: {
      storageUrl: withScheme(env, FUNCTION_ENV.storageUrl, 'azblob://', 'azblob://<account>/<container>/<prefix>'),
      catalogUrl: withScheme(env, FUNCTION_ENV.catalogUrl, 'aztable://', 'aztable://<account>/<table>'),
      ...(kmsKey ? { kmsKey } : {}),
      ...(signingKey ? { signingKey } : {}),
      ...(environment.signing.trusted.length > 0 ? { trustedSigners: environment.signing.trusted } : {}),
    },
    containerApps: {
      subscriptionId: required(env, AZURE_FUNCTION_ENV.subscriptionId),
      resourceGroup: env[AZURE_FUNCTION_ENV.resourceGroup]?.trim() || environment.azure?.resourceGroup || required(env, AZURE_FUNCTION_ENV.resourceGroup),
      jobName: required(env, AZURE_FUNCTION_ENV.containerAppsJob),
      ...restoreJobOf(env),
    },
    managedIdentityClientId: env[AZURE_FUNCTION_ENV.managedIdentityClientId]?.trim() || undefined,
  };
}

/** The restore job, when the module made one (a deployment from before it has none: restores are then refused). */
function restoreJobOf(env: NodeJS.ProcessEnv): { restoreJobName?: string } {
  const name = env[AZURE_FUNCTION_ENV.containerAppsRestoreJob]?.trim();
  return name ? { restoreJobName: name } : {};
}

export { cached } from '../../shared/cached.js';
