/**
 * The GCP functions' entry points, registered with functions-framework under the names the
 * Terraform module gives as each function's `entry_point`: scheduledBackup, reconcile, watchdog,
 * api. One bundle (scripts/package-gcp-functions.mjs) serves the four functions; each builds only
 * the clients it uses, on its first invocation.
 */
import { http } from '@google-cloud/functions-framework';
import { scheduledBackup } from './scheduled-backup.js';
import { reconcile } from './reconcile.js';
import { watchdog } from './watchdog.js';
import { api } from './api.js';

export const GCP_ENTRY_POINTS = { scheduledBackup, reconcile, watchdog, api } as const;

for (const [name, handler] of Object.entries(GCP_ENTRY_POINTS)) http(name, handler);
