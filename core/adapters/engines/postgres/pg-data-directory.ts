import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import type { RestoreOptions, RestoreSink } from '../../../ports/database-engine.js';
import { ConfigError, RestoreFailedError, RunConflictError } from '../../../errors.js';
import { spawnTool, toolInput } from '../../process/child-process.js';
import type { PostgresConnection } from './postgres-connection.js';
import { describeExit } from './postgres-psql.js';
import { chownTree, serverUser } from './pg-server-user.js';
import { looksLikePgDump, looksLikeTar } from './pg-tar-members.js';
import { GNU_TAR_INSTALL_HINT, gnuTarCommand } from '../../process/gnu-tar.js';

/**
 * Restores a physical base (`pg_basebackup-tar`) into a data directory target (`pgdata:<path>`):
 * the tar is unpacked into a folder beside the target, made 0700 (and, as root, handed to the
 * `postgres` user), and renamed into place on commit; abort removes it. The target must be empty
 * or absent; with `force` a non-empty one is replaced (moved aside, then removed, after the new
 * one is in place). The base holds no WAL: a server starts on it only after its WAL is replayed
 * (`restore --at`, which writes the recovery settings).
 */
export async function openDataDirectoryRestore(connection: PostgresConnection, options: RestoreOptions): Promise<RestoreSink> {
  const target = connection.dataDirectory!;
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new ConfigError(`${connection.display} is not a folder: give an empty or absent folder`);
  const held = existing ? await readdir(target) : [];
  if (held.length > 0 && !options.force) throw new RunConflictError(`${connection.display} already holds ${held.length} entries: restore into an empty or absent folder, or pass --force to replace it`);
  await mkdir(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.${basename(target)}.vaultra-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  const tool = await spawnTool(await gnuTarCommand(), ['--extract', '--file=-', `--directory=${staging}`, '--no-same-owner'], {
    env: { LC_ALL: 'C' },
    stdin: 'pipe',
    stdout: 'ignore',
    installHint: GNU_TAR_INSTALL_HINT,
  }).catch(async (error: unknown) => {
    await rm(staging, { recursive: true, force: true });
    throw error;
  });
  const unpack = toolInput(tool, (exit) => new RestoreFailedError(`cannot unpack the base backup into ${connection.display} (${describeExit(exit)}), nothing was changed`, exit.stderrTail));
  const stream = firstBlockChecked(unpack, (head) => refuseNonBase(head, connection));
  const user = serverUser();
  return {
    stream,
    replaces: held.length > 0 ? [target] : [],
    notes: [`${connection.display} holds a physical base without WAL: restore it with --at (which replays the archived WAL), or give the server a restore_command before starting it`],
    async commit() {
      const exit = await tool.exited;
      if (exit.code !== 0) throw new RestoreFailedError(`cannot unpack the base backup into ${connection.display} (${describeExit(exit)})`, exit.stderrTail);
      for (const needed of ['PG_VERSION', 'backup_label', 'global']) {
        if (!(await stat(join(staging, needed)).catch(() => undefined))) throw new RestoreFailedError(`the backup holds no ${needed}: it is not a pg_basebackup tar of a data directory`, '');
      }
      await mkdir(join(staging, 'pg_wal', 'archive_status'), { recursive: true, mode: 0o700 });
      await chmod(staging, 0o700);
      if (user) await chownTree(staging, user);
      if (!existing) return rename(staging, target);
      if (held.length === 0) {
        await rmdir(target);
        return rename(staging, target);
      }
      const old = join(dirname(target), `.${basename(target)}.vaultra-old-${randomBytes(4).toString('hex')}`);
      await rename(target, old);
      await rename(staging, target);
      await rm(old, { recursive: true, force: true });
    },
    async abort() {
      stream.destroy();
      tool.kill();
      await tool.exited;
      await rm(staging, { recursive: true, force: true });
    },
  };
}

function refuseNonBase(head: Buffer, connection: PostgresConnection): Error | undefined {
  if (looksLikeTar(head)) return undefined;
  if (looksLikePgDump(head)) return new ConfigError(`this backup is a logical dump (pg_dump): restore it into a server (postgres://…/<db>), not into ${connection.display}`);
  return new ConfigError(`this backup is not a physical PostgreSQL backup (pg_basebackup tar): it cannot be restored into ${connection.display}`);
}

/** A restore into a server refuses a physical base: only a data directory takes one. */
export function refusePhysicalBase(head: Buffer, display: string): Error | undefined {
  if (!looksLikeTar(head)) return undefined;
  return new ConfigError(`this backup is a physical base (pg_basebackup): restore it into a data directory (--target pgdata:/path), not into ${display}`);
}

/**
 * Passes bytes on to `inner` once `check` accepted their first 512 (a tar header's size): a
 * backup of the wrong kind is refused before a byte reaches the restoring tool.
 */
export function firstBlockChecked(inner: Writable, check: (head: Buffer) => Error | undefined): Writable {
  let head: Buffer | undefined = Buffer.alloc(0);
  const forward = (chunk: Buffer, callback: (error?: Error | null) => void) => {
    if (inner.write(chunk)) callback();
    else inner.once('drain', () => callback());
  };
  const outer = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      if (!head) return forward(chunk, callback);
      head = Buffer.concat([head, chunk]);
      if (head.length < 512) return callback();
      const refused = check(head);
      if (refused) return callback(refused);
      const all = head;
      head = undefined;
      forward(all, callback);
    },
    final(callback) {
      if (head) {
        const refused = check(head);
        if (refused) return callback(refused);
        inner.write(head);
      }
      inner.end((error?: Error | null) => callback(error));
    },
    destroy(error, callback) {
      if (error || !this.writableFinished) inner.destroy(error ?? undefined);
      callback(error);
    },
  });
  // The unpacking tool failing mid-way fails the restore at once, not at the next write.
  inner.on('error', (error) => outer.destroy(error));
  return outer;
}
