import type { Catalog } from '../../../core/ports/catalog.js';
import type { JobLauncher } from '../../../core/ports/job-launcher.js';
import type { Alert } from '../../../core/ports/notifier.js';
import type { StorageBackend } from '../../../core/ports/storage-backend.js';
import type { Environment } from '../../../core/config/environments.js';
import type { RunnerTarget } from '../../../core/usecases/runner-commands.js';

/** Everything the functions use of a deployment; each function is given the part it needs. */
export interface AwsDeployment {
  readonly environment: Environment;
  readonly catalog: Catalog;
  readonly storage: StorageBackend;
  readonly launcher: JobLauncher;
  readonly target: RunnerTarget;
  readonly notify: (alert: Alert) => Promise<unknown>;
}

export type LaunchingDeployment = Pick<AwsDeployment, 'environment' | 'target' | 'catalog' | 'notify' | 'launcher'>;
export type FinishingDeployment = Pick<AwsDeployment, 'environment' | 'catalog' | 'notify' | 'storage'>;
export type WatchingDeployment = Pick<AwsDeployment, 'environment' | 'catalog' | 'notify'>;
