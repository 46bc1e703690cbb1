/**
 * Describing the source while the dump runs (issue 13: describing first cost ~0.3 s per
 * PostgreSQL run): a describe that fails fails the run with its own error, kills the dump
 * already running, and leaves nothing in storage, as when describing came first. Real
 * PostgreSQL, pg_dump and zstd; the engine's describe is wrapped to fail on cue (a stub
 * around the real engine, named so below), since a real describe cannot be made to fail while
 * the same server still serves pg_dump.
 */
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../core/usecases/backup.js';
import { PostgresEngine } from '../../core/adapters/engines/postgres/postgres-engine.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { DumpFailedError } from '../../core/errors.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';
import { createDatabase, dropDatabase, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { databaseUrl, pgEnv, psqlQuery } from '../support/psql.js';
import { processTable } from '../support/processes.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { testSigning } from '../support/signing.js';

describe('describe runs with the dump', () => {
  const server = requirePostgres();
  const tools = requireTools('pg_dump', 'zstd');
  if (!server || !tools) return;
  const pg = server;
  const database = uniqueDatabaseName('describe_dump');
  const key = generateX25519Identity();
  const { signer } = testSigning();
  let dir = '';
  const savedEnv = { ...process.env };

  /** pg_dump processes this test process started that are still running. */
  const ourDumps = () => processTable().filter((p) => p.ppid === process.pid && p.comm === 'pg_dump');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-describe-dump-'));
    await createDatabase(pg, database);
    // Big enough that pg_dump is still running when the describe fails.
    await psqlQuery(pg, database, 'CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 400000) g');
    Object.assign(process.env, pgEnv(pg, 'postgres'));
  });
  afterAll(async () => {
    process.env = savedEnv;
    await dropDatabase(pg, database);
    await rm(dir, { recursive: true, force: true });
  });

  /** The real PostgreSQL engine whose describe (stub) fails once `failWhen` resolves. */
  function engineFailingDescribe(failWhen: () => Promise<void>) {
    const real = new PostgresEngine();
    const dumps: number[] = [];
    const engine = Object.assign(Object.create(real) as PostgresEngine, {
      describe: async () => {
        await failWhen();
        throw new DumpFailedError('describe failed on cue', '');
      },
      dump: async (...args: Parameters<PostgresEngine['dump']>) => {
        dumps.push(Date.now());
        return real.dump(...args);
      },
    });
    return { engine, dumps };
  }

  async function backUp(engine: PostgresEngine, job: string) {
    const storage = new MemoryStorageBackend();
    const result = await runBackup(
      { engine, storage, catalog: new LocalCatalog(join(dir, job)), compressor: await createCompressor('zstd'), encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]), signer },
      { source: databaseUrl(pg, database), job },
    );
    const stored: string[] = [];
    for await (const object of storage.list('')) stored.push(object.key);
    return { result, stored };
  }

  it('a describe that fails while pg_dump runs (stub describe): the run fails with it, pg_dump is killed, nothing is stored', async () => {
    const { engine, dumps } = engineFailingDescribe(() => waitFor(() => ourDumps().length > 0, 20_000, 'pg_dump to start'));
    const { result, stored } = await backUp(engine, 'fails-during');
    expect(dumps).toHaveLength(1);
    expect(result.run.status).toBe('failed');
    expect(result.run.error).toEqual({ kind: 'dump', message: 'describe failed on cue' });
    expect(stored).toEqual([]);
    await waitFor(() => ourDumps().length === 0, 10_000, 'pg_dump to be gone');
  });

  it('a describe that fails before the compressor is open (stub describe): the dump never starts', async () => {
    const { engine, dumps } = engineFailingDescribe(async () => undefined);
    const { result, stored } = await backUp(engine, 'fails-first');
    expect(result.run.error).toEqual({ kind: 'dump', message: 'describe failed on cue' });
    expect(dumps).toEqual([]);
    expect(stored).toEqual([]);
  });
});
