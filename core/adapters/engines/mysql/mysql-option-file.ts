import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientOptionGroup, type MysqlConnection } from './mysql-connection.js';

/** A private option file holding a connection's credentials; pass `args` first, before the tool's own. */
export interface OptionFile {
  /**
   * `--defaults-file=…` (or `--defaults-extra-file=…`, then where and as whom to connect) to put
   * first on the command line: the MySQL tools accept the option file only as their first argument.
   */
  readonly args: readonly string[];
  /** Removes the file and its folder. Idempotent; never rejects. */
  remove(): Promise<void>;
}

/** Folders still on disk, removed synchronously if the process exits before their owners did. */
const live = new Set<string>();
let exitHookInstalled = false;

/**
 * Writes the connection into a 0600 option file inside a fresh 0700 temp folder: the way the
 * password reaches `mariadb-dump`/`mysqldump`/`mariadb` without appearing in argv (readable by
 * every user through /proc) or in the environment (`MYSQL_PWD`, readable through
 * /proc/<pid>/environ by the same user, and deprecated by MySQL).
 *
 * With a password in the URL the file is the tool's only option file (`--defaults-file`):
 * the URL says exactly how to connect, and a `[client]` password in the user's `~/.my.cnf`
 * (read after `--defaults-extra-file`, so it would win) cannot override it. Without one,
 * it is read in addition to the usual files (`--defaults-extra-file`), so `~/.my.cnf` or
 * `MYSQL_PWD` can supply the password as they do for the tools themselves; then the URL's
 * user, host and port (no secret among them) also go on the command line, which wins over
 * every option file, so that `~/.my.cnf` cannot send the backup somewhere else.
 */
export async function writeOptionFile(connection: MysqlConnection): Promise<OptionFile> {
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-mysql-'));
  live.add(dir);
  installExitHook();
  const path = join(dir, 'client.cnf');
  const remove = async () => {
    if (!live.delete(dir)) return;
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await writeFile(path, clientOptionGroup(connection), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    await remove();
    throw error;
  }
  if (connection.password) return { args: [`--defaults-file=${path}`], remove };
  return { args: [`--defaults-extra-file=${path}`, ...connectionArgs(connection)], remove };
}

/** Where and as whom to connect, as command-line options (never the password). */
function connectionArgs(connection: MysqlConnection): string[] {
  const args: string[] = [];
  if (connection.user) args.push(`--user=${connection.user}`);
  if (connection.socket) args.push(`--socket=${connection.socket}`);
  else {
    if (connection.host) args.push(`--host=${connection.host}`);
    if (connection.port) args.push(`--port=${connection.port}`);
  }
  return args;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const dir of live) rmSync(dir, { recursive: true, force: true });
  });
}
