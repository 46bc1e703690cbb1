import type { Catalog } from '../ports/catalog.js';
import type { Decryptor, RandomAccessDecryptor } from '../ports/encryptor.js';
import { isChunkedSnapshot, restoreSnapshot } from './read-chunked.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { ContentEntry } from '../ports/database-engine.js';
import type { EngineCapabilities } from '../ports/engine-descriptor.js';
import type { BackupAdapters } from '../ports/backup-adapters.js';
import { ConfigError, NotFoundError } from '../errors.js';
import { locateBackup, type BackupRef, type LocatedBackup } from './locate-backup.js';
import { checkObjectsPresent, readBackupInto } from './read-backup.js';
import { recordedRun } from './record-run.js';
import { locatedAttributes, verifyLocated } from './verify.js';
import { noTracing, type RunTracer } from '../ports/run-tracer.js';
import { PhaseTimings } from './phase-timings.js';
import { systemClock } from '../domain/clock.js';
import { authenticateBackup, type Authenticity, type TrustPolicy } from './authenticate-backup.js';

/** Storage, catalog, keys, trust and the adapters a manifest names (`BackupAdapters`: the runner wires the registries). */
export interface RestoreDependencies extends BackupAdapters {
  readonly storage: StorageBackend;
  readonly catalog: Catalog;
  readonly decryptor: Decryptor;
  /** Reads ranges of encrypted packs: what a chunked snapshot needs (read-chunked.ts). */
  readonly randomAccess?: RandomAccessDecryptor;
  /** The job's dedup key, when at hand: a chunked snapshot's chunk ids are then checked too. */
  readonly dedupKey?: Buffer;
  /** Whose signatures make a backup genuine (authenticate-backup.ts). */
  readonly trust: TrustPolicy;
  /** Where the restore's phases are traced. @default no tracing */
  readonly tracer?: RunTracer;
}

export interface RestoreRequest extends BackupRef {
  readonly target: string;
  readonly tables?: readonly string[];
  readonly schemas?: readonly string[];
  readonly paths?: readonly string[];
  readonly force?: boolean;
  readonly noOwner?: boolean;
  /** Directories: restore setuid/setgid bits, device nodes, FIFOs, world-writable modes and owners as archived. */
  readonly preserveSpecial?: boolean;
  readonly dryRun?: boolean;
  /** Streams restored at once (a chunked snapshot of an engine that dumps as streams). @default 1 */
  readonly jobs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesRead: number) => void;
  /** Record the restore as a run in the catalog (a caller recording a larger run says false). @default true */
  readonly record?: boolean;
  /** The id to record the run under (a launched run's, which its launcher follows). @default a new run id */
  readonly runId?: string;
}

export interface RestoreReport {
  readonly backup: LocatedBackup;
  /** Who signed it, or (with `allowUnsigned` only) why that is not proven. */
  readonly authenticity: Authenticity;
  readonly target: string;
  readonly dryRun: boolean;
  readonly bytesRaw: number;
  /** What the backup holds that the restore (would) bring back. */
  readonly restored: readonly ContentEntry[];
  /** Objects already in the target that the restore would replace (dry run), or replaced. */
  readonly replaced: readonly string[];
  readonly structure?: string;
  /** What the restore changed on the way in for safety (a directory's special files left out), one line each. */
  readonly notes?: readonly string[];
}

/**
 * Restores a backup into a target database. Nothing is read past the manifest, and no target is
 * touched, unless the manifest is signed by a trusted signer (or `allowUnsigned`). The target
 * changes only if every check passed:
 * the engine restores in one transaction (PostgreSQL) or by atomic file replace (SQLite),
 * and any failure — checksum, age authentication, wrong key, tool error — aborts it, leaving
 * the target as it was. A non-empty target is refused unless `force`.
 * With `dryRun` the whole backup is read and checked and nothing is written anywhere.
 */
export async function runRestore(deps: RestoreDependencies, request: RestoreRequest): Promise<RestoreReport> {
  // Timed like a backup's phases: the recorded run keeps how long each took.
  const timings = new PhaseTimings(systemClock);
  const tracer = timings.tracing(deps.tracer ?? noTracing);
  const backup = await tracer.span('locate', {}, (span) => locateBackup(deps.storage, request, request.signal).then((located) => (span.setAttributes(locatedAttributes(located)), located)));
  const authenticity = await tracer.span('authenticate', {}, () => authenticateBackup(deps.storage, backup, deps.trust, { action: 'restore', signal: request.signal }));
  const { manifest } = backup;
  if (manifest.log) {
    throw new ConfigError(`run ${backup.runId} is a log run (${manifest.log.kind} ${manifest.log.start} … ${manifest.log.end}), not a backup: restore to a time with vaultra restore --at <time> --job ${backup.job}`);
  }
  const targetEngine = deps.engineIdForUrl(request.target);
  if (targetEngine !== manifest.source.engine) {
    throw new ConfigError(`run ${backup.runId} is a ${manifest.source.engine} backup; it cannot be restored into a ${targetEngine} target`);
  }
  const engine = deps.engineById(manifest.source.engine);
  const target = engine.parse(request.target);
  const restored = selectContents(manifest.contents, request);
  const unmatched = unmatchedSelection(manifest.contents, request);
  if (unmatched.length > 0) {
    throw new NotFoundError(`backup ${backup.runId} holds nothing named ${unmatched.join(', ')} (vaultra show ${backup.runId} lists its contents)`);
  }

  // Engines get the entries the names matched, not only the names: a name's own dots and
  // wildcards are resolved once, here, against the contents list (routines and events are
  // restored with the database, never selected as tables).
  const selectedTables = request.tables?.length ? restored.filter((entry) => TABLE_LIKE.has(entry.kind)) : undefined;
  const engineRequest = selectedTables ? { ...request, selectedTables } : request;
  if (request.dryRun) {
    const state = await engine.inspectTarget(target, request.signal);
    const verified = await verifyLocated(deps, backup, { ...request, dryRun: { target, tables: request.tables, selectedTables, force: request.force } });
    const replaced = state.objects.filter((object) => restored.some((entry) => collides(engine.descriptor.capabilities, object, entry)));
    return { backup, authenticity, target: request.target, dryRun: true, bytesRaw: verified.bytesRaw, restored, replaced, structure: verified.structure };
  }

  const restore = async () => {
    // Read and check the whole backup first, so the target changes only if every byte is
    // intact, when the restore could otherwise act on bytes not yet checked: a selective
    // pg_restore may commit as soon as it has what it needs, and an engine without atomic
    // restores would have replaced existing data by the time damage shows.
    // A chunked snapshot's selective restore reads only the chosen streams, each chunk checked before it is used.
    const selective = Boolean(request.tables?.length || request.schemas?.length || request.paths?.length) && !(isChunkedSnapshot(manifest) && manifest.snapshot?.layout === 'multi-stream');
    if (selective || (request.force && !engine.descriptor.capabilities.atomicRestore)) await tracer.span('verify', {}, () => verifyLocated(deps, backup, { signal: request.signal }));
    // Before the target is touched (a database created, a temp folder made): every object is there.
    else await tracer.span('check objects', {}, () => checkObjectsPresent(deps.storage, backup, request.signal));
    return tracer.span('fetch, decrypt, decompress, restore', { 'vaultra.target': target.describe() }, async (span) => {
      if (isChunkedSnapshot(manifest)) {
        const options = { ...engineRequest, ...(request.onProgress ? { onBytes: request.onProgress } : {}) };
        return restoreSnapshot(deps, backup, engine, target, options);
      }
      const { sink, bytesRaw } = await readBackupInto(deps, backup, () => engine.openRestore(target, { ...engineRequest, sourceDatabase: manifest.source.database }), {
        signal: request.signal,
        onBytes: request.onProgress,
      });
      await sink.commit();
      span.setAttributes({ 'vaultra.bytes.raw': bytesRaw });
      return { bytesRaw, replaced: sink.replaces, notes: sink.notes ?? [] };
    });
  };
  const value = request.record === false ? await restore() : (await recordedRun(deps.catalog, { kind: 'restore', job: backup.job, engine: manifest.source.engine, location: deps.storage.location, ...(request.runId ? { runId: request.runId } : {}) }, restore, { signal: request.signal, timings })).value;
  return { backup, authenticity, target: request.target, dryRun: false, restored, ...value };
}

/** The kinds of contents entry `--tables` selects. */
const TABLE_LIKE: ReadonlySet<ContentEntry['kind']> = new Set(['table', 'view', 'materialized-view', 'sequence', 'collection']);

/** What of the backup's contents list a (selective) restore brings back, as the user named it. */
export function selectContents(contents: readonly ContentEntry[], request: Pick<RestoreRequest, 'tables' | 'schemas' | 'paths'>): ContentEntry[] {
  if (request.tables?.length) {
    const patterns = request.tables.map(namePattern);
    return contents.filter((c) => patterns.some((p) => p.test(c.name) || (c.schema !== undefined && p.test(`${c.schema}.${c.name}`))));
  }
  if (request.schemas?.length) return contents.filter((c) => c.schema && request.schemas!.includes(c.schema));
  if (request.paths?.length) {
    // Directory contents list top-level entries: a path selects the entry it lies under.
    const tops = new Set(request.paths.map((p) => p.replace(/^\.?\/+/, '').split('/')[0]));
    return contents.filter((c) => tops.has(c.name));
  }
  return [...contents];
}

/** The names of a selective restore that match nothing in the backup's contents list. */
export function unmatchedSelection(contents: readonly ContentEntry[], request: Pick<RestoreRequest, 'tables' | 'schemas' | 'paths'>): string[] {
  const unmatched = (names: readonly string[] | undefined, select: (name: string) => Pick<RestoreRequest, 'tables' | 'schemas' | 'paths'>) =>
    (names ?? []).filter((name) => selectContents(contents, select(name)).length === 0);
  return [
    ...unmatched(request.tables, (name) => ({ tables: [name] })),
    ...unmatched(request.schemas, (name) => ({ schemas: [name] })),
    ...unmatched(request.paths, (name) => ({ paths: [name] })),
  ];
}

/** Whether a target object (as `inspectTarget` names it) is one a restored entry would replace. */
function collides(capabilities: EngineCapabilities, object: string, entry: ContentEntry): boolean {
  // MongoDB restores into the target URL's database, whatever the source database was called.
  if (capabilities.restoresIntoTargetDatabase) return object.slice(object.indexOf('.') + 1) === entry.name;
  return object === entry.name || object === `${entry.schema}.${entry.name}`;
}

/** `name`, or a MongoDB-style namespace pattern where `*` matches any run of characters. */
function namePattern(name: string): RegExp {
  return new RegExp(`^${name.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}
