import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { IoOptions, Leftover, LeftoverSweeper, ObjectInfo, StorageBackend } from '../../ports/storage-backend.js';
import { ConfigError, NotFoundError, StorageError } from '../../errors.js';
import { batchedFileSink } from './batched-file-sink.js';
import { checkByteRange } from './byte-range.js';

/** Objects being written carry this in their name until they are complete; listings skip them. */
const TEMP_MARKER = '.vaultra-tmp-';
/** Folders under the root that are not backups (the local catalog lives here). */
const RESERVED_PREFIX = '.vaultra';

/**
 * Backups in a local folder (`file:///abs/path` or `file://./relative`). Writes are atomic:
 * data goes to a temp name in the same folder, is fsynced, renamed into place, and the folder
 * is fsynced, so after a crash an object is either complete or absent.
 *
 * Folders exist only to hold objects: a delete, or a failed write, removes the folders it
 * leaves empty (up to the root). What a killed process leaves — its temp file, the folders it
 * made — is listed by `listLeftovers` for the sweep to remove.
 */
export class FileStorageBackend implements StorageBackend, LeftoverSweeper {
  readonly location: string;

  constructor(readonly rootDir: string) {
    this.rootDir = resolve(rootDir);
    this.location = pathToFileURL(this.rootDir).href;
  }

  /** Accepts `file:///abs`, `file://./rel`, `file://rel` and plain paths. */
  static fromUrl(url: string): FileStorageBackend {
    if (!url.startsWith('file:')) return new FileStorageBackend(url);
    if (url.startsWith('file:///')) return new FileStorageBackend(fileURLToPath(url));
    const path = url.replace(/^file:(\/\/)?/, '');
    if (!path) throw new ConfigError(`storage URL ${url} names no folder: use file:///abs/path or file://./relative`);
    return new FileStorageBackend(path);
  }

  async put(key: string, body: Readable, options: IoOptions = {}): Promise<{ sizeBytes: number }> {
    const target = this.pathOf(key);
    const temp = `${target}${TEMP_MARKER}${randomBytes(4).toString('hex')}`;
    try {
      const file = await createTemp(temp);
      // The sink fsyncs the file before the pipeline ends: complete on disk before the rename.
      await pipeline(body, batchedFileSink(file), { signal: options.signal });
      const { size } = await stat(temp);
      await rename(temp, target);
      await syncDirectory(dirname(target));
      return { sizeBytes: size };
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      await this.pruneEmptyFolders(dirname(target));
      throw toStorageError(error, `writing ${key}`);
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no object ${key} in ${this.location}`);
      throw toStorageError(error, `reading ${key}`);
    }
    return createReadStream(path, { highWaterMark: 1024 * 1024 });
  }

  async readRange(key: string, start: number, end: number, options: IoOptions = {}): Promise<Buffer> {
    checkByteRange(key, start, end);
    // One local read is short: the signal is checked before it, not during.
    options.signal?.throwIfAborted();
    const path = this.pathOf(key);
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no object ${key} in ${this.location}`);
      throw toStorageError(error, `reading ${key}`);
    }
    try {
      // An empty range reads nothing: only the object's size can say it is too short.
      if (start === end && (await file.stat()).size < end) throw new StorageError(`reading ${key} failed: the object ends before byte ${end}, it was truncated or replaced`, false);
      const bytes = Buffer.allocUnsafe(end - start);
      let filled = 0;
      // A read may return fewer bytes than asked for; only 0 means the file ends here.
      while (filled < bytes.length) {
        const { bytesRead } = await file.read(bytes, filled, bytes.length - filled, start + filled);
        if (bytesRead === 0) throw new StorageError(`reading bytes ${start}-${end - 1} of ${key} failed: the object ends at byte ${start + filled}, it was truncated or replaced`, false);
        filled += bytesRead;
      }
      return bytes;
    } catch (error) {
      throw toStorageError(error, `reading bytes ${start}-${end - 1} of ${key}`);
    } finally {
      await file.close();
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const doing = `listing ${this.location}${prefix ? `/${prefix}` : ''}`;
    // A folder that is not there is a location that cannot be read, like a missing bucket:
    // never an empty listing, which would read as "no backups here".
    await this.requireRoot(doing);
    // Walk only the folder the prefix names, not the whole tree.
    const slash = prefix.lastIndexOf('/');
    const start = slash < 0 ? this.rootDir : this.pathOf(prefix.slice(0, slash));
    for await (const path of walk(start, doing)) {
      const key = relative(this.rootDir, path).split(sep).join('/');
      if (!key.startsWith(prefix) || key.includes(TEMP_MARKER) || key.startsWith(RESERVED_PREFIX)) continue;
      const info = await stat(path).catch(() => undefined);
      if (info) yield { key, sizeBytes: info.size };
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await rm(path, { force: true });
    } catch (error) {
      throw toStorageError(error, `deleting ${key}`);
    }
    await this.pruneEmptyFolders(dirname(path));
  }

  /** Temp files of writes that never finished, and empty folders (deepest first), under `prefix`. */
  async *listLeftovers(prefix: string): AsyncIterable<Leftover> {
    const slash = prefix.lastIndexOf('/');
    const start = slash < 0 ? this.rootDir : this.pathOf(prefix.slice(0, slash));
    for await (const found of walkLeftovers(start)) {
      const key = relative(this.rootDir, found.path).split(sep).join('/');
      if (!key || !key.startsWith(prefix) || key.startsWith(RESERVED_PREFIX)) continue;
      if (found.kind === 'empty-folder') {
        yield { kind: 'empty-folder', key };
        continue;
      }
      const marker = key.lastIndexOf(TEMP_MARKER);
      const info = await stat(found.path).catch(() => undefined);
      if (info) yield { kind: 'temp-file', key: key.slice(0, marker), id: key.slice(key.lastIndexOf('/') + 1), sizeBytes: info.size, startedAt: info.mtime };
    }
  }

  async removeLeftover(leftover: Leftover): Promise<void> {
    if (leftover.kind === 'empty-folder') {
      await this.pruneEmptyFolders(this.pathOf(leftover.key));
      return;
    }
    if (leftover.kind !== 'temp-file' || !leftover.id?.includes(TEMP_MARKER) || leftover.id.includes('/')) {
      throw new ConfigError(`not a leftover of ${this.location}: ${leftover.kind} ${leftover.key}`);
    }
    const folder = dirname(this.pathOf(leftover.key));
    try {
      await rm(join(folder, leftover.id), { force: true });
    } catch (error) {
      throw toStorageError(error, `removing the temp file ${leftover.id}`);
    }
    await this.pruneEmptyFolders(folder);
  }

  /** Removes `dir` and its parents while they are empty, never the root itself. */
  private async pruneEmptyFolders(dir: string): Promise<void> {
    for (let current = dir; current.startsWith(this.rootDir + sep); current = dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (someone wrote into it), gone already, or not ours to remove
      }
    }
  }

  private async requireRoot(doing: string): Promise<void> {
    let info;
    try {
      info = await stat(this.rootDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageError(`${doing} failed: folder ${this.rootDir} does not exist`, false, { cause: error });
      throw toStorageError(error, doing);
    }
    if (!info.isDirectory()) throw new StorageError(`${doing} failed: ${this.rootDir} is not a folder`, false);
  }

  private pathOf(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '.') || key.startsWith('/')) {
      throw new ConfigError(`object key ${JSON.stringify(key)} is not a plain relative path`);
    }
    return join(this.rootDir, ...key.split('/'));
  }
}

/**
 * Opens a new temp file exclusively, making its folders first. A delete in the same folder may
 * remove a folder it just emptied between the two steps: then make it again.
 */
async function createTemp(path: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dirname(path), { recursive: true });
    try {
      return await open(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw error;
    }
  }
}

/** Temp files anywhere below `dir`, and folders holding no file at any depth (deepest first). */
async function* walkLeftovers(dir: string): AsyncGenerator<{ kind: 'temp-file' | 'empty-folder'; path: string }, boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  let holdsFiles = false;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === RESERVED_PREFIX) holdsFiles = true;
      else if (yield* walkLeftovers(path)) holdsFiles = true;
      continue;
    }
    holdsFiles = true;
    if (entry.isFile() && entry.name.includes(TEMP_MARKER)) yield { kind: 'temp-file', path };
  }
  if (!holdsFiles) yield { kind: 'empty-folder', path: dir };
  return holdsFiles;
}

/** Every file under `dir`; a folder that is absent (or a file) under the root holds nothing. */
async function* walk(dir: string, doing: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw toStorageError(error, doing);
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path, doing);
    else if (entry.isFile()) yield path;
  }
}

/** fsync a folder so a rename in it survives a crash. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const TRANSIENT_CODES = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT']);

function toStorageError(error: unknown, doing: string): unknown {
  if (!(error instanceof Error) || 'kind' in error) return error; // already ours, or an upstream stage's error
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || code === 'ABORT_ERR' || code === 'ERR_STREAM_PREMATURE_CLOSE') return error;
  return new StorageError(`${doing} failed: ${error.message}`, TRANSIENT_CODES.has(code), { cause: error });
}
