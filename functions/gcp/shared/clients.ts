import type { Catalog } from '../../../core/ports/catalog.js';
import type { Alert, Notifier } from '../../../core/ports/notifier.js';
import type { StorageBackend } from '../../../core/ports/storage-backend.js';
import { FirestoreCatalog } from '../../../core/adapters/catalog/firestore-catalog.js';
import { GcsStorageBackend } from '../../../core/adapters/storage/gcs/gcs-storage.js';
import { CloudRunJobLauncher, type CloudRunJobsApi } from '../../../core/adapters/launchers/cloud-run-job-launcher.js';
import { CloudRunExecutionTracker, type CloudRunExecutionsApi } from '../../../core/adapters/launchers/cloud-run-execution-tracker.js';
import { CombinedExecutionTracker } from '../../../core/adapters/launchers/combined-execution-tracker.js';
import type { ExecutionTracker } from '../../../core/ports/execution-tracker.js';
import { notifiersFor } from '../../../core/adapters/notifiers/notifiers.js';
import { PubSubNotifier } from '../../../core/adapters/notifiers/pubsub-notifier.js';
import { resolveGcpSecret } from '../../../core/adapters/secrets/gcp-secret-resolve.js';
import { notifyAll, type NotifyOutcome } from '../../../core/usecases/notify-all.js';
import type { GcpSettings } from './settings.js';
import { log } from './log.js';

/**
 * The clients the functions use, each opened from the settings by the function that needs it.
 * Credentials are Application Default Credentials: the function's service account (workload
 * identity, no key files). The emulators' variables (`FIRESTORE_EMULATOR_HOST`,
 * `STORAGE_EMULATOR_HOST`, `PUBSUB_EMULATOR_HOST`) point the clients at them in tests.
 */
export function catalogOf(settings: GcpSettings): Catalog {
  return FirestoreCatalog.fromUrl(settings.target.catalogUrl);
}

export function storageOf(settings: GcpSettings): StorageBackend {
  return GcsStorageBackend.fromUrl(settings.target.storageUrl);
}

/** @param client a `JobsClient` (tests) @default the real one, built on first launch */
export function launcherOf(settings: GcpSettings, client?: CloudRunJobsApi): CloudRunJobLauncher {
  return new CloudRunJobLauncher({ jobName: settings.runJob, ...(settings.restoreJob ? { restoreJobName: settings.restoreJob } : {}), drillJobNames: settings.drillJobs }, client);
}

/**
 * The runner job's executions, then the restore job's (restores and verifies), then the drill
 * jobs' (a scheduled drill runs on its job's own Cloud Run job).
 * @param client an `ExecutionsClient` (tests) @default the real one, built on first use
 */
export function trackerOf(settings: GcpSettings, client?: CloudRunExecutionsApi): ExecutionTracker {
  const runner = new CloudRunExecutionTracker(settings.runJob, client);
  const others = [...(settings.restoreJob ? [settings.restoreJob] : []), ...Object.values(settings.drillJobs)];
  if (others.length === 0) return runner;
  return new CombinedExecutionTracker([runner, ...others.map((jobName) => new CloudRunExecutionTracker(jobName, client))]);
}

/** The environment's alert targets: the Pub/Sub topic (when deployed with one), then every webhook. */
export function notifiersOf(settings: GcpSettings): Notifier[] {
  return [...(settings.alertTopic ? [new PubSubNotifier(settings.alertTopic)] : []), ...notifiersFor(settings.environment.notifications, { resolve: resolveGcpSecret })];
}

/** Sends an alert to every target; a target that fails is logged, never fatal. */
export function notifyOf(settings: GcpSettings, notifiers: readonly Notifier[] = notifiersOf(settings)): (alert: Alert) => Promise<NotifyOutcome> {
  return async (alert) => {
    const result = await notifyAll(notifiers, alert);
    for (const failure of result.failed) log('ERROR', 'alert not delivered', { alert: alert.kind, job: alert.job, notifier: failure.notifier, error: failure.error });
    return result;
  };
}
