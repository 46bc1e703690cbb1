import type { TokenCredential } from '@azure/identity';
import type { DeployedSchedule, DeployedScheduleReader } from '../../ports/deployed-schedules.js';
import { AbortedError, ConfigError, StorageError } from '../../errors.js';
import { resolveConfig } from '../../config/environments.js';
import { deployedFormOf } from '../../config/deployed-schedule-forms.js';
import { defaultAzureCredential } from './azure-credential.js';
import { describeAzureError, isCredentialError } from './azure-errors.js';

/** The app setting infra/azure gives the function app: the config its dispatcher walks. */
const CONFIG_SETTING = 'VAULTRA_CONFIG_JSON';
const API_VERSION = '2023-12-01';

export interface FunctionAppScheduleReaderOptions {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The Terraform module's `var.environment`: the app is `vaultra-<env>-functions`, its config names this environment. */
  readonly environment: string;
  /** @default the shared `DefaultAzureCredential` */
  readonly credential?: TokenCredential;
  /** @default https://management.azure.com */
  readonly managementEndpoint?: string;
}

/**
 * What an Azure deployment will fire: Azure has no schedule resources for Vaultra jobs — the
 * dispatcher's timer walks `dueRuns` over the config the function app was deployed with — so this
 * reads that config (the `VAULTRA_CONFIG_JSON` app setting, through ARM's `appsettings/list`,
 * which needs `Microsoft.Web/sites/config/list/action`, e.g. Website Contributor) and gives its
 * schedules in the same form the file's are compared in. Only that one setting is kept: the
 * others may hold connection strings. An app that does not exist lists nothing.
 */
export class FunctionAppScheduleReader implements DeployedScheduleReader {
  readonly #options: FunctionAppScheduleReaderOptions;

  constructor(options: FunctionAppScheduleReaderOptions) {
    this.#options = options;
  }

  async list(signal: AbortSignal): Promise<readonly DeployedSchedule[]> {
    const { environment } = this.#options;
    const app = `vaultra-${environment}-functions`;
    const settings = await this.#appSettings(app, signal);
    if (settings === undefined) return [];
    const json = settings[CONFIG_SETTING];
    if (typeof json !== 'string') throw new ConfigError(`not comparable: function app ${app} has no ${CONFIG_SETTING} setting (deployed by an older module?): redeploy with terraform apply`);
    let deployed;
    try {
      deployed = resolveConfig(JSON.parse(json), `${app} ${CONFIG_SETTING}`).environments.get(environment);
    } catch (error) {
      throw new ConfigError(`not comparable: the config function app ${app} carries does not read as this version's (${error instanceof Error ? error.message.split('\n')[0] : 'unreadable'})`, { cause: error });
    }
    if (!deployed) throw new ConfigError(`not comparable: function app ${app} carries no environment ${JSON.stringify(environment)}`);
    return deployedFormOf(deployed);
  }

  /** The app's settings, or `undefined` when the app does not exist. */
  async #appSettings(app: string, signal: AbortSignal): Promise<Record<string, unknown> | undefined> {
    const { subscriptionId, resourceGroup } = this.#options;
    const endpoint = this.#options.managementEndpoint ?? 'https://management.azure.com';
    const doing = `reading the settings of function app ${app}`;
    try {
      const token = await (this.#options.credential ?? defaultAzureCredential()).getToken(`${endpoint}/.default`, { abortSignal: signal });
      if (!token) throw new ConfigError(`${doing} failed: no Azure credentials (az login, or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)`);
      const url = `${endpoint}/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}/providers/Microsoft.Web/sites/${encodeURIComponent(app)}/config/appsettings/list?api-version=${API_VERSION}`;
      const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token.token}` }, signal });
      if (response.status === 404) return undefined;
      if (response.status === 401 || response.status === 403) throw new ConfigError(`${doing} failed: HTTP ${response.status} (grant Microsoft.Web/sites/config/list/action on ${app}, e.g. Website Contributor)`);
      if (!response.ok) throw new StorageError(`${doing} failed: Azure Resource Manager answered HTTP ${response.status}`, response.status >= 500 || response.status === 429);
      const body = (await response.json()) as { properties?: Record<string, unknown> };
      return body.properties ?? {};
    } catch (error) {
      if (error instanceof ConfigError || error instanceof StorageError) throw error;
      if (signal.aborted) throw new AbortedError(`${doing} was cancelled`, { cause: error });
      if (isCredentialError(error)) throw new ConfigError(`${doing} failed: no usable Azure credentials (az login, or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)`, { cause: error });
      throw new StorageError(`${doing} failed: ${describeAzureError(error)}`, true, { cause: error });
    }
  }
}
