import type { Catalog } from '../../core/ports/catalog.js';
import type { ExecutionTracker } from '../../core/ports/execution-tracker.js';
import type { JobLauncher } from '../../core/ports/job-launcher.js';
import type { Alert } from '../../core/ports/notifier.js';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import type { Environment } from '../../core/config/environments.js';
import type { Clock } from '../../core/domain/clock.js';
import type { RunnerTarget } from '../../core/usecases/runner-commands.js';
import type { NotifyOutcome } from '../../core/usecases/notify-all.js';

/**
 * Everything the functions of any cloud use of their deployment; each function is given only the
 * part it needs (the Pick types below), so each bundle holds only those clients.
 */
export interface FunctionDeployment {
  readonly environment: Environment;
  readonly catalog: Catalog;
  readonly storage: StorageBackend;
  readonly launcher: JobLauncher;
  /** GCP and Azure: how launched executions are doing (they emit no task-stopped event). */
  readonly tracker: ExecutionTracker;
  readonly target: RunnerTarget;
  /** Sends an alert to every target of the environment; never rejects. */
  readonly notify: (alert: Alert) => Promise<NotifyOutcome>;
  /**
   * The clock every use case of the function reads (run starts, settling windows, retention,
   * RPO). Deployed functions use the system's; a test fixes it for everything a handler does.
   * @default systemClock
   */
  readonly now?: Clock;
}

export type LaunchingDeployment = Pick<FunctionDeployment, 'environment' | 'target' | 'catalog' | 'notify' | 'launcher' | 'now'>;
export type FinishingDeployment = Pick<FunctionDeployment, 'environment' | 'catalog' | 'notify' | 'storage' | 'now'>;
export type ReconcilingDeployment = FinishingDeployment & Pick<FunctionDeployment, 'tracker'>;
export type WatchingDeployment = Pick<FunctionDeployment, 'environment' | 'catalog' | 'notify' | 'now'>;
