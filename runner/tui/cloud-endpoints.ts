import type { Environment } from '../../core/config/load-config.js';
import type { CloudConsole } from './console-data.js';
import type { OnDemandApi } from '../../core/ports/on-demand-api.js';
import type { RunLogReader } from '../../core/ports/run-log.js';
import { ConfigError } from '../../core/errors.js';
import { awsNames, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';

/**
 * Where a cloud environment's console reaches the deployment: its on-demand API and its runner
 * logs, from the config (`api:`, `azure.logWorkspace`) or the names the stack and the modules
 * give them. Each cloud's adapter is imported only when that cloud is asked for.
 */

/** The environment's api function as the console calls it: names the stacks give, unless `api:` says otherwise. */
export function apiEndpointOf(environment: Environment): string {
  const { cloud, name, region } = environment;
  if (environment.api) return environment.api;
  switch (cloud) {
    case 'aws':
      return awsNames.apiFunction(name);
    case 'gcp':
      // Cloud Functions (2nd gen) keep the cloudfunctions.net address beside the run.app one; the ID token's audience is this URL.
      return `https://${region}-${environment.gcp!.project}.cloudfunctions.net/vaultra-${name}-api`;
    case 'azure':
      return `https://vaultra-${name}-functions.azurewebsites.net/api/api`;
    case 'local':
      throw new ConfigError(`environment ${name} is local: its actions run here, not through an api function`);
  }
}

/**
 * The on-demand API of a cloud environment. Azure's function wants its key (`VAULTRA_API_KEY`,
 * sent as a header, never shown) or, with App Service Authentication, an Entra ID token for the
 * app registration's scope (`VAULTRA_API_SCOPE`).
 */
export async function onDemandApiOf(environment: Environment, env: NodeJS.ProcessEnv = process.env): Promise<OnDemandApi> {
  const endpoint = apiEndpointOf(environment);
  switch (environment.cloud) {
    case 'aws': {
      const { LambdaOnDemandApi } = await import('../../core/adapters/on-demand-api/lambda-on-demand-api.js');
      return new LambdaOnDemandApi({ functionName: endpoint, region: environment.region! });
    }
    case 'gcp': {
      const { CloudFunctionOnDemandApi } = await import('../../core/adapters/on-demand-api/cloud-function-on-demand-api.js');
      return new CloudFunctionOnDemandApi({ url: endpoint });
    }
    case 'azure': {
      const { AzureFunctionOnDemandApi } = await import('../../core/adapters/on-demand-api/azure-function-on-demand-api.js');
      if (env.VAULTRA_API_KEY) return new AzureFunctionOnDemandApi({ url: endpoint, auth: { functionKey: env.VAULTRA_API_KEY } });
      if (env.VAULTRA_API_SCOPE) return new AzureFunctionOnDemandApi({ url: endpoint, auth: { entraScope: env.VAULTRA_API_SCOPE } });
      // Browsing needs no key: only an action says what is missing, when it is asked for.
      const missing = new ConfigError(`calling ${endpoint} needs the function's key in VAULTRA_API_KEY (az functionapp function keys list), or VAULTRA_API_SCOPE for an Entra ID token`);
      return { endpoint, send: () => Promise.reject(missing) };
    }
    case 'local':
      throw new ConfigError(`environment ${environment.name} is local: its actions run here, not through an api function`);
  }
}

/** A cloud environment's runner logs, or why there are none to read (a line the run screen shows instead). */
export type CloudRunLog = { readonly reader: RunLogReader } | { readonly unavailable: string };

export async function cloudRunLogOf(environment: Environment): Promise<CloudRunLog> {
  const { cloud, name, region } = environment;
  switch (cloud) {
    case 'aws': {
      const { CloudWatchRunLogReader } = await import('../../core/adapters/run-log/cloudwatch-run-log-reader.js');
      return {
        reader: new CloudWatchRunLogReader({
          region: region!,
          containerName: RUNNER_CONTAINER_NAME,
          taskFamily: (run) => (run.kind === 'drill' ? awsNames.drillTaskFamily(name, run.job) : awsNames.runnerTaskFamily(name)),
        }),
      };
    }
    case 'gcp': {
      const { CloudLoggingRunLogReader } = await import('../../core/adapters/run-log/cloud-logging-run-log-reader.js');
      return { reader: new CloudLoggingRunLogReader({ project: environment.gcp!.project }) };
    }
    case 'azure': {
      const workspaceId = environment.azure?.logWorkspace;
      if (!workspaceId) return { unavailable: `set azure.logWorkspace (the Log Analytics workspace id) in environment ${name} to read runner logs` };
      const { LogAnalyticsRunLogReader } = await import('../../core/adapters/run-log/log-analytics-run-log-reader.js');
      return { reader: new LogAnalyticsRunLogReader({ workspaceId }) };
    }
    case 'local':
      return { unavailable: 'a local run keeps its log beside the catalog' };
  }
}

/** What a cloud environment's console acts and reads through; what is missing for either is said by the screen that needs it. */
export async function cloudConsoleOf(environment: Environment, env: NodeJS.ProcessEnv = process.env): Promise<CloudConsole> {
  return { api: await onDemandApiOf(environment, env), runLog: await cloudRunLogOf(environment) };
}
