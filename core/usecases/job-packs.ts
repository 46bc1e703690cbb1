import type { StorageBackend } from '../ports/storage-backend.js';
import type { ArtifactObject, Manifest } from '../domain/manifest.js';
import { objectKeyOf, parseManifestKey, sharedFolder } from '../domain/object-layout.js';
import { PACK_NAME_PATTERN } from '../domain/snapshot-format.js';
import { redact } from '../domain/redact.js';
import { NotFoundError, oneLine } from '../errors.js';
import { readManifest } from './locate-backup.js';

/** A pack as the job's manifests describe it: what it must be, and which runs reference it. */
export interface PackReference {
  readonly name: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Run ids whose manifests list it, newest first. */
  readonly runs: string[];
}

/** An object of a run folder a manifest lists (a chunked snapshot's index), with where it must be. */
export interface RunObjectReference {
  readonly runId: string;
  readonly key: string;
  readonly object: ArtifactObject;
}

/**
 * What one job holds in one storage as far as its chunked snapshots go: the packs stored in its
 * shared area, and what its manifests say must be there (docs/chunked-snapshots.md).
 */
export interface JobPackSurvey {
  readonly job: string;
  /** `pack-*` objects in `<job>/shared/`, by name, with their stored sizes. Listed before any manifest was. */
  readonly stored: ReadonlyMap<string, number>;
  /** Every object under `<job>/` the second listing (the one manifests were found by) saw, with its size. */
  readonly listed: ReadonlyMap<string, number>;
  /** Every object of scope `shared` some readable manifest lists, by name. */
  readonly referenced: ReadonlyMap<string, PackReference>;
  /** Index objects the manifests list in their own run folders. */
  readonly indexes: readonly RunObjectReference[];
  /** Manifests read, newest first. */
  readonly manifests: readonly { readonly runId: string; readonly key: string; readonly manifest: Manifest }[];
  /** Manifests that are listed but could not be read or parsed, with why (one redacted line). */
  readonly unreadable: readonly { readonly key: string; readonly reason: string }[];
  /** Packs two manifests describe differently (size or SHA-256): one of them lies. */
  readonly conflicting: readonly { readonly name: string; readonly runs: string[] }[];
}

/**
 * Surveys `job` in `storage`: lists `<job>/shared/` FIRST, then reads every manifest of the job.
 * The order matters to the sweep (sweep-packs.ts): a pack written after the shared listing is
 * never a candidate for deletion, and one written before it by a backup that commits before the
 * manifest listing is marked. A manifest that vanishes between listing and reading (a concurrent
 * prune) no longer protects anything and is skipped; any other failure to read one is reported
 * in `unreadable`, never thrown, so the caller decides what incomplete knowledge means.
 * A storage that cannot be listed rejects.
 */
export async function surveyJobPacks(storage: StorageBackend, job: string, signal?: AbortSignal): Promise<JobPackSurvey> {
  const stored = new Map<string, number>();
  const shared = `${sharedFolder(job)}/`;
  for await (const object of storage.list(shared, signal ? { signal } : {})) {
    const name = object.key.slice(shared.length);
    if (PACK_NAME_PATTERN.test(name)) stored.set(name, object.sizeBytes);
  }

  const referenced = new Map<string, PackReference>();
  const conflicts = new Map<string, Set<string>>();
  const indexes: RunObjectReference[] = [];
  const manifests: { runId: string; key: string; manifest: Manifest }[] = [];
  const unreadable: { key: string; reason: string }[] = [];
  const listed = new Map<string, number>();
  const manifestKeys: { runId: string; key: string }[] = [];
  for await (const object of storage.list(`${job}/`, signal ? { signal } : {})) {
    listed.set(object.key, object.sizeBytes);
    const parsed = parseManifestKey(object.key);
    if (parsed?.job === job) manifestKeys.push({ runId: parsed.runId, key: object.key });
  }
  manifestKeys.sort((a, b) => b.runId.localeCompare(a.runId));
  for (const { runId, key } of manifestKeys) {
    let manifest: Manifest;
    try {
      manifest = await readManifest(storage, key, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof NotFoundError) continue;
      unreadable.push({ key, reason: redact(oneLine(error)) });
      continue;
    }
    manifests.push({ runId, key, manifest });
    for (const object of manifest.objects) {
      if (object.scope === 'shared') {
        const known = referenced.get(object.name);
        if (!known) referenced.set(object.name, { name: object.name, sizeBytes: object.sizeBytes, sha256: object.sha256, runs: [runId] });
        else {
          known.runs.push(runId);
          if (known.sizeBytes !== object.sizeBytes || known.sha256 !== object.sha256) conflicts.set(object.name, new Set(known.runs));
        }
      } else if (object.role === 'index') {
        indexes.push({ runId, key: objectKeyOf(key, object), object });
      }
    }
  }
  const conflicting = [...conflicts.keys()].map((name) => ({ name, runs: referenced.get(name)!.runs }));
  return { job, stored, listed, referenced, indexes, manifests, unreadable, conflicting };
}
