import { Writable } from 'node:stream';
import type { Catalog } from '../ports/catalog.js';
import type { Decryptor, RandomAccessDecryptor } from '../ports/encryptor.js';
import { isChunkedSnapshot, verifySnapshot } from './read-chunked.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { BackupAdapters } from '../ports/backup-adapters.js';
import type { ValidationOptions } from '../ports/database-engine.js';
import { locateBackup, type BackupRef, type LocatedBackup } from './locate-backup.js';
import { checkObjectsPresent, dataObjectOf, readBackupInto } from './read-backup.js';
import { recordedRun } from './record-run.js';
import { authenticateBackup, type Authenticity, type TrustPolicy } from './authenticate-backup.js';
import { noTracing, type RunTracer } from '../ports/run-tracer.js';
import { PhaseTimings } from './phase-timings.js';
import { systemClock } from '../domain/clock.js';
import { dbSystemOf } from '../domain/db-system.js';

/** Storage, keys, trust and the adapters a manifest names (`BackupAdapters`: the runner wires the registries). */
export interface VerifyDependencies extends BackupAdapters {
  readonly storage: StorageBackend;
  readonly catalog: Catalog;
  readonly decryptor: Decryptor;
  /** Reads ranges of encrypted packs: what a chunked snapshot needs (read-chunked.ts). */
  readonly randomAccess?: RandomAccessDecryptor;
  /** The job's dedup key, when at hand: a chunked snapshot's chunk ids are then checked too. */
  readonly dedupKey?: Buffer;
  /** Whose signatures make a backup genuine (authenticate-backup.ts). */
  readonly trust: TrustPolicy;
  /** Where the verify's phases are traced. @default no tracing */
  readonly tracer?: RunTracer;
}

export interface VerifyReport {
  readonly backup: LocatedBackup;
  /** Who signed it, or (with `allowUnsigned` only) why that is not proven. */
  readonly authenticity?: Authenticity;
  readonly bytesStored: number;
  readonly bytesRaw: number;
  /** The engine's structural check, e.g. "pg_restore read the whole archive". */
  readonly structure: string;
}

/**
 * Reads a whole backup back and checks everything its manifest says about the data: the
 * manifest's signature (a trusted signer, or `UntrustedBackupError` before anything else is
 * read), every object present at its size (before anything starts), SHA-256 and size of the
 * stored object, the age header's recipients and the authentication of every chunk,
 * decompression with the manifest's compression id, the plaintext size, and the engine's
 * structural check of the dump. Touches no database. Rejects with IntegrityError/KeyError when
 * any check fails.
 */
export async function runVerify(
  deps: VerifyDependencies,
  ref: BackupRef,
  options: { signal?: AbortSignal; onProgress?: (bytesRead: number) => void; record?: boolean; samplePercent?: number; runId?: string } = {},
): Promise<VerifyReport> {
  // Timed like a backup's phases: the recorded run keeps how long each took.
  const timings = new PhaseTimings(systemClock);
  const tracer = timings.tracing(deps.tracer ?? noTracing);
  const backup = await tracer.span('locate', {}, (span) => locateBackup(deps.storage, ref, options.signal).then((located) => (span.setAttributes(locatedAttributes(located)), located)));
  // Inside the recorded run: a refused signature is a failed verify in the catalog, for the audit trail.
  const check = async (): Promise<VerifyReport> => {
    const authenticity = await tracer.span('authenticate', {}, () => authenticateBackup(deps.storage, backup, deps.trust, { action: 'verify', signal: options.signal }));
    const verified = await tracer.span('fetch, decrypt, decompress, verify', {}, async (span) => {
      const report = await verifyLocated(deps, backup, options);
      span.setAttributes({ 'vaultra.bytes.stored': report.bytesStored, 'vaultra.bytes.raw': report.bytesRaw });
      return report;
    });
    return { ...verified, authenticity };
  };
  if (options.record === false) return check();
  const { value } = await recordedRun(deps.catalog, { kind: 'verify', job: backup.job, engine: backup.manifest.source.engine, location: deps.storage.location, ...(options.runId ? { runId: options.runId } : {}) }, check, { signal: options.signal, timings });
  return value;
}

export async function verifyLocated(
  deps: Pick<VerifyDependencies, 'storage' | 'decryptor' | 'engineById' | 'decompressor' | 'chunkCodec' | 'randomAccess' | 'dedupKey'>,
  backup: LocatedBackup,
  options: { signal?: AbortSignal; onProgress?: (bytesRead: number) => void; dryRun?: Pick<ValidationOptions, 'target' | 'tables' | 'selectedTables' | 'force'>; samplePercent?: number } = {},
): Promise<VerifyReport> {
  const { manifest } = backup;
  await checkObjectsPresent(deps.storage, backup, options.signal);
  if (isChunkedSnapshot(manifest)) {
    const engine = deps.engineById(manifest.source.engine);
    const checked = await verifySnapshot(deps, backup, engine, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onBytes: options.onProgress } : {}),
      ...(options.samplePercent !== undefined ? { samplePercent: options.samplePercent } : {}),
    });
    const bytesStored = manifest.objects.reduce((sum, object) => sum + object.sizeBytes, 0);
    return { backup, bytesStored, ...checked };
  }
  if (manifest.log) {
    // A log run's bytes are the server's own log: stored, checksummed, authenticated and
    // decompressed to the size the manifest says is what can be checked without a server.
    const { log } = manifest;
    const discard = { stream: new Writable({ write: (_chunk, _encoding, callback) => callback() }), abort: async () => undefined };
    const { bytesRaw } = await readBackupInto(deps, backup, () => Promise.resolve(discard), { signal: options.signal, onBytes: options.onProgress });
    return { backup, bytesStored: dataObjectOf(manifest).sizeBytes, bytesRaw, structure: `${log.kind} ${log.start} → ${log.end}, ${log.events ?? 'uncounted'} transaction(s) (${log.format})` };
  }
  const { sink, bytesRaw } = await readBackupInto(
    deps,
    backup,
    () =>
      deps.engineById(manifest.source.engine).openValidation({
        signal: options.signal,
        contents: manifest.contents,
        sourceDatabase: manifest.source.database,
        details: manifest.dump.details,
        ...options.dryRun,
      }),
    { signal: options.signal, onBytes: options.onProgress },
  );
  const structure = await sink.result();
  return { backup, bytesStored: dataObjectOf(manifest).sizeBytes, bytesRaw, structure };
}

/** What a located backup tells a trace: which run of which job, of what database. */
export function locatedAttributes(backup: LocatedBackup): Record<string, string> {
  return {
    'vaultra.job': backup.job,
    'vaultra.backup.run_id': backup.runId,
    'db.system': dbSystemOf(backup.manifest.source.engine),
    'db.namespace': backup.manifest.source.database,
  };
}
