import { ContainerAppsAPIClient } from '@azure/arm-appcontainers';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Catalog } from '../../../core/ports/catalog.js';
import type { Alert } from '../../../core/ports/notifier.js';
import type { StorageBackend } from '../../../core/ports/storage-backend.js';
import { AzureTableCatalog } from '../../../core/adapters/catalog/azure-table-catalog.js';
import { AzureBlobStorageBackend } from '../../../core/adapters/storage/azure/azure-blob-storage.js';
import { ContainerAppsJobLauncher } from '../../../core/adapters/launchers/container-apps-job-launcher.js';
import { ContainerAppsExecutionTracker } from '../../../core/adapters/launchers/container-apps-execution-tracker.js';
import { containerAppsDrillJobName } from '../../../core/adapters/launchers/container-apps-drill-job.js';
import { notifiersFor } from '../../../core/adapters/notifiers/notifiers.js';
import { resolveAzureSecret } from '../../../core/adapters/secrets/azure-secret-resolve.js';
import { notifyAll, type NotifyOutcome } from '../../../core/usecases/notify-all.js';
import type { AzureSettings } from './settings.js';

/**
 * The clients the functions use, built from their settings. Storage and catalog authenticate
 * like the CLI (core/adapters/azure/azure-storage-access.ts): in Azure that is
 * `DefaultAzureCredential`, which picks the managed identity named by `AZURE_CLIENT_ID`; ARM
 * gets the same identity explicitly. No key or connection string is involved.
 */

export function catalogOf(settings: AzureSettings): Catalog {
  return AzureTableCatalog.fromUrl(settings.target.catalogUrl);
}

export function storageOf(settings: AzureSettings): StorageBackend {
  return AzureBlobStorageBackend.fromUrl(settings.target.storageUrl);
}

/** The webhooks of the environment (generic HMAC-signed, Slack); their secrets are `env://` or `secret+azure://` references. */
export function notifyOf(settings: AzureSettings): (alert: Alert) => Promise<NotifyOutcome> {
  const notifiers = notifiersFor(settings.environment.notifications, { resolve: resolveAzureSecret });
  return (alert) => notifyAll(notifiers, alert);
}

/** The function app's managed identity (user-assigned when `AZURE_CLIENT_ID` names one). */
export function credentialOf(settings: AzureSettings): TokenCredential {
  return new DefaultAzureCredential(settings.managedIdentityClientId ? { managedIdentityClientId: settings.managedIdentityClientId } : {});
}

/**
 * The launcher's ARM client has the SDK's retries off: the launcher retries throttling and 5xx
 * itself, with backoff, and SDK retries would multiply those and repeat a POST /start.
 */
export function launcherOf(settings: AzureSettings, credential: TokenCredential): ContainerAppsJobLauncher {
  const client = new ContainerAppsAPIClient(credential, settings.containerApps.subscriptionId, { retryOptions: { maxRetries: 0 } });
  return new ContainerAppsJobLauncher(settings.containerApps, client);
}

/**
 * Listing executions is a read: the SDK's default retries apply. It lists the runner's job, the
 * restore job and the drill job of every enabled job with `drill.schedule` (the jobs
 * infra/azure/restore-job.tf and drill-jobs.tf make).
 */
export function trackerOf(settings: AzureSettings, credential: TokenCredential): ContainerAppsExecutionTracker {
  const drillJobs = settings.environment.jobs.filter((job) => job.enabled && job.drill?.schedule).map((job) => containerAppsDrillJobName(settings.containerApps.jobName, job.name));
  return new ContainerAppsExecutionTracker(settings.containerApps, new ContainerAppsAPIClient(credential, settings.containerApps.subscriptionId), drillJobs);
}
