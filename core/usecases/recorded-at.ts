import { runFolder } from '../domain/object-layout.js';
import type { RunRecord } from '../domain/run.js';
import { storageUrlOf } from '../domain/storage-location.js';

/**
 * Whether `run` was recorded at the storage `location`: the location itself (a run that failed
 * before it had a folder) or its run folder there. Compared as rendered URLs, since a location's
 * query (`?endpoint=`, `?region=`) stays at the end of a folder's URL.
 */
export function recordedAt(run: RunRecord, location: string): boolean {
  return run.location === location || run.location === storageUrlOf(location, runFolder(run.job, run.runId));
}
