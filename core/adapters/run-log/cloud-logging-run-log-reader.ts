import { GoogleAuth } from 'google-auth-library';
import type { RunRecord } from '../../domain/run.js';
import type { RunLogLine, RunLogReader } from '../../ports/run-log.js';
import { bearer, queryJson, type BearerToken } from './https-query.js';

export interface CloudLoggingRunLogReaderOptions {
  readonly project: string;
  /** @default an access token of Application Default Credentials (scope logging.read) */
  readonly accessToken?: BearerToken;
  /** @default https://logging.googleapis.com */
  readonly endpoint?: string;
}

interface LogEntry {
  readonly timestamp?: string;
  readonly textPayload?: string;
  readonly jsonPayload?: { readonly message?: unknown };
}

/**
 * A Cloud Run job execution's log in Cloud Logging: `entries.list` (REST) filtered by the
 * execution's name, the newest `limit` entries. Needs `logging.logEntries.list` on the project
 * (roles/logging.viewer). A run without a Cloud Run execution has no log here: `undefined`;
 * an execution whose entries are gone (retention) reads as no lines.
 */
export class CloudLoggingRunLogReader implements RunLogReader {
  readonly #options: CloudLoggingRunLogReaderOptions;

  constructor(options: CloudLoggingRunLogReaderOptions) {
    this.#options = options;
  }

  async read(run: RunRecord, options: { readonly limit: number; readonly signal?: AbortSignal }): Promise<readonly RunLogLine[] | undefined> {
    const execution = cloudRunExecutionName(run.taskId);
    if (!execution) return undefined;
    const doing = `reading the Cloud Logging entries of execution ${execution}`;
    const token = await bearer(this.#options.accessToken ?? applicationDefaultAccessToken, doing, 'gcloud auth application-default login, or set GOOGLE_APPLICATION_CREDENTIALS');
    const answer = (await queryJson(
      `${this.#options.endpoint ?? 'https://logging.googleapis.com'}/v2/entries:list`,
      token,
      {
        resourceNames: [`projects/${this.#options.project}`],
        filter: `resource.type="cloud_run_job" AND labels."run.googleapis.com/execution_name"="${execution}"`,
        orderBy: 'timestamp desc',
        pageSize: options.limit,
      },
      { doing, permission: 'logging.logEntries.list on the project (roles/logging.viewer)', ...(options.signal ? { signal: options.signal } : {}) },
    )) as { entries?: readonly LogEntry[] };
    return (answer.entries ?? []).map(lineOf).reverse();
  }
}

function lineOf(entry: LogEntry): RunLogLine {
  const message = entry.textPayload ?? (typeof entry.jsonPayload?.message === 'string' ? entry.jsonPayload.message : JSON.stringify(entry.jsonPayload ?? {}));
  return { ...(entry.timestamp ? { at: entry.timestamp } : {}), text: message.replace(/\n$/, '') };
}

/** The execution's short name from its resource name (`projects/…/jobs/…/executions/<name>`); undefined for any other task id. */
export function cloudRunExecutionName(taskId: string | undefined): string | undefined {
  return /^projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+\/executions\/([a-z0-9-]+)$/.exec(taskId ?? '')?.[1];
}

/** Callers import this module only for a GCP environment (runner/tui/cloud-endpoints.ts), so nothing else loads google-auth-library. */
async function applicationDefaultAccessToken(): Promise<string> {
  const token = await new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/logging.read'] }).getAccessToken();
  if (!token) throw new Error('Application Default Credentials gave no access token');
  return token;
}
