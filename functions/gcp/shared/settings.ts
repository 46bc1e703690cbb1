import * as z from 'zod';
import { environmentOf, resolveConfig, type Environment } from '../../../core/config/environments.js';
import { FUNCTION_ENV, GCP_FUNCTION_ENV } from '../../../core/platform/function-deployment.js';
import { ConfigError } from '../../../core/errors.js';
import { parseAtEdge } from '../../../core/domain/validate.js';
import type { RunnerTarget } from '../../../core/usecases/runner-commands.js';

/**
 * What Terraform told a function about its deployment, read from the variables it sets
 * (core/platform/function-deployment.ts). Plain data: each function then opens only the clients
 * it uses (clients.ts), so a cold start loads only their SDKs.
 */
export interface GcpSettings {
  readonly environment: Environment;
  /** Where launched runners write: `gs://…` storage, `firestore://…` catalog, `gcp-kms:…` key. */
  readonly target: RunnerTarget;
  /** `projects/<p>/locations/<region>/jobs/<job>`: the Cloud Run job that runs the runner. */
  readonly runJob: string;
  /** The Cloud Run job restores and verifies run on (`VAULTRA_CLOUD_RUN_RESTORE_JOB`); absent in a deployment made before it existed. */
  readonly restoreJob: string | undefined;
  /** Each drilled job's Cloud Run drill job, by job name (`VAULTRA_CLOUD_RUN_DRILL_JOBS`); empty when no job schedules a drill. */
  readonly drillJobs: Readonly<Record<string, string>>;
  /** `projects/<p>/topics/<t>`: alerts are published here too, when set. */
  readonly alertTopic: string | undefined;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set: the function is not deployed by the Vaultra Terraform module`);
  return value;
}

function withScheme(env: NodeJS.ProcessEnv, name: string, scheme: string): string {
  const value = required(env, name);
  if (!value.toLowerCase().startsWith(scheme)) throw new ConfigError(`environment variable ${name} must be a ${scheme}… URL on Google Cloud, got ${JSON.stringify(value.replace(/\?.*$/, ''))}`);
  return value;
}

/** The environment's config arrives as JSON in `VAULTRA_CONFIG_JSON` and is validated again here. */
export function gcpSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): GcpSettings {
  const name = required(env, FUNCTION_ENV.environmentName);
  let raw: unknown;
  try {
    raw = JSON.parse(required(env, FUNCTION_ENV.configJson));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`environment variable ${FUNCTION_ENV.configJson} is not JSON`, { cause: error });
  }
  const environment = environmentOf(resolveConfig(raw, 'deployed config'), name);
  if (environment.cloud !== 'gcp') throw new ConfigError(`environment ${name} is a ${environment.cloud} environment, not gcp: deploy it with its own cloud's stack`);
  const kmsKey = env[FUNCTION_ENV.kmsKey];
  if (kmsKey && !kmsKey.startsWith('gcp-kms:')) throw new ConfigError(`environment variable ${FUNCTION_ENV.kmsKey} must be gcp-kms:projects/…/cryptoKeys/…, got ${JSON.stringify(kmsKey)}`);
  const signingKey = env[FUNCTION_ENV.signingKey];
  if (signingKey && !signingKey.startsWith('gcp-kms:')) throw new ConfigError(`environment variable ${FUNCTION_ENV.signingKey} must be gcp-kms:projects/…/cryptoKeyVersions/<n>, got ${JSON.stringify(signingKey)}`);
  return {
    environment,
    target: {
      storageUrl: withScheme(env, FUNCTION_ENV.storageUrl, 'gs://'),
      catalogUrl: withScheme(env, FUNCTION_ENV.catalogUrl, 'firestore://'),
      ...(kmsKey ? { kmsKey } : {}),
      ...(signingKey ? { signingKey } : {}),
      ...(environment.signing.trusted.length > 0 ? { trustedSigners: environment.signing.trusted } : {}),
    },
    runJob: required(env, GCP_FUNCTION_ENV.runJob),
    restoreJob: env[GCP_FUNCTION_ENV.restoreJob] || undefined,
    drillJobs: drillJobsOf(env[GCP_FUNCTION_ENV.drillJobs]),
    alertTopic: env[GCP_FUNCTION_ENV.alertTopic] || undefined,
  };
}

/** `{ "<job>": "projects/…/jobs/<drill job>" }` as Terraform writes it; absent or empty: no drill scheduled. */
function drillJobsOf(json: string | undefined): Record<string, string> {
  if (!json) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`environment variable ${GCP_FUNCTION_ENV.drillJobs} is not JSON: redeploy with the Vaultra Terraform module`, { cause: error });
  }
  return parseAtEdge(z.record(z.string(), z.string()), raw, GCP_FUNCTION_ENV.drillJobs);
}

export { cached } from '../../shared/cached.js';
