import type { StorageBackend } from '../ports/storage-backend.js';
import type { Manifest } from '../domain/manifest.js';
import { decodeManifest } from '../domain/manifest-codec.js';
import { manifestKey, parseManifestKey, parseRunFolder, runFolder } from '../domain/object-layout.js';
import { LOG_OBJECT_PREFIX } from '../domain/log-archive.js';
import { ConfigError, IntegrityError, NotFoundError } from '../errors.js';
import { readBounded } from '../pipeline/read-bounded.js';
import { sha256Hex } from './sign-manifest.js';

export interface BackupRef {
  /** A run id, or `latest`. */
  readonly ref: string;
  readonly job?: string;
}

export interface LocatedBackup {
  readonly job: string;
  readonly runId: string;
  readonly manifestKey: string;
  readonly manifest: Manifest;
  /** SHA-256 of the bytes `manifest` was parsed from: what its signature covers (authenticate-backup.ts). */
  readonly manifestSha256: string;
}

/**
 * Every backup in a storage location, newest first, found by its manifest: the storage is the
 * truth, so this works without a catalog. Run folders without a manifest are incomplete and
 * never appear.
 */
export async function listBackupKeys(storage: StorageBackend, job?: string, signal?: AbortSignal): Promise<StoredRun[]> {
  const found: { job: string; runId: string; key: string }[] = [];
  const logFolders = new Set<string>();
  for await (const object of storage.list(job ? `${job}/` : '', { signal })) {
    const parsed = parseManifestKey(object.key);
    if (parsed) found.push({ ...parsed, key: object.key });
    const folder = parseRunFolder(object.key);
    if (folder && object.key.slice(folder.folder.length + 1).startsWith(LOG_OBJECT_PREFIX)) logFolders.add(folder.folder);
  }
  return found.map((run) => ({ ...run, log: logFolders.has(runFolder(run.job, run.runId)) })).sort((a, b) => b.runId.localeCompare(a.runId));
}

/**
 * A run folder with a manifest. `log`: a log run's (its object is `log.…`, push-logs.ts), which
 * holds a stretch of the server's change log, not a backup; told from the listing alone, so
 * finding the latest backup reads no log run's manifest (a push every five minutes makes many).
 */
export interface StoredRun {
  readonly job: string;
  readonly runId: string;
  readonly key: string;
  readonly log: boolean;
}

/** Finds a backup by run id or `latest` and reads its manifest. */
export async function locateBackup(storage: StorageBackend, { ref, job }: BackupRef, signal?: AbortSignal): Promise<LocatedBackup> {
  const backups = await listBackupKeys(storage, job, signal);
  let match;
  if (ref === 'latest') {
    const jobs = [...new Set(backups.map((b) => b.job))];
    if (jobs.length > 1) throw new ConfigError(`${storage.location} holds backups of several jobs (${jobs.join(', ')}): say which with --job`);
    match = backups.find((b) => !b.log);
    if (!match) throw new NotFoundError(`no backup${job ? ` of job ${job}` : ''} in ${storage.location}`);
  } else {
    const matches = backups.filter((b) => b.runId === ref);
    match = matches[0];
    if (!match) throw new NotFoundError(`no backup with run id ${ref}${job ? ` in job ${job}` : ''} in ${storage.location} (vaultra list shows what there is)`);
    if (matches.length > 1) throw new ConfigError(`run id ${ref} exists in several jobs (${matches.map((m) => m.job).join(', ')}): say which with --job`);
  }
  return { job: match.job, runId: match.runId, manifestKey: match.key, ...(await readManifestAt(storage, match.key, signal)) };
}

/** A backup a listing found (`listBackupKeys`), with its manifest read. */
export async function locatedAt(storage: StorageBackend, found: { readonly job: string; readonly runId: string; readonly key: string }, signal?: AbortSignal): Promise<LocatedBackup> {
  return { job: found.job, runId: found.runId, manifestKey: found.key, ...(await readManifestAt(storage, found.key, signal)) };
}

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * Reads and validates the manifest at `key`, which must sit where it says it belongs: a
 * manifest whose job or run id is not its own folder's (a copy of another run's, or an edited
 * one) is refused, so a run folder can only ever describe itself.
 */
export async function readManifest(storage: StorageBackend, key: string, signal?: AbortSignal): Promise<Manifest> {
  return (await readManifestAt(storage, key, signal)).manifest;
}

/**
 * `readManifest`, with the SHA-256 of the bytes read: restore and verify check the signature
 * against the very bytes they parsed, so nothing can swap the manifest between the two.
 */
async function readManifestAt(storage: StorageBackend, key: string, signal?: AbortSignal): Promise<{ manifest: Manifest; manifestSha256: string }> {
  const folder = parseManifestKey(key);
  if (!folder) throw new IntegrityError(`${key} is not where a manifest can be (<job>/<YYYY>/<MM>/<DD>/<runId>/manifest.json)`);
  const bytes = await readBounded(await storage.get(key, { signal }), MAX_MANIFEST_BYTES, 'manifest');
  const manifest = decodeManifest(bytes, key);
  const { job, runId } = manifest;
  // The date folders too: they follow from the run id, so a manifest moved to another day of the same run is refused.
  if (job !== folder.job || runId !== folder.runId || key !== manifestKey(job, runId)) {
    throw new IntegrityError(`${key} describes run ${runId} of job ${job}, which does not match its folder: a manifest copied or edited into another run folder is refused`);
  }
  return { manifest, manifestSha256: sha256Hex(bytes) };
}

