import { Writable, type Duplex, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Decryptor } from '../ports/encryptor.js';
import type { DirectDecompression } from '../ports/compressor.js';
import type { RestoreSink } from '../ports/database-engine.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { ArtifactObject, Manifest } from '../domain/manifest.js';
import { MANIFEST_NAME, objectKeyOf } from '../domain/object-layout.js';
import { StorageArtifactReader } from '../pipeline/artifact-reader.js';
import { storageUrlOf } from '../domain/storage-location.js';
import type { BackupAdapters } from '../ports/backup-adapters.js';
import { ExactSizeVerifier, Sha256Verifier } from '../pipeline/byte-taps.js';
import { IntegrityError, KeyError } from '../errors.js';
import { rootCause } from './run-errors.js';

/** A manifest and where it sits: every object it names is read from that folder, never from its own fields. */
export interface BackupAt {
  readonly manifest: Manifest;
  /** Key of the manifest, relative to the storage root. */
  readonly manifestKey: string;
}

/** What reading a backup's data needs: where it is, the keys to open it, a decompressor for its compression id. */
export interface ReadDependencies extends Pick<BackupAdapters, 'decompressor' | 'directDecompressor'> {
  readonly storage: StorageBackend;
  readonly decryptor: Decryptor;
}

/**
 * Reads a backup's data into a sink (a restore's target, a verify's validation tool), which is
 * opened first and guarded from birth (`guarded`). On any failure the sink is aborted, and the
 * failure explained (`explainReadFailure`): a key error that is really damage says so. Resolves
 * with the opened sink, fed to its end, and the plaintext bytes read; the caller commits it or
 * takes its result.
 */
export async function readBackupInto<Sink extends { readonly stream: Writable; readonly direct?: RestoreSink['direct']; abort(): Promise<void> }>(
  deps: ReadDependencies,
  backup: BackupAt,
  openSink: () => Promise<Sink>,
  options: { signal?: AbortSignal; onBytes?: (bytesRead: number) => void } = {},
): Promise<{ sink: Sink; bytesRaw: number }> {
  const sink = guarded(await openSink());
  const direct = await orAbort(sink, async () => (sink.direct && deps.directDecompressor ? deps.directDecompressor(backup.manifest.compression.id, sink.direct.pipe) : undefined));
  if (direct) {
    const stages = await orAbort(sink, () => openEncryptedStages(deps, backup, options), () => direct.input.destroy());
    return { sink, bytesRaw: await readDirectly(deps, backup, stages, direct, sink, options.signal) };
  }
  const stages = await orAbort(sink, () => openBackupStages(deps, backup, options));
  const [piped] = await Promise.allSettled([pipeline(...stages, sink.stream, { signal: options.signal })]);
  if (piped.status === 'rejected') {
    await sink.abort();
    throw await explainReadFailure(deps.storage, backup, rootCause([piped]), options.signal);
  }
  return { sink, bytesRaw: stages[4].bytes };
}

/** What `open` resolves with; when it fails, `undo` runs and the sink is aborted before the failure goes on. */
async function orAbort<T>(sink: { abort(): Promise<void> }, open: () => Promise<T>, undo?: () => void): Promise<T> {
  try {
    return await open();
  } catch (error) {
    undo?.();
    await sink.abort();
    throw error;
  }
}

/**
 * The direct read: Node reads, checks and decrypts the stored object into the decompressor,
 * which writes straight into the sink's tool (`zstd -d | tar -x`). The plaintext size, which a
 * stage cannot check on the way any more, is checked from the decompressor's own count once
 * every process has ended, before the caller commits. The failure reported is the first cause:
 * damage found by the checks or the decryption, else the sink's tool's own error (a member
 * outside the target), else the decompressor's.
 */
async function readDirectly(
  deps: ReadDependencies,
  backup: BackupAt,
  stages: readonly [Readable, Transform, Transform],
  direct: DirectDecompression,
  sink: { readonly direct?: RestoreSink['direct']; abort(): Promise<void> },
  signal?: AbortSignal,
): Promise<number> {
  // The stage that fails first is the cause; the pipeline then destroys the others with its error.
  let first: { readonly reading: boolean; readonly error: unknown } | undefined;
  for (const stage of stages) stage.once('error', (error) => (first ??= { reading: true, error }));
  direct.input.once('error', (error) => (first ??= { reading: false, error }));
  const [fed, sinkEnded, counted] = await Promise.allSettled([pipeline(...stages, direct.input, { signal }), sink.direct!.handedOver(), direct.plaintextBytes]);
  const sinkFailure = sinkEnded.status === 'rejected' ? sinkEnded.reason : undefined;
  const failure = first?.reading ? first.error : (sinkFailure ?? (fed.status === 'rejected' || counted.status === 'rejected' ? rootCause([fed, counted]) : undefined));
  if (failure !== undefined) {
    await sink.abort();
    throw await explainReadFailure(deps.storage, backup, failure, signal);
  }
  const bytes = (counted as PromiseFulfilledResult<number>).value;
  const problem = bytes === backup.manifest.plaintextBytes ? undefined : `is ${bytes} bytes, not the ${backup.manifest.plaintextBytes}`;
  if (problem) {
    await sink.abort();
    throw new IntegrityError(plaintextSizeMessage(dataObjectOf(backup.manifest).name, problem));
  }
  return bytes;
}

/** The run folder a manifest sits in. */
export function folderOf(backup: Pick<BackupAt, 'manifestKey'>): string {
  return backup.manifestKey.slice(0, -`/${MANIFEST_NAME}`.length);
}

/**
 * Checks, before anything is created, that every object the manifest names is where it lives (its
 * run folder, or its job's shared area) at the size the manifest says: one listing per folder (no
 * more than finding the backup took), so a missing or resized object fails in one line instead
 * of half-way through a restore. Rejects with `IntegrityError`: a backup missing part of itself is damaged.
 */
export async function checkObjectsPresent(storage: StorageBackend, backup: BackupAt, signal?: AbortSignal): Promise<void> {
  const problem = await objectsProblem(storage, backup, signal);
  if (problem) throw new IntegrityError(`backup ${backup.manifest.runId} is incomplete: ${problem}`);
}

/** What is wrong with the objects of `backup` (missing, another size), or `undefined`. */
export async function objectsProblem(storage: StorageBackend, backup: BackupAt, signal?: AbortSignal): Promise<string | undefined> {
  for (const [object, size] of await storedSizes(storage, backup, signal)) {
    const where = storageUrlOf(storage.location, objectKeyOf(backup.manifestKey, object).slice(0, -`/${object.name}`.length));
    if (size === undefined) return `${object.name}, named in its manifest, is missing from ${where}`;
    if (size !== object.sizeBytes) return `${object.name} is ${size} bytes, its manifest says ${object.sizeBytes}: the stored object was truncated or altered`;
  }
  return undefined;
}

/** The stored size of each object of `backup` (`undefined`: missing), from one listing per folder the objects live in. */
export async function storedSizes(storage: StorageBackend, backup: BackupAt, signal?: AbortSignal): Promise<Map<ArtifactObject, number | undefined>> {
  const keys = new Map(backup.manifest.objects.map((object) => [object, objectKeyOf(backup.manifestKey, object)]));
  const folders = new Set([...keys.values()].map((key) => key.slice(0, key.lastIndexOf('/') + 1)));
  const sizes = new Map<string, number>();
  for (const folder of folders) for await (const object of storage.list(folder, { signal })) sizes.set(object.key, object.sizeBytes);
  return new Map([...keys].map(([object, key]) => [object, sizes.get(key)]));
}

/**
 * The stages of every restore and verify, in order: read the data object from the manifest's
 * own folder, check its SHA-256 and size against the manifest, decrypt (authenticating every
 * chunk, and checking the age header against the manifest's recipients) and decompress with
 * the algorithms the manifest names, then check the plaintext size. The last stage yields the
 * plaintext dump and counts it (`bytes`); every check fails before the end of the stream is
 * signalled downstream.
 */
export async function openBackupStages(
  deps: ReadDependencies,
  backup: BackupAt,
  options: { signal?: AbortSignal; onBytes?: (bytesRead: number) => void } = {},
): Promise<[Readable, Transform, Transform, Duplex, ExactSizeVerifier]> {
  const { manifest } = backup;
  const [source, hash, decrypt] = await openEncryptedStages(deps, backup, options);
  let decompress: Duplex;
  try {
    decompress = await deps.decompressor(manifest.compression.id);
  } catch (error) {
    source.destroy();
    throw error;
  }
  const plaintext = new ExactSizeVerifier(manifest.plaintextBytes, (problem) => plaintextSizeMessage(dataObjectOf(manifest).name, problem));
  return [source, hash, decrypt, decompress, plaintext];
}

/** The stages up to the compressed bytes: the stored object read, its SHA-256 and size checked, decrypted. */
async function openEncryptedStages(
  deps: ReadDependencies,
  backup: BackupAt,
  options: { signal?: AbortSignal; onBytes?: (bytesRead: number) => void },
): Promise<[Readable, Transform, Transform]> {
  const { manifest } = backup;
  const data = dataObjectOf(manifest);
  const source = await new StorageArtifactReader(deps.storage, backup.manifestKey).open(data, options.signal);
  // The pipeline is built only after the stages below and the caller's own awaits: a read that
  // fails before then (a reset connection) must not crash the process on an unhandled 'error'
  // event. The error is not lost: the pipeline rejects with it, as it does for a stream that
  // has already failed.
  source.on('error', () => undefined);
  let decrypt: Transform;
  try {
    decrypt = deps.decryptor.decrypt(manifest.encryption.format, manifest.encryption.recipients);
  } catch (error) {
    source.destroy();
    throw error;
  }
  return [source, new Sha256Verifier({ ...data }, options.onBytes), decrypt];
}

function plaintextSizeMessage(name: string, problem: string): string {
  return `the dump in ${name} ${problem} its manifest says (plaintextBytes): the manifest or the object was altered`;
}

/**
 * A restore or validation sink, with an 'error' listener on its stream from the moment it is
 * opened. The sink exists before the data is read; if reading cannot start, `abort()` kills the
 * sink's tool and its stream errors while nothing is piped into it yet: without a listener Node
 * crashes on the unhandled 'error' event, and the run is never recorded. Once piped, the
 * pipeline reports the stream's errors as always; this only keeps the earlier ones from
 * crashing the process (the use case is already failing with its own cause then).
 */
export function guarded<Sink extends { readonly stream: Writable }>(sink: Sink): Sink {
  sink.stream.on('error', () => undefined);
  return sink;
}

/** The one data object of a manifest (this version writes and reads exactly one). */
export function dataObjectOf(manifest: Manifest): ArtifactObject {
  const objects = manifest.objects.filter((o) => o.role === 'data');
  const [data] = objects;
  if (!data || objects.length !== 1) throw new IntegrityError(`manifest of run ${manifest.runId} lists ${objects.length} data objects; this version reads exactly one`);
  return data;
}

/**
 * What a failed read of a backup really means. An identity fails to unwrap an altered header
 * stanza exactly as it fails to unwrap someone else's, so a `KeyError` can be damage in
 * disguise: before blaming the key, read the stored object once more against the manifest's
 * SHA-256 and size (only on this failure path), and report an `IntegrityError` if it was altered.
 */
export async function explainReadFailure(storage: StorageBackend, backup: BackupAt, error: unknown, signal?: AbortSignal): Promise<unknown> {
  if (!(error instanceof KeyError)) return error;
  const data = backup.manifest.objects.find((o) => o.role === 'data');
  if (!data) return error;
  try {
    const source = await new StorageArtifactReader(storage, backup.manifestKey).open(data, signal);
    const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await pipeline(source, new Sha256Verifier({ ...data }), discard, { signal });
  } catch (check) {
    if (check instanceof IntegrityError) return check;
  }
  return error;
}
