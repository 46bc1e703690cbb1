/**
 * PostgreSQL's streamed dump and restore (pg-streams/v1, chunked snapshots) against the run's
 * real PostgreSQL server, through the engine's API: a schema with the objects a dump must carry
 * (tables with and without primary keys, a composite key, a generated column, a partitioned
 * table, quoted and unicode names, an inheritance child whose column order differs from its
 * parent's, a sequence, a large object, a view, a materialized view, an index, a foreign key, a
 * trigger) dumped with 1 and 3 streams at once, restored with 2 sessions, compared by content;
 * a selective restore; consistency under a writer moving money between two tables; stable bytes
 * across runs; failures; no password on any argv.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEngine } from '../../core/adapters/engines/postgres/postgres-engine.js';
import type { StreamedDump } from '../../core/ports/database-engine.js';
import type { SnapshotStream } from '../../core/domain/snapshot-format.js';
import { DumpFailedError, RunConflictError } from '../../core/errors.js';
import { createDatabase, dropDatabase, schemaObjects, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, pgEnv, pgTool, psqlQuery, psqlRows, quoteLiteral } from '../support/psql.js';
import { requirePostgres } from '../support/requirements.js';
import { killTree, spawnTracked, waitForExit } from '../support/exec.js';
import { descendantsOf, sleep } from '../support/processes.js';

const FIXTURE_SQL = `
SET client_min_messages = warning;
CREATE SCHEMA "Odd Schema";
CREATE TABLE public.plain_pk (id int PRIMARY KEY, gone int, label text, price numeric(10,2));
ALTER TABLE public.plain_pk DROP COLUMN gone;
INSERT INTO public.plain_pk SELECT g, 'label ' || g || E'\\ttab\\nnewline \\\\ back', g / 7.0 FROM generate_series(1, 3000) g;
CREATE INDEX plain_pk_label ON public.plain_pk (label);
CREATE UNLOGGED TABLE public.no_pk (v text, n int);
INSERT INTO public.no_pk SELECT md5(g::text), g FROM generate_series(1, 500) g;
CREATE TABLE public.composite (a int, b text, payload jsonb, PRIMARY KEY (b, a));
INSERT INTO public.composite SELECT g % 10, 'k' || (g / 10), jsonb_build_object('g', g, 'ü', '🎉') FROM generate_series(1, 1000) g;
CREATE TABLE public.generated (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, w int, h int, area int GENERATED ALWAYS AS (w * h) STORED);
INSERT INTO public.generated (w, h) SELECT g, g + 1 FROM generate_series(1, 200) g;
CREATE TABLE public.events (id int, at date, note text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO public.events SELECT g, date '2024-01-01' + (g % 700), 'event ' || g FROM generate_series(1, 1400) g;
CREATE TABLE "Odd Schema"."Mixed ""Quoted"" Täble.ü" ("Col A" int PRIMARY KEY, "zé" text, "UPPER" timestamptz);
INSERT INTO "Odd Schema"."Mixed ""Quoted"" Täble.ü" SELECT g, '中文 ' || g, timestamptz '2024-03-01 12:00+02' + g * interval '1 hour' FROM generate_series(1, 100) g;
CREATE TABLE public.animal (id int PRIMARY KEY, name text);
CREATE TABLE public.dog (bark text) INHERITS (public.animal);
ALTER TABLE public.animal ADD COLUMN legs int;
INSERT INTO public.animal VALUES (1, 'cat', 4);
INSERT INTO public.dog (id, name, bark, legs) VALUES (2, 'rex', 'woof', 4), (3, 'fido', 'wuff', 3);
CREATE TABLE public.parent_fk (id serial PRIMARY KEY, name text);
CREATE TABLE public.child_fk (id serial PRIMARY KEY, parent_id int REFERENCES public.parent_fk, body text);
CREATE TABLE public.audit (id serial PRIMARY KEY, what text);
CREATE FUNCTION public.audit_it() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.audit (what) VALUES (TG_OP || ':' || NEW.id); RETURN NEW; END $$;
CREATE TRIGGER child_audit AFTER INSERT ON public.child_fk FOR EACH ROW EXECUTE FUNCTION public.audit_it();
INSERT INTO public.parent_fk (name) SELECT 'p' || g FROM generate_series(1, 50) g;
INSERT INTO public.child_fk (parent_id, body) SELECT 1 + g % 50, repeat('x', g % 30) FROM generate_series(1, 400) g;
CREATE SEQUENCE public.counter START 100;
SELECT count(nextval('public.counter')) FROM generate_series(1, 7);
CREATE VIEW public.pricey AS SELECT * FROM public.plain_pk WHERE price > 100;
CREATE MATERIALIZED VIEW public.label_counts AS SELECT length(label) AS len, count(*) AS n FROM public.plain_pk GROUP BY 1;
CREATE TABLE public.docs (id int PRIMARY KEY, blob oid);
INSERT INTO public.docs VALUES (1, lo_from_bytea(0, convert_to('large object bytes', 'UTF8')));
`;

const QUOTED_STREAM = 'table/Odd Schema.Mixed "Quoted" Täble.ü';

/** Facts a table checksum does not cover: sequence positions and a large object's bytes. */
const SIDE_FACTS_SQL = `SELECT json_build_object(
  'counter', (SELECT last_value || '/' || is_called FROM public.counter),
  'parentSeq', (SELECT last_value || '/' || is_called FROM public.parent_fk_id_seq),
  'identity', (SELECT last_value || '/' || is_called FROM public.generated_id_seq),
  'blob', (SELECT convert_from(lo_get(blob), 'UTF8') FROM public.docs WHERE id = 1),
  'nextGenerated', (SELECT pg_get_serial_sequence('public.generated', 'id'))
)`;

interface DumpedStreams {
  readonly streams: readonly SnapshotStream[];
  readonly bytes: Map<string, Buffer>;
  readonly details?: Readonly<Record<string, string>>;
}

/** Runs a streamed dump to the end, `jobs` streams at a time, keeping every stream's bytes. */
async function dumpAll(dump: StreamedDump, jobs: number, beforeOpen: () => Promise<void> = async () => undefined): Promise<DumpedStreams> {
  const bytes = new Map<string, Buffer>();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: jobs }, async () => {
        while (next < dump.streams.length) {
          const stream = dump.streams[next++]!;
          await beforeOpen();
          const chunks: Buffer[] = [];
          for await (const chunk of await dump.open(stream)) chunks.push(chunk as Buffer);
          bytes.set(stream.name, Buffer.concat(chunks));
        }
      }),
    );
  } catch (error) {
    await dump.abort();
    throw error;
  }
  const { details } = await dump.finish();
  return { streams: dump.streams, bytes, details };
}

describe('PostgreSQL streamed dump and restore', () => {
  const pg = requirePostgres();
  if (!pg) return;
  const engine = new PostgresEngine({ lockTimeoutMs: 5_000 });
  const source = uniqueDatabaseName('streams_src');
  const databases = new Set<string>([source]);
  const newDatabase = (prefix: string): string => {
    const name = uniqueDatabaseName(prefix);
    databases.add(name);
    return name;
  };
  const connect = (database: string) => engine.parse(databaseUrl(pg, database));

  /**
   * Every table's fingerprint. pg_dump recreates an inheritance child with the parent's columns
   * first (public.dog: id, name, legs, bark where the source has id, name, bark, legs), so that
   * one is compared column by column, by name.
   */
  const contentPrints = async (database: string) => ({
    ...(await tableFingerprints(pg, database)),
    'public.dog': await psqlQuery(pg, database, `SELECT string_agg(concat_ws('|', id, name, bark, legs), ',' ORDER BY id) FROM public.dog`),
  });

  /** Restores `dumped` into `database` with `jobs` sessions; returns the streams it opened. */
  const restoreAll = async (dumped: DumpedStreams, database: string, jobs: number, options: { tables?: string[]; force?: boolean } = {}): Promise<string[]> => {
    const sink = await engine.openStreamsRestore(connect(database), dumped.streams, { format: 'pg-streams/v1', ...options });
    const opened: string[] = [];
    try {
      await sink.load((stream) => {
        opened.push(stream.name);
        return Readable.from([dumped.bytes.get(stream.name)!]);
      }, { jobs });
      await sink.commit();
    } catch (error) {
      await sink.abort();
      throw error;
    }
    return opened;
  };

  beforeAll(async () => {
    await createDatabase(pg, source);
    await psqlQuery(pg, source, FIXTURE_SQL);
  });

  afterAll(async () => {
    for (const name of databases) await dropDatabase(pg, name).catch(() => undefined);
  });

  it('dumps one stream per leaf table in key order, between the schema and the rest of the data', async () => {
    const dumped = await dumpAll(await engine.dumpStreams(connect(source), { jobs: 1 }), 1);
    const names = dumped.streams.map((s) => s.name);
    expect(names[0]).toBe('pre-data');
    expect(names.slice(-2)).toEqual(['data-rest', 'post-data']);
    expect(dumped.streams.filter((s) => s.role === 'table').map((s) => s.name).sort()).toEqual(
      [
        'table/public.plain_pk', 'table/public.no_pk', 'table/public.composite', 'table/public.generated',
        'table/public.events_2024', 'table/public.events_2025', QUOTED_STREAM, 'table/public.animal', 'table/public.dog',
        'table/public.parent_fk', 'table/public.child_fk', 'table/public.audit', 'table/public.docs',
      ].sort(),
    );
    // Columns by name ("C" order), rows by primary key; generated columns are left to the restore.
    const generated = dumped.bytes.get('table/public.generated')!.toString('utf8').split('\n');
    expect(generated.slice(0, 2)).toEqual(['2\t1\t1', '3\t2\t2']); // h, id, w
    const composite = dumped.bytes.get('table/public.composite')!.toString('utf8').split('\n');
    expect(composite[0]).toMatch(/^1\tk0\t/); // ordered by (b, a): k0 has a = 1…9
    expect(dumped.bytes.get(QUOTED_STREAM)!.toString('utf8').split('\n')[0]).toBe('1\t2024-03-01 11:00:00+00\t中文 1');
    // Physical order: public.no_pk, and public.dog (a child does not inherit its parent's primary key).
    expect(dumped.details).toMatchObject({ tableStreams: '13', tablesInPhysicalOrder: '2' });
    expect(dumped.details?.snapshotLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });

  for (const dumpJobs of [1, 3]) {
    it(`restores a dump taken with ${dumpJobs} stream(s) at once into a new database with 2 sessions: content, schema, sequences and large objects equal`, async () => {
      const dumped = await dumpAll(await engine.dumpStreams(connect(source), { jobs: dumpJobs }), dumpJobs);
      const target = newDatabase('streams_to');
      const opened = await restoreAll(dumped, target, 2);
      expect(opened.sort()).toEqual(dumped.streams.map((s) => s.name).sort());
      expect(await contentPrints(target)).toEqual(await contentPrints(source));
      expect(await schemaObjects(pg, target)).toEqual(await schemaObjects(pg, source));
      expect(await psqlQuery(pg, target, SIDE_FACTS_SQL)).toBe(await psqlQuery(pg, source, SIDE_FACTS_SQL));
      // The trigger came with post-data, after the rows: it fired for none of them, and fires now.
      await psqlQuery(pg, target, `INSERT INTO public.child_fk (parent_id, body) VALUES (1, 'new')`);
      expect(await psqlQuery(pg, target, `SELECT count(*) FROM public.audit`)).toBe(String(400 + 1));
    });
  }

  it('restores one table: opens only its stream and the schema sections, and refuses a second restore into it', async () => {
    const dumped = await dumpAll(await engine.dumpStreams(connect(source), { jobs: 2 }), 2);
    const target = newDatabase('streams_sel');
    const opened = await restoreAll(dumped, target, 2, { tables: ['public.plain_pk'] });
    expect(opened.sort()).toEqual(['data-rest', 'post-data', 'pre-data', 'table/public.plain_pk']);
    const prints = await tableFingerprints(pg, target);
    expect(Object.keys(prints)).toEqual(['public.plain_pk']);
    expect(prints['public.plain_pk']).toEqual((await tableFingerprints(pg, source))['public.plain_pk']);

    await expect(restoreAll(dumped, target, 2, { tables: ['public.plain_pk'] })).rejects.toThrow(RunConflictError);
    const forced = await restoreAll(dumped, target, 2, { tables: ['public.plain_pk'], force: true });
    expect(forced).toContain('table/public.plain_pk');
    expect((await tableFingerprints(pg, target))['public.plain_pk']).toEqual(prints['public.plain_pk']);
  });

  it('drops the database it created when a table stream fails half-way', async () => {
    const dumped = await dumpAll(await engine.dumpStreams(connect(source), { jobs: 2 }), 2);
    const broken: DumpedStreams = { ...dumped, bytes: new Map(dumped.bytes).set('table/public.no_pk', Buffer.from('not\ta\tvalid\trow\n')) };
    const target = newDatabase('streams_fail');
    await expect(restoreAll(broken, target, 2)).rejects.toThrow(/loading table public\.no_pk .* failed/);
    expect(await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(target)}`)).toBe('0');
  });

  it('gives the same bytes for unchanged data on every run', async () => {
    const first = await dumpAll(await engine.dumpStreams(connect(source), { jobs: 3 }), 3);
    const second = await dumpAll(await engine.dumpStreams(connect(source), { jobs: 1 }), 1);
    for (const stream of first.streams.filter((s) => s.role === 'table')) {
      expect(second.bytes.get(stream.name)!.equals(first.bytes.get(stream.name)!), stream.name).toBe(true);
    }
    // pg_dump's archives carry the time they were made in their header, and nothing else that changes.
    for (const name of ['pre-data', 'data-rest', 'post-data']) {
      const a = first.bytes.get(name)!;
      const b = second.bytes.get(name)!;
      expect(b.length, name).toBe(a.length);
      const differing = [...a.keys()].filter((i) => a[i] !== b[i]);
      expect(differing.every((i) => i < 64), `${name} differs at ${differing.slice(0, 5).join(', ')}`).toBe(true);
    }
  });

  it('reads every stream from one snapshot while a writer moves money between two tables', async () => {
    const database = newDatabase('streams_tx');
    await createDatabase(pg, database);
    await psqlQuery(pg, database, `
      CREATE TABLE public.left_acct (id int PRIMARY KEY, balance bigint NOT NULL);
      CREATE TABLE public.right_acct (id int PRIMARY KEY, balance bigint NOT NULL);
      CREATE TABLE public.transfers (id bigserial PRIMARY KEY, amount int NOT NULL);
      INSERT INTO public.left_acct SELECT g, 1000 FROM generate_series(1, 100) g;
      INSERT INTO public.right_acct SELECT g, 1000 FROM generate_series(1, 100) g;`);
    const total = 200_000;
    const writer = spawnTracked(pgTool(pg, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { env: pgEnv(pg, database), stdin: 'pipe' });
    writer.stdin!.on('error', () => undefined);
    writer.stdin!.end(`DO $w$ DECLARE i int := 0; BEGIN LOOP i := i + 1;
      UPDATE public.left_acct SET balance = balance - (i % 7) WHERE id = 1 + i % 100;
      INSERT INTO public.transfers (amount) VALUES (i % 7);
      UPDATE public.right_acct SET balance = balance + (i % 7) WHERE id = 1 + (i * 31) % 100;
      COMMIT; PERFORM pg_sleep(0.002); END LOOP; END $w$;`);
    const writerExit = waitForExit(writer);
    try {
      await sleep(200);
      // A pause before each stream opens: the writer commits many transfers between streams.
      const dumped = await dumpAll(await engine.dumpStreams(connect(database), { jobs: 2 }), 2, () => sleep(150));
      const count = async () => Number(await psqlQuery(pg, database, 'SELECT count(*) FROM public.transfers'));
      expect(await count()).toBeGreaterThan(0);
      const target = newDatabase('streams_tx_to');
      await restoreAll(dumped, target, 2);
      const [sums] = await psqlRows(pg, target, `SELECT (SELECT sum(balance) FROM public.left_acct) + (SELECT sum(balance) FROM public.right_acct),
        (SELECT sum(balance) - 100000 FROM public.right_acct) = (SELECT coalesce(sum(amount), 0) FROM public.transfers)`);
      expect(sums).toEqual([String(total), 't']);
      // The sequence is read in the same snapshot as the table it numbers.
      expect(await psqlQuery(pg, target, `SELECT (SELECT last_value FROM public.transfers_id_seq) >= (SELECT coalesce(max(id), 0) FROM public.transfers)`)).toBe('t');
    } finally {
      killTree(writer, 'SIGKILL');
      await writerExit;
    }
  });

  it('gives up on a table locked by another session after the lock timeout, naming the session', async () => {
    const database = newDatabase('streams_lock');
    await createDatabase(pg, database);
    await psqlQuery(pg, database, 'CREATE TABLE public.busy (id int PRIMARY KEY)');
    const holder = spawnTracked(pgTool(pg, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { env: pgEnv(pg, database, { PGAPPNAME: 'lock-holder' }), stdin: 'pipe' });
    holder.stdin!.on('error', () => undefined);
    holder.stdin!.write('BEGIN; LOCK TABLE public.busy IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);\n');
    const holderExit = waitForExit(holder);
    try {
      for (let i = 0; i < 100 && (await psqlQuery(pg, database, `SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'public.busy'::regclass`)) === '0'; i++) await sleep(50);
      const quick = new PostgresEngine({ lockTimeoutMs: 500 });
      const failure = await quick.dumpStreams(connect(database), { jobs: 1 }).then(() => undefined, (error: unknown) => error);
      expect(failure).toBeInstanceOf(DumpFailedError);
      expect((failure as Error).message).toMatch(/gave up waiting 500ms for a table lock: public\.busy is locked ACCESS EXCLUSIVE by pid \d+ \(user \S+, application lock-holder/);
    } finally {
      killTree(holder, 'SIGKILL');
      await holderExit;
    }
  });

  it('never puts the password on a command line', async () => {
    const seen: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const p of descendantsOf(process.pid)) seen.push(p.argv.join(' '));
        await sleep(5);
      }
    })();
    const dump = await engine.dumpStreams(connect(source), { jobs: 2 });
    const dumped = await dumpAll(dump, 2);
    await restoreAll(dumped, newDatabase('streams_argv'), 2);
    sampling = false;
    await sampler;
    expect(seen.some((argv) => /pg_dump|psql|pg_restore/.test(argv))).toBe(true);
    expect(seen.filter((argv) => argv.includes(pg.password))).toEqual([]);
  });

  it('fails a stream with DumpFailedError once the snapshot session is gone, and finish() says the dump may be inconsistent', async () => {
    const dump = await engine.dumpStreams(connect(source), { jobs: 1 });
    // Ends every other session on the source: the snapshot session among them.
    await psqlQuery(pg, 'postgres', `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${quoteLiteral(source)} AND pid <> pg_backend_pid()`);
    const readable = await dump.open(dump.streams.find((s) => s.name === 'table/public.plain_pk')!);
    const drain = async () => {
      for await (const chunk of readable) void chunk;
    };
    const failure = await drain().then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(DumpFailedError);
    expect((failure as Error).message).toMatch(/dump of table public\.plain_pk of .* failed \(exit \d+: .*snapshot/);
    expect((failure as Error).message).not.toContain(pg.password);
    await expect(dump.finish()).rejects.toThrow(/snapshot session .* failed .* run it again/);
    await dump.abort();
  });
});
