import { RUN_ID_PATTERN, runIdTime } from './run.js';

/**
 * Where a run's objects live: `<job>/<YYYY>/<MM>/<DD>/<runId>/…`, relative to the storage URL
 * (which carries any user prefix). Date folders come from the run id, so the layout is a pure
 * function of (job, runId) and a restore can find a run folder from the catalog alone.
 */
export function runFolder(job: string, runId: string): string {
  const t = runIdTime(runId);
  const yyyy = String(t.getUTCFullYear());
  const mm = String(t.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(t.getUTCDate()).padStart(2, '0');
  return `${job}/${yyyy}/${mm}/${dd}/${runId}`;
}

export const MANIFEST_NAME = 'manifest.json';

export function manifestKey(job: string, runId: string): string {
  return `${runFolder(job, runId)}/${MANIFEST_NAME}`;
}

/** Recognises `<job>/<YYYY>/<MM>/<DD>/<runId>/manifest.json` keys in a listing. */
export function parseManifestKey(key: string): { job: string; runId: string } | undefined {
  const m = new RegExp(`^([^/]+)/\\d{4}/\\d{2}/\\d{2}/(${RUN_ID_PATTERN.source})/manifest\\.json$`).exec(key);
  return m ? { job: m[1]!, runId: m[2]! } : undefined;
}

/**
 * The run folder a key lies in (or is): `<job>/<YYYY>/<MM>/<DD>/<runId>` with anything below it.
 * `undefined` for keys outside the layout (date folders, a user's own objects).
 */
export function parseRunFolder(key: string): { job: string; runId: string; folder: string } | undefined {
  const m = new RegExp(`^(([^/]+)/\\d{4}/\\d{2}/\\d{2}/(${RUN_ID_PATTERN.source}))(?:/|$)`).exec(key);
  return m ? { folder: m[1]!, job: m[2]!, runId: m[3]! } : undefined;
}

/**
 * The job's area for objects several runs share (`scope: 'shared'` in a manifest, issue 14's
 * packs): `<job>/shared/<name>`. Not a date folder, so nothing that sweeps run folders touches it.
 */
export function sharedFolder(job: string): string {
  return `${job}/shared`;
}

/**
 * The key of an object a manifest lists, from where the manifest sits (never from the manifest's
 * own job field): its run folder, or its job's shared area.
 */
export function objectKeyOf(manifestAt: string, object: { readonly name: string; readonly scope?: 'run' | 'shared' }): string {
  const folder = manifestAt.slice(0, -`/${MANIFEST_NAME}`.length);
  if (object.scope === 'shared') return `${sharedFolder(folder.slice(0, folder.indexOf('/')))}/${object.name}`;
  return `${folder}/${object.name}`;
}
