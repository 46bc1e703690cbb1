/**
 * The MongoDB engine through the use cases (runBackup / runVerify / runRestore with the real
 * compressors, age and file storage) and on its own: credentials only in a 0600 file, the
 * archive checked without a server (complete, truncated, not what the manifest lists),
 * `mongorestore --dryRun` against a target, a replica set (details, `--oplog` for a whole
 * instance) and whole-instance backups restored into another server.
 */
import { statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongodbEngine } from '../../core/adapters/engines/mongodb/mongodb-engine.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { runBackup } from '../../core/usecases/backup.js';
import { runRestore } from '../../core/usecases/restore.js';
import { runVerify } from '../../core/usecases/verify.js';
import { DumpFailedError, IntegrityError, RestoreFailedError } from '../../core/errors.js';
import { which } from '../support/exec.js';
import { dropMongoDatabase, loadVariedFixture, mongoCollections, mongoFingerprints, mongoUrl, uniqueMongoDatabase, VARIED_COUNTS } from '../support/mongo-fixtures.js';
import { startFerret, withTestClient, type MongoServer } from '../support/mongo-server.js';
import { readProcess } from '../support/processes.js';
import { requireMongo, requireTools } from '../support/requirements.js';
import { testSigning } from '../support/signing.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';

/** Signs this file's backups; restores and verifies trust it. */
const signing = testSigning();

/** All of a Readable, as one Buffer. */
async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('mongodb engine and use cases', () => {
  const mongo = requireMongo();
  const tools = requireTools('mongodump', 'mongorestore', 'zstd');
  if (!mongo || !tools) return;

  const source = uniqueMongoDatabase('eng');
  const databases = new Set([source]);
  const key = generateX25519Identity();
  const engine = new MongodbEngine();
  let root = '';
  let archive: Buffer = Buffer.alloc(0);
  const password = decodeURIComponent(/\/\/[^:/]*:([^@]*)@/.exec(mongo.url)?.[1] ?? '');

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-mongo-eng-'));
    await loadVariedFixture(mongo, source);
  });

  afterAll(async () => {
    for (const db of databases) await dropMongoDatabase(mongo, db).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('backs up (gzip, through Node), verifies and restores through the use cases', async () => {
    const storage = new FileStorageBackend(join(root, 'store'));
    const catalog = new LocalCatalog(join(root, 'catalog'));
    const made = await runBackup(
      { engine, storage, catalog, compressor: await createCompressor('gzip'), encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]), signer: signing.signer },
      { source: mongoUrl(mongo, source), job: 'usecase' },
    );
    expect(made.run.status, String(made.error)).toBe('succeeded');
    expect(made.manifest?.dump.details).toMatchObject({ oplog: 'false', scope: 'database' });
    const decryptor = new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]);
    const verified = await runVerify({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: made.run.runId });
    expect(verified.structure).toMatch(/^archive complete: \d+ collection\(s\)/);

    const target = uniqueMongoDatabase('eng_copy');
    databases.add(target);
    const restored = await runRestore({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: made.run.runId, target: mongoUrl(mongo, target) });
    expect(restored.replaced).toEqual([]);
    expect(await mongoFingerprints(mongo, target)).toEqual(await mongoFingerprints(mongo, source));
  });

  it('dump: credentials only in a 0600 file in a private folder, removed when mongodump exits', async () => {
    const dumped = await engine.dump(engine.parse(mongoUrl(mongo, source)));
    const argv = readProcess(dumped.pid!)?.argv ?? [];
    const bytes = collect(dumped.stream);
    if (argv.length > 0) {
      // Caught while it ran: the connection is a --config file, never --uri or --password.
      expect(argv).toContain('--config');
      expect(argv.join(' ')).not.toMatch(/--uri|--password/);
      if (password) expect(argv.join(' ')).not.toContain(password);
      const config = argv[argv.indexOf('--config') + 1]!;
      try {
        expect(statSync(config).mode & 0o777).toBe(0o600);
        expect(statSync(join(config, '..')).mode & 0o777).toBe(0o700);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // already done and removed
      }
    }
    archive = await bytes;
    expect(dumped).toMatchObject({ direct: false, format: 'mongodump-archive', tool: { name: 'mongodump' } });
    const leftovers = (await readdir(tmpdir())).filter((name) => name.startsWith('vaultra-mongo-') && argv.some((a) => a.includes(name)));
    expect(leftovers).toEqual([]);
    expect(archive.readUInt32LE(0)).toBe(0x8199e26d);
  });

  it('validation: a complete archive passes; a truncated one, or one without a collection the manifest lists, fails as damaged', async () => {
    expect(archive.length).toBeGreaterThan(0);
    const described = await engine.describe(engine.parse(mongoUrl(mongo, source)));
    const check = async (bytes: Buffer, contents = described.contents) => {
      const sink = await engine.openValidation({ contents, sourceDatabase: source });
      await pipeline(Readable.from([bytes]), sink.stream);
      return sink.result();
    };
    const documents = Object.values(VARIED_COUNTS).reduce((a, b) => a + b, 0);
    await expect(check(archive)).resolves.toMatch(new RegExp(`^archive complete: ${described.contents.filter((c) => c.kind === 'collection').length} collection\\(s\\).*, ${documents}`));
    await expect(check(archive.subarray(0, archive.length - 100))).rejects.toThrow(IntegrityError);
    await expect(check(archive.subarray(0, archive.length - 100))).rejects.toThrow(/the MongoDB archive is damaged: the archive is (truncated|incomplete)/);
    await expect(check(archive, [...described.contents, { kind: 'collection', schema: source, name: 'vanished', rows: 1, rowsExact: false }])).rejects.toThrow(
      `the MongoDB archive lacks 1 collection(s) its manifest lists (${source}.vanished)`,
    );
  });

  it('a dry run against a target also runs mongorestore --dryRun there, which writes nothing', async () => {
    const target = uniqueMongoDatabase('eng_dry');
    databases.add(target);
    const sink = await engine.openValidation({ target: engine.parse(mongoUrl(mongo, target)), sourceDatabase: source });
    await pipeline(Readable.from([archive.subarray(0, 1000), archive.subarray(1000)]), sink.stream);
    expect(await sink.result()).toMatch(/; mongorestore --dryRun accepted it for .*\/vaultra_eng_dry_/);
    expect(await mongoCollections(mongo, target)).toEqual([]);
  });

  it('openRestore takes the source database from the archive itself when the caller does not name it', async () => {
    const target = uniqueMongoDatabase('eng_plain');
    databases.add(target);
    const sink = await engine.openRestore(engine.parse(mongoUrl(mongo, target)), {});
    await pipeline(Readable.from([archive]), sink.stream);
    await sink.commit();
    expect(sink.replaces).toEqual([]);
    expect(await mongoFingerprints(mongo, target)).toEqual(await mongoFingerprints(mongo, source));
  });

  describe('on servers of their own (FerretDB)', () => {
    const servers: MongoServer[] = [];
    const ferret = which('ferretdb');

    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()));
    });

    it.skipIf(!ferret)('a replica set: dump of a database records the set and no oplog; a whole-instance dump asks for --oplog', async () => {
      const rs = await startFerret({ replicaSet: 'rs0', auth: false });
      servers.push(rs);
      await withTestClient(rs.url, (client) => client.db('app').collection('things').insertMany([{ a: 1 }, { a: 2 }]));
      const url = new MongodbEngine().parse(mongoUrl(rs, 'app'));
      const own = new MongodbEngine();
      await own.describe(url);
      const dumped = await own.dump(url);
      await collect(dumped.stream);
      expect(dumped.details).toEqual({ oplog: 'false', scope: 'database', replicaSet: 'rs0' });
      expect(dumped.consistency).toMatch(/mongodump takes --oplog only for whole-instance dumps/);

      // FerretDB reports a replica set but keeps no oplog: mongodump --oplog fails, cleanly.
      const whole = new MongodbEngine().parse(mongoUrl(rs, ''));
      await own.describe(whole);
      const instance = await own.dump(whole);
      expect(instance.details).toMatchObject({ oplog: 'true', scope: 'instance', replicaSet: 'rs0' });
      await expect(collect(instance.stream)).rejects.toThrow(DumpFailedError);
    });

    it.skipIf(!ferret)('a whole-instance backup restores into another server, every database under its own name, or one database into a named one', async () => {
      const [from, to] = await Promise.all([startFerret({ auth: false }), startFerret({ auth: false })]);
      servers.push(from, to);
      await withTestClient(from.url, async (client) => {
        await client.db('shop').collection<{ _id: number; total: number }>('orders').insertMany([{ _id: 1, total: 5 }, { _id: 2, total: 7 }]);
        await client.db('shop').collection('orders').createIndex({ total: -1 });
        await client.db('crm').collection('leads').insertMany([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      });
      const storage = new FileStorageBackend(join(root, 'store-instance'));
      const catalog = new LocalCatalog(join(root, 'catalog-instance'));
      const decryptor = new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]);
      const made = await runBackup(
        { engine: new MongodbEngine(), storage, catalog, compressor: await createCompressor('zstd'), encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]), signer: signing.signer },
        { source: from.url, job: 'instance' },
      );
      expect(made.run.status, String(made.error)).toBe('succeeded');
      expect(made.manifest?.source.database).toBe('');
      expect(made.manifest?.contents.map((c) => `${c.schema}.${c.name}`)).toEqual(['crm.leads', 'shop.orders']);
      expect(made.manifest?.dump.details).toEqual({ oplog: 'false', scope: 'instance' });

      await runRestore({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: made.run.runId, target: to.url });
      for (const db of ['shop', 'crm']) expect(await mongoFingerprints(to, db)).toEqual(await mongoFingerprints(from, db));

      // Into one named database: several databases need a choice; --tables picks one.
      await expect(runRestore({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: made.run.runId, target: mongoUrl(to, 'one') })).rejects.toThrow(RestoreFailedError);
      expect(await mongoCollections(to, 'one')).toEqual([]);
      await runRestore({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: made.run.runId, target: mongoUrl(to, 'one'), tables: ['crm.*'] });
      expect(await mongoFingerprints(to, 'one')).toEqual(await mongoFingerprints(from, 'crm'));
    });
  });
});
