import type { CloudSchedulerClient } from '@google-cloud/scheduler';
import type { DeployedSchedule, DeployedScheduleReader } from '../../ports/deployed-schedules.js';
import { AbortedError, ConfigError, StorageError } from '../../errors.js';
import { abortable } from '../abortable.js';
import { googleApiError } from '../launchers/cloud-run-errors.js';
import { GrpcCode } from './grpc-calls.js';
import { lazyGoogleClient } from './google-credentials.js';

/** What the reader needs of a Cloud Scheduler client: one listing call. */
export type CloudSchedulerListing = Pick<CloudSchedulerClient, 'listJobs'>;

export interface CloudSchedulerReaderOptions {
  readonly project: string;
  readonly region: string;
  /** The Terraform module's `var.environment`: its jobs are named `vaultra-<env>-…` and described `Vaultra <env>: …`. */
  readonly environment: string;
  /** @default a `CloudSchedulerClient` with Application Default Credentials, built on first use */
  readonly client?: CloudSchedulerListing;
}

/** Cloud Scheduler's job states (google.cloud.scheduler.v1.Job.State): only ENABLED fires. */
const ENABLED = new Set<unknown>(['ENABLED', 1]);

/**
 * The Cloud Scheduler jobs infra/gcp made for one environment: `jobs.list` in its project and
 * region (read-only, `cloudscheduler.jobs.list`, in `roles/cloudscheduler.viewer`), keeping the
 * backup, log catch-up and drill jobs of this environment — told apart from another environment's
 * by their description, `Vaultra <env>: back up …` / `archive …` / `drill …`, since one name
 * prefix can begin another's (`vaultra-prod-` and `vaultra-prod-eu-`).
 */
export class CloudSchedulerReader implements DeployedScheduleReader {
  readonly #options: CloudSchedulerReaderOptions;
  readonly #client: () => Promise<CloudSchedulerListing>;

  constructor(options: CloudSchedulerReaderOptions) {
    this.#options = options;
    const given = options.client;
    this.#client = given
      ? () => Promise.resolve(given)
      : // Through `default`: the package's named exports are not visible to esbuild, whose chunk exports the module object as default only.
        lazyGoogleClient(async () => new (await import('@google-cloud/scheduler')).default.CloudSchedulerClient(), { messagePrefix: 'no Google Cloud credentials: ' });
  }

  async list(signal: AbortSignal): Promise<readonly DeployedSchedule[]> {
    const { project, region, environment } = this.#options;
    const parent = `projects/${project}/locations/${region}`;
    try {
      const client = await abortable(this.#client(), signal);
      const [jobs] = await abortable(client.listJobs({ parent }), signal);
      const prefix = `vaultra-${environment}-`;
      const ours = new RegExp(`^Vaultra ${escapeRegExp(environment)}: (back up|archive|drill) `);
      return jobs.flatMap((job) => {
        const name = job.name?.split('/').pop() ?? '';
        if (!name.startsWith(prefix) || !ours.test(job.description ?? '')) return [];
        return [{ name: name.slice(prefix.length), expression: job.schedule ?? '', timeZone: job.timeZone || 'UTC', enabled: ENABLED.has(job.state) }];
      });
    } catch (error) {
      if (signal.aborted) throw new AbortedError(`listing the Cloud Scheduler jobs of ${parent} was cancelled`, { cause: error });
      const { code, status, message } = googleApiError(error);
      const doing = `listing the Cloud Scheduler jobs of ${parent} failed`;
      if (code === GrpcCode.UNAUTHENTICATED) throw new ConfigError(`${doing}: ${message} (run gcloud auth application-default login, or set GOOGLE_APPLICATION_CREDENTIALS)`, { cause: error });
      if (code === GrpcCode.PERMISSION_DENIED) throw new ConfigError(`${doing}: permission denied (grant roles/cloudscheduler.viewer on ${project})`, { cause: error });
      throw new StorageError(`${doing}: ${status}: ${message}`, code === GrpcCode.UNAVAILABLE, { cause: error });
    }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
