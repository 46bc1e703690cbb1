import { observeRetries, type RetryNotice } from '../core/adapters/retry.js';
import { redact } from '../core/domain/redact.js';
import { printAboveProgress } from './progress.js';
import { noteRetry } from './telemetry.js';

/**
 * One stderr line per retry (storage, catalog, launch, webhook), so a service that stalls or fails is visible while the
 * command waits on it (a hung endpoint used to mean minutes of silence):
 * `vaultra: writing … failed: no answer within 10 s; attempt 1 of 6, retrying in 0.2 s`.
 * Above the progress line when one is shown.
 */
export function retryLine(notice: RetryNotice): string {
  return `vaultra: ${redact(notice.message)}; attempt ${notice.attempt} of ${notice.maxAttempts}, retrying in ${(notice.delayMs / 1000).toFixed(1)} s`;
}

export function showRetries(): void {
  observeRetries((notice) => {
    printAboveProgress(retryLine(notice));
    noteRetry(notice);
  });
}
