import { describe, expect, it } from 'vitest';
import { secretScheme } from '../../core/domain/connection-secret.js';
import { connectionUrlFromSecret } from '../../core/adapters/engines/secret-connection-url.js';
import { ConfigError } from '../../core/errors.js';

describe('connection secrets', () => {
  it('recognises secret references and leaves plain URLs alone', () => {
    expect(secretScheme('env://DB_URL')).toBe('env');
    expect(secretScheme('secret+aws://prod/shop-db')).toBe('secret+aws');
    expect(secretScheme('secret+gcp://projects/p/secrets/db')).toBe('secret+gcp');
    expect(secretScheme('secret+azure://vault/db')).toBe('secret+azure');
    expect(secretScheme('postgres://h/db')).toBeUndefined();
  });

  it('turns the RDS rotation JSON shape into a URL, escaping what needs it', () => {
    const rds = { engine: 'postgres', host: 'shop.abc.eu-west-1.rds.amazonaws.com', port: 5432, username: 'app', password: 'p@ss:w/rd', dbname: 'shop' };
    expect(connectionUrlFromSecret(JSON.stringify(rds))).toBe('postgres://app:p%40ss%3Aw%2Frd@shop.abc.eu-west-1.rds.amazonaws.com:5432/shop');
    expect(connectionUrlFromSecret(JSON.stringify({ ...rds, engine: 'aurora-mysql', port: 3306 }))).toMatch(/^mysql:\/\/app:.*:3306\/shop$/);
    expect(connectionUrlFromSecret(JSON.stringify({ ...rds, engine: 'mariadb' }))).toMatch(/^mariadb:\/\//);
    expect(connectionUrlFromSecret('  mysql://u:p@h/db ')).toBe('mysql://u:p@h/db');
  });

  it('refuses what it cannot use, without quoting the secret', () => {
    const secret = JSON.stringify({ engine: 'oracle', host: 'h', username: 'u', password: 'canary-zzz' });
    expect(() => connectionUrlFromSecret(secret)).toThrow(ConfigError);
    expect(() => connectionUrlFromSecret(secret)).not.toThrow(/canary-zzz/);
    expect(() => connectionUrlFromSecret(JSON.stringify({ engine: 'postgres', host: 'h' }))).toThrow(/lacks username, password/);
    expect(() => connectionUrlFromSecret('{not json canary-zzz')).toThrow(/does not parse$/);
    expect(() => connectionUrlFromSecret('canary-zzz')).not.toThrow(/canary-zzz/);
  });
});
