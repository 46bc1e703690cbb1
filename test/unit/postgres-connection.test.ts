import { describe, expect, it } from 'vitest';
import { parsePostgresUrl } from '../../core/adapters/engines/postgres/postgres-connection.js';
import { ConfigError } from '../../core/errors.js';
import { defaultJobName, engineIdForUrl } from '../../core/adapters/engines/engines.js';

describe('PostgreSQL URLs', () => {
  it('become libpq environment variables, never arguments', () => {
    const connection = parsePostgresUrl('postgresql://app%40corp:p%40ss%3Aword@db.internal:6543/shop?sslmode=require&application_name=vaultra');
    expect(connection.env).toMatchObject({
      PGHOST: 'db.internal',
      PGPORT: '6543',
      PGUSER: 'app@corp',
      PGPASSWORD: 'p@ss:word',
      PGDATABASE: 'shop',
      PGSSLMODE: 'require',
      PGAPPNAME: 'vaultra',
      PGCONNECT_TIMEOUT: '10',
    });
    expect(connection.display).toBe('db.internal:6543/shop');
  });

  it('accepts IPv6 hosts and socket directories', () => {
    expect(parsePostgresUrl('postgres://u@[::1]:5432/db').env.PGHOST).toBe('::1');
    expect(parsePostgresUrl('postgres:///db?host=/var/run/postgresql').env.PGHOST).toBe('/var/run/postgresql');
  });

  it.each([
    ['postgres://u:secret-canary@host:notaport/db', 'malformed PostgreSQL URL'],
    ['postgres://u:secret-canary@host/db?sslmod=require', 'unsupported PostgreSQL URL parameter "sslmod"'],
    ['postgres://u:secret-canary@host/db/extra', 'one database name'],
  ])('refuses %s with a message that names the problem, not the password', (url, message) => {
    let error: unknown;
    try {
      parsePostgresUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('secret-canary');
  });
});

describe('source URLs', () => {
  it('pick the engine by scheme', () => {
    expect(engineIdForUrl('postgres://h/db')).toBe('postgres');
    expect(engineIdForUrl('postgresql://h/db')).toBe('postgres');
    expect(engineIdForUrl('sqlite:./app.db')).toBe('sqlite');
    expect(() => engineIdForUrl('mysqlx://h/db')).toThrow(/unsupported database URL scheme "mysqlx:"/);
    expect(() => engineIdForUrl('just-a-name')).toThrow(ConfigError);
  });

  it('name the default job after the database', () => {
    expect(defaultJobName('postgres://h/Shop_EU')).toBe('shop_eu');
    expect(defaultJobName('sqlite:/var/lib/app/Main Store.sqlite3')).toBe('main-store');
  });
});
