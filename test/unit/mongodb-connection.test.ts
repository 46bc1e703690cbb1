/**
 * MongoDB URLs and restore plans: how a connection string is split and rebuilt for the tools'
 * config file (credentials never elsewhere), and which mongorestore flags an archive's prelude
 * and the restore's options lead to.
 */
import { describe, expect, it } from 'vitest';
import { connectionUri, parseMongoUrl } from '../../core/adapters/engines/mongodb/mongodb-connection.js';
import { escapeNamespace, planRestore } from '../../core/adapters/engines/mongodb/restore-plan.js';
import type { ArchivePrelude } from '../../core/adapters/engines/mongodb/mongo-archive.js';
import { MongodbEngine } from '../../core/adapters/engines/mongodb/mongodb-engine.js';
import { redact } from '../../core/domain/redact.js';
import { ConfigError, RestoreFailedError } from '../../core/errors.js';

describe('parseMongoUrl', () => {
  it('splits user, password, hosts, database and options, and registers the password for redaction', () => {
    const c = parseMongoUrl('mongodb://app:s3cr%40t-pass@db1:27017,db2:27018/shop?replicaSet=rs0&authSource=admin');
    expect(c).toEqual({
      scheme: 'mongodb',
      username: 'app',
      password: 's3cr@t-pass',
      hosts: 'db1:27017,db2:27018',
      database: 'shop',
      options: [
        ['replicaSet', 'rs0'],
        ['authSource', 'admin'],
      ],
      display: 'db1:27017,db2:27018/shop',
    });
    expect(redact('error: s3cr@t-pass rejected')).toBe('error: *** rejected');
  });

  it('accepts a URL without database, credentials or options, and mongodb+srv', () => {
    expect(parseMongoUrl('mongodb://localhost')).toMatchObject({ hosts: 'localhost', display: 'localhost/', options: [] });
    expect(parseMongoUrl('mongodb://localhost/')).not.toHaveProperty('database');
    expect(parseMongoUrl('mongodb+srv://u:p@cluster0.example.net/events')).toMatchObject({ scheme: 'mongodb+srv', hosts: 'cluster0.example.net', database: 'events' });
  });

  it.each([
    ['postgres://x/y', /malformed MongoDB URL/],
    ['mongodb://', /no host/],
    ['mongodb://h/a.b', /not a valid database name/],
    ['mongodb://h/db?flag', /has no value/],
    ['mongodb+srv://h1,h2/db', /one host name without a port/],
    ['mongodb://u:%zz@h/db', /password is not valid percent-encoding/],
  ])('rejects %s with a ConfigError that does not repeat the URL', (url, message) => {
    expect(() => parseMongoUrl(url)).toThrow(ConfigError);
    expect(() => parseMongoUrl(url)).toThrow(message);
    try {
      parseMongoUrl(url);
    } catch (error) {
      expect((error as Error).message).not.toContain('%zz');
    }
  });
});

describe('connectionUri (what the tools and the driver get)', () => {
  it('drops the database path and keeps authenticating against it with an explicit authSource', () => {
    expect(connectionUri(parseMongoUrl('mongodb://app:p%2Fw@h:1/shop?tls=true'))).toBe('mongodb://app:p%2Fw@h:1/?tls=true&authSource=shop');
  });

  it('keeps an explicit authSource, and adds none without credentials', () => {
    expect(connectionUri(parseMongoUrl('mongodb://app:pw@h/shop?authSource=admin'))).toBe('mongodb://app:pw@h/?authSource=admin');
    expect(connectionUri(parseMongoUrl('mongodb://h/shop'))).toBe('mongodb://h/');
  });
});

describe('MongodbEngine.nameOf', () => {
  it('is the database, or the first host for a whole-instance URL', () => {
    const engine = new MongodbEngine();
    expect(engine.nameOf(engine.parse('mongodb://u:p@h:27017/events'))).toBe('events');
    expect(engine.nameOf(engine.parse('mongodb://db1.internal:27017,db2/'))).toBe('db1.internal');
  });
});

const prelude = (namespaces: [string, string, string?][]): ArchivePrelude => ({
  formatVersion: '0.1',
  serverVersion: '7.0.14',
  toolVersion: '100.12.2',
  namespaces: namespaces.map(([db, collection, type]) => ({ db, collection, type: type ?? 'collection' })),
});

describe('planRestore', () => {
  const shop = prelude([
    ['shop', 'orders'],
    ['shop', 'order_lines'],
    ['shop', 'users'],
  ]);

  it('renames the source database into the target one with --nsFrom/--nsTo', () => {
    const plan = planRestore(shop, { targetDatabase: 'shop_copy' });
    expect(plan.args).toEqual(['--nsInclude', 'shop.*', '--nsFrom', 'shop.*', '--nsTo', 'shop_copy.*', '--stopOnError']);
    expect([...plan.namespaces]).toEqual([
      ['shop.orders', 'shop_copy.orders'],
      ['shop.order_lines', 'shop_copy.order_lines'],
      ['shop.users', 'shop_copy.users'],
    ]);
    expect(plan.databases).toEqual(['shop_copy']);
  });

  it('into a database of the same name: no rename; --force adds --drop', () => {
    expect(planRestore(shop, { targetDatabase: 'shop', force: true }).args).toEqual(['--nsInclude', 'shop.*', '--stopOnError', '--drop']);
  });

  it('a selection becomes the exact namespaces it matches, by collection or by db.collection, with wildcards', () => {
    expect(planRestore(shop, { targetDatabase: 'x', tables: ['order*'] }).args).toEqual(['--nsInclude', 'shop.orders', '--nsInclude', 'shop.order_lines', '--nsFrom', 'shop.*', '--nsTo', 'x.*', '--stopOnError']);
    expect([...planRestore(shop, { targetDatabase: 'x', tables: ['shop.users'] }).namespaces.keys()]).toEqual(['shop.users']);
  });

  it('escapes mongorestore wildcards in names', () => {
    expect(escapeNamespace('a*b\\c')).toBe('a\\*b\\\\c');
  });

  it('a whole-instance archive: one database restores into a named target; several need a choice', () => {
    const instance = prelude([
      ['admin', 'system.users'],
      ['shop', 'orders'],
      ['crm', 'leads'],
      ['', 'oplog'],
    ]);
    expect(() => planRestore(instance, { targetDatabase: 'x' })).toThrow(RestoreFailedError);
    expect(() => planRestore(instance, { targetDatabase: 'x' })).toThrow(/several databases \(shop, crm\).*--tables <database>\.\*/);
    const one = planRestore(instance, { targetDatabase: 'x', tables: ['crm.*'] });
    expect([...one.namespaces]).toEqual([['crm.leads', 'x.leads']]);
    expect(one.oplogReplay).toBe(false);
  });

  it('into a whole instance: every namespace under its own name, the oplog replayed unless something was selected', () => {
    const instance = prelude([
      ['shop', 'orders'],
      ['crm', 'leads'],
      ['', 'oplog'],
    ]);
    const all = planRestore(instance, {});
    expect(all.args).toEqual(['--oplogReplay', '--stopOnError']);
    expect(all.databases).toEqual(['crm', 'shop']);
    expect(all.oplogReplay).toBe(true);
    const some = planRestore(instance, { tables: ['crm.*'] });
    expect(some.args).toEqual(['--nsInclude', 'crm.leads', '--stopOnError']);
    expect(some.oplogReplay).toBe(false);
  });
});

describe('parseMongoUrl: a Unix socket host', () => {
  it('shows the socket as its path, and gives the tools the encoded host back', () => {
    const connection = parseMongoUrl('mongodb://%2Ftmp%2Fvaultra-drill-mongo-0a1b%2Fferretdb.sock/shop');
    expect(connection.display).toBe('/tmp/vaultra-drill-mongo-0a1b/ferretdb.sock/shop');
    expect(connectionUri(connection)).toBe('mongodb://%2Ftmp%2Fvaultra-drill-mongo-0a1b%2Fferretdb.sock/');
  });
});
