import { ToolMissingError } from '../../../errors.js';
import { toolVersion } from '../../process/child-process.js';

/** Which server (or which tool) family: the two have diverged in dump options, GTIDs and SQL. */
export type Flavor = 'mariadb' | 'mysql';

/** A MySQL/MariaDB client program found on PATH. */
export interface MysqlTool {
  /** The command run, as found on PATH (`mariadb-dump`, `mysqldump`, `mariadb`, `mysql`). */
  readonly command: string;
  /** Whose tool it is, from its `--version` (Debian's `mysqldump` is a symlink to `mariadb-dump`). */
  readonly flavor: Flavor;
  /** e.g. `10.11.19-MariaDB` or `8.0.36`. */
  readonly version: string;
}

export interface ChosenTool {
  readonly tool: MysqlTool;
  /** Set when the tool is not the server's own family's: what was wanted and what is used instead. */
  readonly fallback?: string;
}

export const MYSQL_INSTALL_HINT = 'install the MariaDB or MySQL client tools (Debian/Ubuntu: apt-get install mariadb-client; macOS: brew install mariadb-connector-c mysql-client)';

const CANDIDATES: Record<'dump' | 'client' | 'binlog', Record<Flavor, readonly string[]>> = {
  dump: { mariadb: ['mariadb-dump', 'mysqldump'], mysql: ['mysqldump', 'mariadb-dump'] },
  client: { mariadb: ['mariadb', 'mysql'], mysql: ['mysql', 'mariadb'] },
  // Debian's mysqlbinlog is MariaDB's: the family comes from --version, not the name.
  binlog: { mariadb: ['mariadb-binlog', 'mysqlbinlog'], mysql: ['mysqlbinlog', 'mariadb-binlog'] },
};

const probed = new Map<string, Promise<MysqlTool | undefined>>();

/**
 * The dump tool (`role: 'dump'`), SQL client (`role: 'client'`) or binlog reader (`role: 'binlog'`) to use against a server of
 * `flavor`: the server's own family's tool when one is installed (MariaDB → `mariadb-dump`,
 * MySQL → `mysqldump`), else the other family's (they still speak the same protocol and SQL
 * dump format), said so in `fallback`. Rejects with ToolMissingError when neither is installed.
 */
export async function chooseTool(role: 'dump' | 'client' | 'binlog', flavor: Flavor): Promise<ChosenTool> {
  const names = CANDIDATES[role][flavor];
  const found = (await Promise.all(names.map(probe))).filter((tool): tool is MysqlTool => tool !== undefined);
  const own = found.find((tool) => tool.flavor === flavor);
  if (own) return { tool: own };
  const other = found[0];
  if (!other) throw new ToolMissingError(names[0]!, `${MYSQL_INSTALL_HINT} (${names.join(' or ')})`);
  const wanted = flavor === 'mariadb' ? `MariaDB's ${names[0]}` : `MySQL's ${names[0]}`;
  return { tool: other, fallback: `${wanted} is not installed; ${other.command} ${other.version} (${other.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'}) used instead` };
}

/** `--version` of a command on PATH, parsed; cached per command and PATH. */
function probe(command: string): Promise<MysqlTool | undefined> {
  const key = `${process.env.PATH ?? ''}\0${command}`;
  let found = probed.get(key);
  if (!found) {
    found = toolVersion(command).then((line) => (line ? { command, ...parseToolVersion(line) } : undefined));
    probed.set(key, found);
  }
  return found;
}

/**
 * Family and version from a `--version` line:
 * `mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)`,
 * `mariadb-dump from 11.4.2-MariaDB, client 10.19 for Linux (x86_64)`,
 * `mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)`.
 */
export function parseToolVersion(line: string): { flavor: Flavor; version: string } {
  if (/mariadb/i.test(line)) {
    // mariadb-binlog names only its own version (`Ver 3.5 for debian-linux-gnu`).
    const version = /Distrib (\S+?),?\s/.exec(line)?.[1] ?? /from (\S+?),?\s/.exec(line)?.[1] ?? /Ver (\S+)/.exec(line)?.[1] ?? line;
    return { flavor: 'mariadb', version };
  }
  return { flavor: 'mysql', version: /Ver (\S+)/.exec(line)?.[1] ?? line };
}

/** A server's family from `VERSION()` (MariaDB always says so there; `@@version_comment` is often the distribution's). */
export function serverFlavor(version: string): Flavor {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}

/** The major version of a MySQL tool (`8.0.36` → 8), for options that only newer releases know. */
export function majorVersion(version: string): number {
  return Number(/^(\d+)/.exec(version)?.[1] ?? 0);
}
