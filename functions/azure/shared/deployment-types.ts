import type { Catalog } from '../../../core/ports/catalog.js';
import type { ExecutionTracker } from '../../../core/ports/execution-tracker.js';
import type { JobLauncher } from '../../../core/ports/job-launcher.js';
import type { Alert } from '../../../core/ports/notifier.js';
import type { StorageBackend } from '../../../core/ports/storage-backend.js';
import type { Environment } from '../../../core/config/environments.js';
import type { RunnerTarget } from '../../../core/usecases/runner-commands.js';
import type { NotifyOutcome } from '../../../core/usecases/notify-all.js';

/** Everything the functions use of a deployment; each function is given the part it needs. */
export interface AzureDeployment {
  readonly environment: Environment;
  readonly catalog: Catalog;
  readonly storage: StorageBackend;
  readonly launcher: JobLauncher;
  /** Where the reconciler reads how the launched executions are doing (Azure has no task-stopped event). */
  readonly tracker: ExecutionTracker;
  readonly target: RunnerTarget;
  /** Sends an alert to every target of the environment; never rejects. */
  readonly notify: (alert: Alert) => Promise<NotifyOutcome>;
}

export type LaunchingDeployment = Pick<AzureDeployment, 'environment' | 'target' | 'catalog' | 'notify' | 'launcher'>;
export type ReconcilingDeployment = Pick<AzureDeployment, 'environment' | 'catalog' | 'notify' | 'storage' | 'tracker'>;
export type WatchingDeployment = Pick<AzureDeployment, 'environment' | 'catalog' | 'notify'>;
