import type { RunRecord } from '../../domain/run.js';
import type { RunLogLine, RunLogReader } from '../../ports/run-log.js';
import { defaultAzureCredential } from '../azure/azure-credential.js';
import { bearer, queryJson, type BearerToken } from './https-query.js';

export interface LogAnalyticsRunLogReaderOptions {
  /** The workspace's id (a GUID: its "Workspace ID", `customer_id` in Terraform), where the Container Apps environment sends console logs. */
  readonly workspaceId: string;
  /** @default an Entra ID token of DefaultAzureCredential for https://api.loganalytics.io */
  readonly accessToken?: BearerToken;
  /** @default https://api.loganalytics.io */
  readonly endpoint?: string;
}

interface QueryAnswer {
  readonly tables?: readonly { readonly columns: readonly { readonly name: string }[]; readonly rows: readonly (readonly unknown[])[] }[];
}

/**
 * A Container Apps job execution's console log in Log Analytics: a KQL query (REST `query`) on
 * `ContainerAppConsoleLogs_CL`, whose replica names start with the execution's name, newest
 * `limit` lines. Needs read access to the workspace (Log Analytics Reader). A run without a
 * Container Apps execution has no log here: `undefined`.
 */
export class LogAnalyticsRunLogReader implements RunLogReader {
  readonly #options: LogAnalyticsRunLogReaderOptions;

  constructor(options: LogAnalyticsRunLogReaderOptions) {
    this.#options = options;
  }

  async read(run: RunRecord, options: { readonly limit: number; readonly signal?: AbortSignal }): Promise<readonly RunLogLine[] | undefined> {
    const execution = containerAppsExecutionName(run.taskId);
    if (!execution) return undefined;
    const doing = `querying Log Analytics for execution ${execution}`;
    const token = await bearer(this.#options.accessToken ?? entraLogAnalyticsToken, doing, 'az login, or set AZURE_CLIENT_ID/AZURE_TENANT_ID with a credential');
    // The name is checked against a strict pattern above: it cannot close the string literal.
    const query = `ContainerAppConsoleLogs_CL | where ContainerGroupName_s startswith "${execution}-" | project TimeGenerated, Log_s | order by TimeGenerated desc | take ${Math.max(1, Math.floor(options.limit))}`;
    const answer = (await queryJson(`${this.#options.endpoint ?? 'https://api.loganalytics.io'}/v1/workspaces/${encodeURIComponent(this.#options.workspaceId)}/query`, token, { query }, {
      doing,
      permission: 'read access to the workspace (Log Analytics Reader)',
      ...(options.signal ? { signal: options.signal } : {}),
    })) as QueryAnswer;
    const table = answer.tables?.[0];
    if (!table) return [];
    const at = table.columns.findIndex((column) => column.name === 'TimeGenerated');
    const text = table.columns.findIndex((column) => column.name === 'Log_s');
    return table.rows.map((row) => ({ ...(typeof row[at] === 'string' ? { at: row[at] } : {}), text: String(row[text] ?? '').replace(/\n$/, '') })).reverse();
  }
}

/** A Container Apps job execution's name (`vaultra-prod-runner-ab12cd3`, what the launcher records); undefined for any other task id. */
export function containerAppsExecutionName(taskId: string | undefined): string | undefined {
  return /^[a-z0-9][a-z0-9-]{1,62}$/.test(taskId ?? '') ? taskId : undefined;
}

async function entraLogAnalyticsToken(): Promise<string> {
  const token = await defaultAzureCredential().getToken('https://api.loganalytics.io/.default');
  if (!token) throw new Error('DefaultAzureCredential gave no token');
  return token.token;
}
