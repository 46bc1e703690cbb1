import type { Catalog } from '../../../core/ports/catalog.js';
import type { ExecutionTracker } from '../../../core/ports/execution-tracker.js';
import type { JobLauncher } from '../../../core/ports/job-launcher.js';
import type { Alert } from '../../../core/ports/notifier.js';
import type { StorageBackend } from '../../../core/ports/storage-backend.js';
import type { Environment } from '../../../core/config/environments.js';
import type { RunnerTarget } from '../../../core/usecases/runner-commands.js';

/** Everything the GCP functions use of a deployment; each function is given the part it needs. */
export interface GcpDeployment {
  readonly environment: Environment;
  readonly catalog: Catalog;
  readonly storage: StorageBackend;
  readonly launcher: JobLauncher;
  readonly tracker: ExecutionTracker;
  readonly target: RunnerTarget;
  readonly notify: (alert: Alert) => Promise<unknown>;
}

export type LaunchingDeployment = Pick<GcpDeployment, 'environment' | 'target' | 'catalog' | 'notify' | 'launcher'>;
export type ReconcilingDeployment = Pick<GcpDeployment, 'environment' | 'catalog' | 'notify' | 'storage' | 'tracker'>;
export type WatchingDeployment = Pick<GcpDeployment, 'environment' | 'catalog' | 'notify'>;
