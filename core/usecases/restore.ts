import { pipeline } from 'node:stream/promises';
import type { Catalog } from '../ports/catalog.js';
import type { Decryptor } from '../ports/encryptor.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { ContentEntry } from '../ports/database-engine.js';
import { engineById, engineIdForUrl } from '../adapters/engines/engines.js';
import { ConfigError } from '../errors.js';
import { ByteCounter } from '../pipeline/byte-taps.js';
import { locateBackup, type BackupRef, type LocatedBackup } from './locate-backup.js';
import { explainReadFailure, openBackupStages } from './read-backup.js';
import { recordedRun } from './record-run.js';
import { rootCause } from './run-errors.js';
import { verifyLocated } from './verify.js';

export interface RestoreDependencies {
  readonly storage: StorageBackend;
  readonly catalog: Catalog;
  readonly decryptor: Decryptor;
}

export interface RestoreRequest extends BackupRef {
  readonly target: string;
  readonly tables?: readonly string[];
  readonly schemas?: readonly string[];
  readonly paths?: readonly string[];
  readonly force?: boolean;
  readonly noOwner?: boolean;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesRead: number) => void;
}

export interface RestoreReport {
  readonly backup: LocatedBackup;
  readonly target: string;
  readonly dryRun: boolean;
  readonly bytesRaw: number;
  /** What the backup holds that the restore (would) bring back. */
  readonly restored: readonly ContentEntry[];
  /** Objects already in the target that the restore would replace (dry run), or replaced. */
  readonly replaced: readonly string[];
  readonly structure?: string;
}

/**
 * Restores a backup into a target database. The target changes only if every check passed:
 * the engine restores in one transaction (PostgreSQL) or by atomic file replace (SQLite),
 * and any failure — checksum, age authentication, wrong key, tool error — aborts it, leaving
 * the target as it was. A non-empty target is refused unless `force`.
 * With `dryRun` the whole backup is read and checked and nothing is written anywhere.
 */
export async function runRestore(deps: RestoreDependencies, request: RestoreRequest): Promise<RestoreReport> {
  const backup = await locateBackup(deps.storage, request, request.signal);
  const { manifest } = backup;
  const targetEngine = engineIdForUrl(request.target);
  if (targetEngine !== manifest.source.engine) {
    throw new ConfigError(`run ${backup.runId} is a ${manifest.source.engine} backup; it cannot be restored into a ${targetEngine} target`);
  }
  const engine = engineById(manifest.source.engine);
  const restored = selectContents(manifest.contents, request);

  if (request.dryRun) {
    const state = await engine.inspectTarget(request.target, request.signal);
    const verified = await verifyLocated(deps, backup, request);
    const names = new Set(restored.map((c) => (c.schema ? `${c.schema}.${c.name}` : c.name)));
    return { backup, target: request.target, dryRun: true, bytesRaw: verified.bytesRaw, restored, replaced: state.objects.filter((o) => names.has(o)), structure: verified.structure };
  }

  const { value } = await recordedRun(deps.catalog, { kind: 'restore', job: backup.job, engine: manifest.source.engine, location: deps.storage.location }, async () => {
    // A selective pg_restore may stop reading and commit as soon as it has what it needs, before
    // the rest of the object is checked: read and check the whole backup first, so the target
    // changes only if every byte is intact.
    if (request.tables?.length || request.schemas?.length || request.paths?.length) await verifyLocated(deps, backup, { signal: request.signal });
    const sink = await engine.openRestore(request.target, { ...request, sourceDatabase: manifest.source.database });
    let stages;
    try {
      stages = await openBackupStages(deps.storage, manifest, deps.decryptor, { signal: request.signal, onBytes: request.onProgress });
    } catch (error) {
      await sink.abort();
      throw error;
    }
    const raw = new ByteCounter();
    const [piped] = await Promise.allSettled([pipeline(...stages, raw, sink.stream, { signal: request.signal })]);
    if (piped.status === 'rejected') {
      await sink.abort();
      throw await explainReadFailure(deps.storage, manifest, rootCause([piped]), request.signal);
    }
    await sink.commit();
    return { bytesRaw: raw.bytes, replaced: sink.replaces };
  });
  return { backup, target: request.target, dryRun: false, restored, ...value };
}

function selectContents(contents: readonly ContentEntry[], request: RestoreRequest): ContentEntry[] {
  if (request.tables?.length) {
    return contents.filter((c) => request.tables!.some((t) => t === c.name || t === `${c.schema}.${c.name}`));
  }
  if (request.schemas?.length) return contents.filter((c) => c.schema && request.schemas!.includes(c.schema));
  return [...contents];
}
