/** MySQL/MariaDB URLs, the private option file the credentials travel in, and tool versions. */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientOptionGroup, optionValue, parseMysqlUrl, withDatabase } from '../../core/adapters/engines/mysql/mysql-connection.js';
import { writeOptionFile } from '../../core/adapters/engines/mysql/mysql-option-file.js';
import { chooseTool, parseToolVersion, serverFlavor } from '../../core/adapters/engines/mysql/mysql-tools.js';
import { MysqlEngine } from '../../core/adapters/engines/mysql/mysql-engine.js';
import { redact } from '../../core/domain/redact.js';
import { ConfigError, ToolMissingError } from '../../core/errors.js';

describe('MySQL/MariaDB URLs', () => {
  it('mysql:// and mariadb:// with user, password, host, port and database', () => {
    const connection = parseMysqlUrl('mariadb://backup:s%40cret%23x@db.example:3307/shop');
    expect(connection).toEqual({ scheme: 'mariadb', user: 'backup', password: 's@cret#x', host: 'db.example', port: 3307, database: 'shop', tls: {}, display: 'db.example:3307/shop' });
    expect(parseMysqlUrl('mysql://root@localhost/app')).toMatchObject({ scheme: 'mysql', user: 'root', host: 'localhost', database: 'app', display: 'localhost/app' });
    // The password is registered for redaction as soon as it is parsed.
    expect(redact('Access denied: s@cret#x')).toBe('Access denied: ***');
  });

  it('a socket and TLS files as parameters; anything else is refused by name', () => {
    expect(parseMysqlUrl('mysql://u@localhost/app?socket=/run/mysqld/mysqld.sock&ssl-ca=/etc/ca.pem')).toMatchObject({
      socket: '/run/mysqld/mysqld.sock',
      tls: { 'ssl-ca': '/etc/ca.pem' },
      display: 'socket:/run/mysqld/mysqld.sock/app',
    });
    expect(() => parseMysqlUrl('mysql://u@h/app?password=x')).toThrow(/unsupported MySQL\/MariaDB URL parameter "password" \(supported: socket, ssl-ca, ssl-cert, ssl-key\)/);
    expect(() => parseMysqlUrl('mysql://u@h:notaport/app')).toThrow(ConfigError);
    expect(() => parseMysqlUrl('mysql://u@h/a/b')).toThrow(/one database name/);
  });

  it('a source must name a database; the job name is the database', () => {
    const engine = new MysqlEngine();
    expect(engine.nameOf(engine.parse('mysql://u:p@h:3306/shop'))).toBe('shop');
    expect(() => engine.nameOf(engine.parse('mysql://u:p@h:3306'))).toThrow(/must name a database: mysql:\/\/user@host:port\/<database>/);
  });

  it('another database on the same server, or none', () => {
    const connection = parseMysqlUrl('mysql://u:pw12@h:3306/shop');
    const serverWide = withDatabase(connection, undefined);
    expect(serverWide.database).toBeUndefined();
    expect(serverWide.display).toBe('h:3306/');
    expect(withDatabase(connection, 'other')).toMatchObject({ database: 'other', display: 'h:3306/other', password: 'pw12' });
  });
});

describe('the option file', () => {
  it('quotes values so that #, quotes, backslashes and edge spaces survive the option-file reader', () => {
    expect(optionValue(`p#a"s\\s'w;x y `)).toBe(`"p#a\\"s\\\\s'w;x y "`);
    expect(optionValue('line\nbreak\ttab')).toBe('"line\\nbreak\\ttab"');
    const connection = parseMysqlUrl('mysql://backup:pw%23%20x@10.0.0.5:3307/shop?ssl-ca=/ca.pem');
    expect(clientOptionGroup(connection)).toBe('[client]\nuser="backup"\npassword="pw# x"\nhost="10.0.0.5"\nport=3307\nssl-ca="/ca.pem"\n');
    // A socket replaces host and port.
    expect(clientOptionGroup(parseMysqlUrl('mysql://u@localhost:3306/a?socket=/s.sock'))).toBe('[client]\nuser="u"\nsocket="/s.sock"\n');
  });

  it('is 0600 in a 0700 folder, named by the first argument, and gone after remove()', async () => {
    const withPassword = await writeOptionFile(parseMysqlUrl('mysql://u:secret-pw@h/db'));
    expect(withPassword.args).toEqual([expect.stringMatching(/^--defaults-file=\//)]);
    const path = withPassword.args[0]!.replace(/^--defaults-file=/, '');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(path))).mode & 0o777).toBe(0o700);
    expect(await readFile(path, 'utf8')).toContain('password="secret-pw"');
    await withPassword.remove();
    await withPassword.remove();
    await expect(stat(dirname(path))).rejects.toThrow(/ENOENT/);

    // Without a password in the URL, the user's own option files and MYSQL_PWD still apply (for
    // the password only: where and as whom to connect go on the command line, which wins).
    const without = await writeOptionFile(parseMysqlUrl('mysql://u@h:3307/db'));
    expect(without.args).toEqual([expect.stringMatching(/^--defaults-extra-file=\//), '--user=u', '--host=h', '--port=3307']);
    expect(await readFile(without.args[0]!.replace(/^--defaults-extra-file=/, ''), 'utf8')).not.toContain('password');
    await without.remove();
  });
});

describe('tool and server families', () => {
  it('reads family and version from --version lines of both families', () => {
    expect(parseToolVersion('mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)')).toEqual({ flavor: 'mariadb', version: '10.11.19-MariaDB' });
    expect(parseToolVersion('mariadb-dump from 11.4.2-MariaDB, client 10.19 for Linux (x86_64)')).toEqual({ flavor: 'mariadb', version: '11.4.2-MariaDB' });
    expect(parseToolVersion('mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)')).toEqual({ flavor: 'mysql', version: '8.0.36' });
    expect(parseToolVersion('mysql  Ver 8.4.0 for Linux on x86_64 (MySQL Community Server - GPL)')).toEqual({ flavor: 'mysql', version: '8.4.0' });
  });

  it('tells MariaDB from MySQL by VERSION()', () => {
    expect(serverFlavor('10.11.19-MariaDB-0+deb12u1-log')).toBe('mariadb');
    expect(serverFlavor('11.4.2-MariaDB')).toBe('mariadb');
    expect(serverFlavor('8.0.36')).toBe('mysql');
    expect(serverFlavor('8.4.0-commercial')).toBe('mysql');
  });
});

describe('choosing the tool for a server', () => {
  /** A PATH holding fake tools that only answer --version with the given line. */
  async function fakePath(tools: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-fake-tools-'));
    for (const [name, version] of Object.entries(tools)) {
      await writeFile(join(dir, name), `#!/bin/sh\necho '${version}'\n`, { mode: 0o755 });
    }
    return dir;
  }

  async function withPath<T>(path: string, act: () => Promise<T>): Promise<T> {
    const saved = process.env.PATH;
    process.env.PATH = path;
    try {
      return await act();
    } finally {
      process.env.PATH = saved;
      await rm(path, { recursive: true, force: true });
    }
  }

  it("picks the server's own family's tool, even when Debian's mysqldump is MariaDB's under another name", async () => {
    const dir = await fakePath({ 'mariadb-dump': MARIADB_DUMP, mysqldump: MYSQL_DUMP });
    await withPath(dir, async () => {
      expect(await chooseTool('dump', 'mariadb')).toEqual({ tool: { command: 'mariadb-dump', flavor: 'mariadb', version: '10.11.19-MariaDB' } });
      expect(await chooseTool('dump', 'mysql')).toEqual({ tool: { command: 'mysqldump', flavor: 'mysql', version: '8.0.36' } });
    });
    const debian = await fakePath({ 'mariadb-dump': MARIADB_DUMP, mysqldump: MARIADB_DUMP.replace('mariadb-dump', 'mysqldump') });
    await withPath(debian, async () => {
      // A MySQL server, and only MariaDB's tool (under both names): a fallback, said so.
      expect(await chooseTool('dump', 'mysql')).toEqual({
        tool: { command: 'mysqldump', flavor: 'mariadb', version: '10.11.19-MariaDB' },
        fallback: "MySQL's mysqldump is not installed; mysqldump 10.11.19-MariaDB (MariaDB) used instead",
      });
    });
  });

  it('falls back to the other family, and says which tools are missing when there is none', async () => {
    const onlyMysql = await fakePath({ mysqldump: MYSQL_DUMP });
    await withPath(onlyMysql, async () => {
      expect(await chooseTool('dump', 'mariadb')).toEqual({
        tool: { command: 'mysqldump', flavor: 'mysql', version: '8.0.36' },
        fallback: "MariaDB's mariadb-dump is not installed; mysqldump 8.0.36 (MySQL) used instead",
      });
    });
    const empty = await fakePath({});
    await withPath(empty, async () => {
      const error = await chooseTool('client', 'mariadb').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ToolMissingError);
      expect((error as Error).message).toMatch(/^mariadb not found on PATH: install the MariaDB or MySQL client tools .*\(mariadb or mysql\)$/);
    });
  });
});

const MARIADB_DUMP = 'mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)';
const MYSQL_DUMP = 'mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)';
