import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import type {
  ContentEntry,
  DatabaseEngine,
  DumpOutput,
  RestoreOptions,
  RestoreSink,
  SourceDescription,
  TargetState,
  ValidationSink,
} from '../../../ports/database-engine.js';
import { selectedTableNames } from '../../../ports/database-engine.js';
import { ConfigError, IntegrityError, NotFoundError, RestoreFailedError, RunConflictError } from '../../../errors.js';
import { toolVersion } from '../../process/child-process.js';
import { quoteIdentifier, quoteLiteral, sqlite } from './sqlite-cli.js';
import { copyTables, missingTables } from './sqlite-table-copy.js';
import { checksummedTables, tableChecksums } from './sqlite-checksums.js';
import { encodeTableChecksums, TABLE_CHECKSUMS_DETAIL, type TableChecksums } from '../../../domain/table-checksums.js';

import { sqliteDescriptor, type SqliteSource } from './sqlite-descriptor.js';

export { sqlitePath } from './sqlite-path.js';

/**
 * SQLite databases (`sqlite:<path>`). A backup is `VACUUM INTO` a private temp file — one read
 * transaction, so it is a consistent snapshot even while other connections write, and it
 * finishes even under a constant stream of writes (the online backup API restarts whenever
 * the source changes). SQLite offers no consistent way to stream a database without that
 * snapshot file; the manifest says so. A restore writes next to the target and renames over
 * it only after `PRAGMA integrity_check` passed: the target is replaced whole or not at all.
 */
export class SqliteEngine implements DatabaseEngine<SqliteSource> {
  readonly id = 'sqlite' as const;
  readonly descriptor = sqliteDescriptor;

  parse(url: string): SqliteSource {
    return sqliteDescriptor.parse(url);
  }

  nameOf(source: SqliteSource): string {
    return basename(source.parts).replace(/\.(db|sqlite3?|db3)$/i, '');
  }

  async describe(source: SqliteSource, signal?: AbortSignal): Promise<SourceDescription> {
    const path = await existingDatabase(source);
    const version = (await sqlite(path, 'select sqlite_version();', { readonly: true, signal })).trim();
    return { engine: 'sqlite', database: basename(path), serverVersion: version, contents: await contentsOf(path, signal) };
  }

  async dump(source: SqliteSource, { signal }: { signal?: AbortSignal } = {}): Promise<DumpOutput> {
    const path = await existingDatabase(source);
    const version = (await toolVersion('sqlite3')) ?? 'unknown';
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-sqlite-'));
    const snapshot = join(dir, 'snapshot.db');
    let checksums: TableChecksums = {};
    try {
      const journalMode = (await sqlite(path, `PRAGMA journal_mode;\nVACUUM INTO '${snapshot.replace(/'/g, "''")}';`, { readonly: true, signal })).trim();
      // VACUUM INTO always writes a rollback-journal file: carry a WAL source's mode over, so
      // the restored database is in the mode the application set.
      if (journalMode === 'wal') await sqlite(snapshot, 'PRAGMA journal_mode = WAL;', { signal });
      // Hashed on the snapshot, the bytes the backup holds: what a drill's restore must give back.
      checksums = await tableChecksums(snapshot, await checksummedTables(snapshot, signal), { signal });
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const stream = createReadStream(snapshot, { highWaterMark: 1024 * 1024 });
    stream.once('close', () => void rm(dir, { recursive: true, force: true }));
    return {
      stream,
      direct: false,
      tool: { name: 'sqlite3', version: version.split(' ')[0] ?? version },
      format: 'sqlite-file',
      consistency: 'VACUUM INTO a temp file (one read transaction; journal mode kept), then streamed; the temp file is removed',
      ...(Object.keys(checksums).length > 0 ? { details: { [TABLE_CHECKSUMS_DETAIL]: encodeTableChecksums(checksums) } } : {}),
    };
  }

  async inspectTarget(target: SqliteSource, signal?: AbortSignal): Promise<TargetState> {
    const path = target.parts;
    const info = await stat(path).catch(() => undefined);
    if (!info) return { exists: false, objects: [] };
    if (info.size === 0) return { exists: true, objects: [] };
    // Read the target as an immutable file: an ordinary read-only open of a WAL database would
    // create -wal/-shm files beside it (owned by whoever runs vaultra). Immutable reads ignore
    // the WAL, so a non-empty -wal counts as data too: a target is never taken for empty.
    const contents = await contentsOf(`file:${encodeURI(path).replace(/[?#]/g, encodeURIComponent)}?immutable=1`, signal, { counts: false });
    const objects = contents.map((entry) => entry.name);
    const wal = await stat(`${path}-wal`).catch(() => undefined);
    if (objects.length === 0 && wal && wal.size > 0) objects.push(`${basename(path)}-wal (changes not yet checkpointed)`);
    return { exists: true, objects };
  }

  async openRestore(target: SqliteSource, options: RestoreOptions): Promise<RestoreSink> {
    if (options.schemas?.length || options.paths?.length) throw new ConfigError('SQLite restores select with --tables (tables and views), not --schemas or --paths');
    const selected = selectedTableNames(options);
    if (selected) return openSelectiveRestore(target, selected, options, this);
    const path = target.parts;
    const state = await this.inspectTarget(target, options.signal);
    if (state.objects.length > 0 && !options.force) {
      throw new RunConflictError(`restore target ${path} already holds ${state.objects.length} table(s)/view(s): restore to a new path, or pass --force to replace the file`);
    }
    const temp = join(dirname(path), `.${basename(path)}.vaultra-restore-${randomBytes(4).toString('hex')}`);
    const file = openTempFile(temp);
    return {
      stream: file.stream,
      replaces: state.objects,
      async commit() {
        await file.done();
        await checkIntegrity(temp, (message) => new RestoreFailedError(`restored SQLite file fails its integrity check, target left untouched: ${message}`, message));
        // A WAL or shared-memory file of the old database must not be replayed over the new one.
        await Promise.all([unlink(`${path}-wal`).catch(() => undefined), unlink(`${path}-shm`).catch(() => undefined), unlink(`${path}-journal`).catch(() => undefined)]);
        await rename(temp, path);
      },
      async abort() {
        file.stream.destroy();
        await rm(temp, { force: true });
      },
    };
  }

  async openValidation(): Promise<ValidationSink> {
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-sqlite-check-'));
    const temp = join(dir, 'check.db');
    const file = openTempFile(temp);
    return {
      stream: file.stream,
      async result() {
        try {
          await file.done();
          await checkIntegrity(temp, (message) => new IntegrityError(`SQLite integrity check failed: ${message}`));
          const tables = (await contentsOf(temp)).filter((entry) => entry.kind === 'table');
          return `PRAGMA integrity_check ok; ${tables.length} table(s)`;
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
      async abort() {
        file.stream.destroy();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

/**
 * A restore of some tables: the whole backup is staged beside the target and checked, then the
 * named tables and views — with their indexes, triggers and rows — are copied into the target
 * in one transaction. Other tables of the target stay as they are; a named table the target
 * already has is refused unless `force`. A target that does not exist is built aside and
 * renamed into place.
 */
async function openSelectiveRestore(target: SqliteSource, tables: readonly string[], options: RestoreOptions, engine: SqliteEngine): Promise<RestoreSink> {
  const path = target.parts;
  const state = await engine.inspectTarget(target, options.signal);
  const collisions = state.objects.filter((object) => tables.includes(object));
  if (collisions.length > 0 && !options.force) {
    throw new RunConflictError(`restore target ${path} already has ${collisions.join(', ')}: restore to a new path, or pass --force to replace ${collisions.length === 1 ? 'it' : 'them'}`);
  }
  const sibling = (what: string) => join(dirname(path), `.${basename(path)}.vaultra-${what}-${randomBytes(4).toString('hex')}`);
  const staged = sibling('staged');
  const file = openTempFile(staged);
  const cleanUp = () => Promise.all([staged, `${staged}-wal`, `${staged}-shm`, `${staged}-journal`].map((f) => rm(f, { force: true })));
  return {
    stream: file.stream,
    replaces: collisions,
    async commit() {
      try {
        await file.done();
        await checkIntegrity(staged, (message) => new RestoreFailedError(`restored SQLite file fails its integrity check, target left untouched: ${message}`, message));
        const missing = await missingTables(staged, tables);
        if (missing.length > 0) throw new NotFoundError(`the backup has no table or view ${missing.join(', ')} (vaultra show lists what it holds); target left untouched`);
        const existing = await stat(path).catch(() => undefined);
        if (existing && existing.size > 0) {
          await copyTables(staged, path, tables, { replace: Boolean(options.force), newFile: false });
          return;
        }
        const built = sibling('restore');
        try {
          await copyTables(staged, built, tables, { replace: false, newFile: true });
          await checkIntegrity(built, (message) => new RestoreFailedError(`restored SQLite file fails its integrity check, target left untouched: ${message}`, message));
          await rename(built, path);
        } finally {
          await Promise.all([built, `${built}-wal`, `${built}-shm`].map((f) => rm(f, { force: true })));
        }
      } finally {
        await cleanUp();
      }
    },
    async abort() {
      file.stream.destroy();
      await cleanUp();
    },
  };
}

async function existingDatabase(source: SqliteSource): Promise<string> {
  const path = source.parts;
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new NotFoundError(`SQLite database ${path} does not exist`);
  return path;
}

async function contentsOf(path: string, signal?: AbortSignal, { counts = true } = {}): Promise<ContentEntry[]> {
  const objects = JSON.parse(
    (await sqlite(path, `select type, name from sqlite_schema where type in ('table', 'view') and name not like 'sqlite_%' order by name;`, { readonly: true, json: true, signal })) || '[]',
  ) as { type: 'table' | 'view'; name: string }[];
  const tables = objects.filter((o) => o.type === 'table');
  let rows: Record<string, number> = {};
  if (counts && tables.length > 0) {
    const sql = tables.map((t) => `select ${quoteLiteral(t.name)} as name, count(*) as n from ${quoteIdentifier(t.name)}`).join(' union all ') + ';';
    const counted = JSON.parse((await sqlite(path, sql, { readonly: true, json: true, signal })) || '[]') as { name: string; n: number }[];
    rows = Object.fromEntries(counted.map((c) => [c.name, c.n]));
  }
  return objects.map((o) =>
    o.type === 'table' && counts ? { kind: 'table', name: o.name, rows: rows[o.name] ?? 0, rowsExact: true } : { kind: o.type, name: o.name },
  );
}

async function checkIntegrity(path: string, toError: (message: string) => Error): Promise<void> {
  let result: string;
  try {
    // Read-write on purpose: these are our own temp files, and a read-only open of a WAL file
    // would leave -wal/-shm files behind (next to the restore target).
    result = (await sqlite(path, 'PRAGMA integrity_check;')).trim();
  } catch (error) {
    throw toError((error as Error).message);
  }
  if (result !== 'ok') throw toError(result.split('\n').slice(0, 3).join('; '));
}

/** A 0600 temp file that is fsynced before it closes; `done()` says whether every byte got there. */
function openTempFile(path: string): { stream: Writable; done(): Promise<void> } {
  const stream = createWriteStream(path, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: 1024 * 1024 });
  const closed = new Promise<void>((resolve, reject) => {
    stream.once('close', () => (stream.writableFinished ? resolve() : reject(new RestoreFailedError('the restore stream ended early', ''))));
    stream.once('error', reject);
  });
  closed.catch(() => undefined);
  return { stream, done: () => closed };
}

