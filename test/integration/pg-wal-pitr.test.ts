/**
 * PostgreSQL point-in-time recovery, engine side, against a real PostgreSQL 15 started for this
 * suite (replication settings, 1 MB WAL segments): a physical base (`physicalDump`) and its WAL
 * position, WAL catch-ups (`logs.read`) that continue each other over an overlapping partial
 * segment, replays into restored data directories to three times and to consistency — a server
 * started on each holds exactly the rows committed up to the time —, a gap when the WAL asked
 * for is gone, archive_command mode on one finished segment, `checkServer`, refusals, and no
 * password on any argv. Times come from the server (`clock_timestamp()`), never the test's clock.
 */
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEngine } from '../../core/adapters/engines/postgres/postgres-engine.js';
import type { PostgresSource } from '../../core/adapters/engines/postgres/postgres-descriptor.js';
import { readWalFile } from '../../core/adapters/engines/postgres/pg-wal-segment-file.js';
import { parseLsn, segmentNameOf } from '../../core/adapters/engines/postgres/pg-wal-positions.js';
import { baseLogPositionOf, compareLogPositions, logRangeSchema, type BaseLogPosition, type LogRange } from '../../core/domain/log-archive.js';
import type { LogRead, ReplayRange } from '../../core/ports/log-archiver.js';
import { ConfigError, DumpFailedError, RunConflictError } from '../../core/errors.js';
import { ADMIN_USER, startPostgres, startPostgresOn, type PostgresServer } from '../support/postgres-server.js';
import { psqlQuery } from '../support/psql.js';
import { descendantsOf, sleep } from '../support/processes.js';

const engine = new PostgresEngine();
let server: PostgresServer;
let source: PostgresSource;
let work: string;
const argvSeen = new Set<string>();
let watching = true;

const sql = (text: string) => psqlQuery(server, 'postgres', text);

/** Samples the argv of every process this test process started, all along: a password must never be on one. */
async function watchArgv(): Promise<void> {
  while (watching) {
    for (const p of descendantsOf(process.pid)) argvSeen.add(p.argv.join(' '));
    await sleep(15);
  }
}

async function saveStream(stream: NodeJS.ReadableStream, name: string): Promise<string> {
  const file = join(work, name);
  await pipeline(stream, createWriteStream(file));
  return file;
}

interface StoredRange {
  readonly range: LogRange;
  readonly file: string;
}

async function pushLogs(since: string | undefined, name: string): Promise<StoredRange> {
  const read: LogRead = await engine.logs.read(source, since, { now: () => new Date(0) });
  try {
    const file = await saveStream(read.stream, name);
    const range = logRangeSchema.parse({ kind: 'wal', format: read.format, ...(await read.range()) });
    return { range, file };
  } finally {
    await read.close();
  }
}

function replayRanges(stored: readonly StoredRange[]): ReplayRange[] {
  return stored.map((s, i) => ({ range: s.range, runId: `run-${i}`, open: () => Promise.resolve(createReadStream(s.file)) }));
}

async function restoreBase(baseFile: string, name: string): Promise<string> {
  const dir = join(work, name);
  const sink = await engine.openRestore(engine.parse(`pgdata:${dir}`), {});
  await pipeline(createReadStream(baseFile), sink.stream);
  await sink.commit();
  return dir;
}

/** Rows per batch in a server started on a recovered data directory. */
async function rowsIn(dataDir: string): Promise<Record<string, number>> {
  const restored = await startPostgresOn(dataDir, { user: ADMIN_USER, password: server.password });
  try {
    const out = await psqlQuery(restored, 'postgres', `SELECT coalesce(json_object_agg(batch, n), '{}') FROM (SELECT batch, count(*) n FROM pitr GROUP BY batch) b`);
    return JSON.parse(out) as Record<string, number>;
  } finally {
    await restored.stop();
  }
}

/** One batch of rows in one transaction, each stamped with the server's clock; returns the latest stamp. */
async function insertBatch(batch: number, rows: number): Promise<Date> {
  const first = batch * 100;
  const out = await sql(`INSERT INTO pitr SELECT g, ${batch}, clock_timestamp() FROM generate_series(${first}, ${first + rows - 1}) g RETURNING to_json(at)`);
  return new Date(Math.max(...out.split('\n').filter(Boolean).map((line) => new Date(JSON.parse(line) as string).getTime())));
}

beforeAll(async () => {
  void watchArgv();
  work = await mkdtemp(join(existsSync('/tmp') ? '/tmp' : tmpdir(), 'vaultra-pitr-'));
  // As root the restored servers run as postgres, who must reach the data directories inside.
  await chmod(work, 0o711);
  server = await startPostgres({ replication: true, walSegmentSizeMb: 1 });
  source = engine.parse(server.url);
  await sql('CREATE TABLE pitr (id int PRIMARY KEY, batch int NOT NULL, at timestamptz NOT NULL)');
  await insertBatch(0, 5);
}, 120_000);

afterAll(async () => {
  watching = false;
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('PostgreSQL point-in-time recovery', () => {
  let baseFile: string;
  let base: BaseLogPosition;
  const ranges: StoredRange[] = [];
  const batchEnds: Date[] = [];

  it('takes a physical base whose details place it in the WAL, and creates the slot', async () => {
    const before = new Date(JSON.parse(await sql('SELECT to_json(clock_timestamp())')) as string);
    const dump = await engine.physicalDump(source);
    baseFile = await saveStream(dump.stream, 'base.tar');
    expect(dump.format).toBe('pg_basebackup-tar');
    expect(dump.tool.name).toBe('pg_basebackup');
    const position = baseLogPositionOf(dump.details);
    expect(position).toBeDefined();
    base = position!;
    expect(base.kind).toBe('wal');
    expect(base.timeline).toBe(1);
    expect(compareLogPositions('wal', base.start, base.consistent)).toBeLessThanOrEqual(0);
    expect(base.consistentAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(await sql(`SELECT slot_type || ' ' || (restart_lsn <= '${base.start}')::text FROM pg_replication_slots WHERE slot_name = 'vaultra_wal'`)).toBe('physical true');

    const validation = await engine.openValidation({ details: dump.details! });
    await pipeline(createReadStream(baseFile), validation.stream);
    expect(await validation.result()).toMatch(/whole base backup/);
  });

  it('archives WAL in catch-ups that continue each other, a partial segment overlapping the next read', async () => {
    ranges.push(await pushLogs(base.start, 'wal-1.tar'));
    batchEnds.push(await insertBatch(1, 3));
    await sleep(1100);
    ranges.push(await pushLogs(ranges[0]!.range.end, 'wal-2.tar'));
    batchEnds.push(await insertBatch(2, 4));
    await sleep(1100);
    batchEnds.push(await insertBatch(3, 6));
    await sleep(1100);
    // Enough WAL to fill a few 1 MB segments: the last read spans complete segments and a partial one.
    await sql('CREATE TABLE filler AS SELECT g, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 8000) g');
    ranges.push(await pushLogs(ranges[1]!.range.end, 'wal-3.tar'));

    const [r1, r2, r3] = ranges.map((s) => s.range) as [LogRange, LogRange, LogRange];
    expect(compareLogPositions('wal', r1.start, base.start)).toBeLessThanOrEqual(0);
    for (const [previous, next] of [[r1, r2], [r2, r3]] as const) {
      expect(compareLogPositions('wal', next.start, previous.end)).toBeLessThanOrEqual(0); // contiguous: overlap allowed
      expect(compareLogPositions('wal', next.end, previous.end)).toBeGreaterThanOrEqual(0);
      // The segment the previous read left partial is read whole (or further) by the next one.
      expect(next.files![0]!.replace(/\.partial$/, '')).toBe(previous.files!.at(-1)!.replace(/\.partial$/, ''));
    }
    expect(r1.files!.at(-1)).toMatch(/^[0-9A-F]{24}\.partial$/);
    expect(r3.files!.length).toBeGreaterThanOrEqual(3);
    expect(r3.files!.slice(0, -1).every((f) => /^[0-9A-F]{24}$/.test(f))).toBe(true);
    for (const r of [r1, r2, r3]) expect(r.timeline).toBe(1);
    expect(r2.events).toBeGreaterThanOrEqual(1);
    expect(r3.events).toBeGreaterThanOrEqual(3);
    // Commit times are the server's: batch 1 is in the second range, batches 2 and 3 (and the filler) in the third.
    expect(new Date(r2.lastEventAt!).getTime()).toBeGreaterThanOrEqual(batchEnds[0]!.getTime() - 1);
    expect(new Date(r3.firstEventAt!).getTime()).toBeGreaterThanOrEqual(batchEnds[0]!.getTime());
    for (const r of [r2, r3]) expect(new Date(r.lastEventAt!).getTime()).toBeLessThanOrEqual(new Date(r.coveredUntil).getTime());
    expect(new Date(r3.coveredUntil).getTime()).toBeGreaterThan(batchEnds[2]!.getTime());
  });

  it('replays to three times: a server started on each holds exactly the rows committed up to it', async () => {
    for (const [k, end] of batchEnds.entries()) {
      // Half a second after batch k+1's last row: its commit is in, the next batch (1.1 s later) is not.
      const until = new Date(end.getTime() + 500);
      const dir = await restoreBase(baseFile, `at-${k + 1}`);
      const report = await engine.logs.replay(engine.parse(`pgdata:${dir}`), replayRanges(ranges), { until, from: base, startServer: true });
      expect(report.reachedAt!.getTime()).toBeLessThanOrEqual(until.getTime());
      expect(report.reachedAt!.getTime()).toBeGreaterThanOrEqual(end.getTime());
      expect(existsSync(join(dir, 'vaultra_wal_restore'))).toBe(false);
      expect(readFileSync(join(dir, 'postgresql.auto.conf'), 'utf8')).not.toMatch(/vaultra/);
      const expected: Record<string, number> = { '0': 5, '1': 3, '2': 4, '3': 6 };
      expect(await rowsIn(dir)).toEqual(Object.fromEntries(Object.entries(expected).filter(([batch]) => Number(batch) <= k + 1)));
    }
  }, 240_000);

  it('refuses a time before the base is consistent or after the archive ends, before staging anything', async () => {
    const dir = await restoreBase(baseFile, 'out-of-range');
    const target = engine.parse(`pgdata:${dir}`);
    await expect(engine.logs.replay(target, replayRanges(ranges), { until: new Date(base.consistentAt.getTime() - 1000), from: base })).rejects.toThrow(/consistent only from/);
    const after = new Date(new Date(ranges.at(-1)!.range.coveredUntil).getTime() + 1000);
    await expect(engine.logs.replay(target, replayRanges(ranges), { until: after, from: base })).rejects.toThrow(/push the logs/);
    expect(existsSync(join(dir, 'vaultra_wal_restore'))).toBe(false);
    expect(existsSync(join(dir, 'recovery.signal'))).toBe(false);
  });

  it("replays to the base's consistency point: only what the base held", async () => {
    const dir = await restoreBase(baseFile, 'consistent');
    await engine.logs.replay(engine.parse(`pgdata:${dir}`), replayRanges(ranges.slice(0, 1)), { until: 'consistent', from: base, startServer: true });
    expect(await rowsIn(dir)).toEqual({ '0': 5 });
  }, 120_000);

  it('without startServer, leaves recovery settings and says how to start', async () => {
    const dir = await restoreBase(baseFile, 'manual');
    const until = new Date(batchEnds[1]!.getTime() + 500);
    const report = await engine.logs.replay(engine.parse(`pgdata:${dir}`), replayRanges(ranges), { until, from: base });
    expect(report.notes!.join('\n')).toMatch(/pg_ctl -D/);
    expect(existsSync(join(dir, 'recovery.signal'))).toBe(true);
    const conf = readFileSync(join(dir, 'postgresql.auto.conf'), 'utf8');
    expect(conf).toContain(`recovery_target_time = '${until.toISOString().replace('T', ' ').replace('Z', '+00')}'`);
    expect(conf).toMatch(/restore_command = 'test -f/);
    expect((await readdir(join(dir, 'vaultra_wal_restore'))).length).toBeGreaterThan(0);
  });

  it('archive_command mode: one finished segment as a range of its own', async () => {
    await sql('INSERT INTO pitr VALUES (9999, 9, clock_timestamp())');
    const segment = (await sql('SELECT pg_walfile_name(pg_current_wal_lsn())')).trim();
    await sql('SELECT pg_switch_wal()');
    const read = await readWalFile(join(server.dataDir, 'pg_wal', segment), { now: () => new Date(0) });
    try {
      const file = await saveStream(read.stream, 'one-segment.tar');
      const range = logRangeSchema.parse({ kind: 'wal', format: read.format, ...(await read.range()) });
      expect(range.files).toEqual([segment]);
      expect(range.events).toBeGreaterThanOrEqual(1);
      expect(compareLogPositions('wal', range.start, range.end)).toBeLessThan(0);
      expect(new Date(range.coveredUntil).getTime()).toBeLessThan(new Date(range.lastEventAt!).getTime());
      expect(readFileSync(file).subarray(257, 262).toString()).toBe('ustar');
    } finally {
      await read.close();
    }
  });

  it('archive_command mode end to end: segments pushed one by one replay to a time', async () => {
    const dump = await engine.physicalDump(source);
    const ownBaseFile = await saveStream(dump.stream, 'base-archive-mode.tar');
    const ownBase = baseLogPositionOf(dump.details)!;
    const first = await insertBatch(30, 2);
    await sleep(1100);
    await insertBatch(31, 3);
    await sleep(1100);
    // A third commit after the target, in the last pushed segment, for the recovery to stop at.
    await insertBatch(32, 1);
    const last = (await sql('SELECT pg_walfile_name(pg_current_wal_lsn())')).trim();
    await sql('SELECT pg_switch_wal()');
    const startSegment = segmentNameOf(parseLsn(ownBase.start), ownBase.timeline!, 1024 * 1024); // the suite's 1 MB segments
    const names = (await readdir(join(server.dataDir, 'pg_wal'))).filter((n) => /^[0-9A-F]{24}$/.test(n) && n >= startSegment && n <= last).sort();
    const stored: StoredRange[] = [];
    for (const name of names) {
      const read = await readWalFile(join(server.dataDir, 'pg_wal', name), { now: () => new Date(0) });
      try {
        const file = await saveStream(read.stream, `archived-${name}.tar`);
        stored.push({ range: logRangeSchema.parse({ kind: 'wal', format: read.format, ...(await read.range()) }), file });
      } finally {
        await read.close();
      }
    }
    expect(stored.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.range.start).toBe(stored[i - 1]!.range.end);

    const dir = await restoreBase(ownBaseFile, 'archive-mode');
    await engine.logs.replay(engine.parse(`pgdata:${dir}`), replayRanges(stored), { until: new Date(first.getTime() + 500), from: ownBase, startServer: true });
    const rows = await rowsIn(dir);
    expect([rows['30'], rows['31'], rows['32']]).toEqual([2, undefined, undefined]);
  }, 120_000);

  it('checks the server: settings, privilege, slot; a managed server fails with the provider hint', async () => {
    const checks = await engine.logs.checkServer(source);
    const status = Object.fromEntries(checks.map((c) => [c.name, c.status]));
    expect(status).toMatchObject({ wal_level: 'ok', max_wal_senders: 'ok', max_replication_slots: 'ok', 'replication privilege': 'ok', 'replication slot vaultra_wal': 'ok', archive_mode: 'ok' });
    await sql('CREATE ROLE rds_superuser');
    try {
      const managed = (await engine.logs.checkServer(source)).find((c) => c.name === 'managed PostgreSQL');
      expect(managed?.status).toBe('fail');
      expect(managed?.fix).toMatch(/provider's point-in-time recovery/);
    } finally {
      await sql('DROP ROLE rds_superuser');
    }
  });

  it('refuses a logical dump into a data directory, a physical base into a server, a non-empty folder, and a data directory as a source', async () => {
    const logical = await engine.dump(source);
    const dumpFile = await saveStream(logical.stream, 'logical.pgdump');
    const into = await engine.openRestore(engine.parse(`pgdata:${join(work, 'wrong-kind')}`), {});
    await expect(pipeline(createReadStream(dumpFile), into.stream)).rejects.toThrow(/logical dump \(pg_dump\)/);
    await into.abort();
    expect(existsSync(join(work, 'wrong-kind'))).toBe(false);

    const toServer = await engine.openRestore(engine.parse(server.url.replace(/\/postgres$/, '/pitr_wrong')), {});
    await expect(pipeline(createReadStream(baseFile), toServer.stream)).rejects.toThrow(/physical base .*pgdata:/);
    await toServer.abort();

    const full = join(work, 'full');
    await rm(full, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(full));
    await writeFile(join(full, 'keep'), 'x');
    await expect(engine.openRestore(engine.parse(`pgdata:${full}`), {})).rejects.toBeInstanceOf(RunConflictError);
    await expect(engine.describe(engine.parse(`pgdata:${full}`))).rejects.toBeInstanceOf(ConfigError);
    expect(() => engine.parse('pgdata:relative/path')).toThrow(ConfigError);
  });

  it('fails in one line that says what to do: a wrong password, an account without REPLICATION', async () => {
    const wrong = engine.parse(server.url.replace(encodeURIComponent(server.password), 'canary-wrong-password'));
    const failure = await engine.physicalDump(wrong).then(() => undefined, (error: unknown) => error as DumpFailedError);
    expect(failure).toBeInstanceOf(DumpFailedError);
    expect(failure!.message).toMatch(/password authentication failed/);
    expect(failure!.message).not.toContain('\n');

    await sql("CREATE ROLE pitr_plain LOGIN PASSWORD 'canary-plain-password'");
    try {
      const plain = engine.parse(server.url.replace(`${ADMIN_USER}:${encodeURIComponent(server.password)}`, 'pitr_plain:canary-plain-password'));
      const refused = await engine.logs.read(plain, undefined, { now: () => new Date(0) }).then(() => undefined, (error: unknown) => error as DumpFailedError);
      expect(refused).toBeInstanceOf(DumpFailedError);
      expect(refused!.message).toMatch(/REPLICATION attribute/);
      const checks = await engine.logs.checkServer(plain);
      expect(checks.find((c) => c.name === 'replication privilege')?.status).toBe('fail');
    } finally {
      await sql('DROP ROLE pitr_plain');
    }
  });

  it('a catch-up from WAL the server no longer has starts at the oldest it has and says where the gap began', async () => {
    const lost = (await sql('SELECT pg_current_wal_lsn()')).trim();
    await sql("SELECT pg_drop_replication_slot('vaultra_wal')");
    for (let i = 0; i < 3; i++) {
      await sql(`INSERT INTO pitr VALUES (${20000 + i}, 20, clock_timestamp())`);
      await sql('SELECT pg_switch_wal()');
      await sql('CHECKPOINT');
    }
    const stored = await pushLogs(lost, 'wal-gap.tar');
    expect(stored.range.gapFrom).toBe(lost);
    expect(compareLogPositions('wal', stored.range.start, lost)).toBeGreaterThan(0);
  });

  it('never put the password on an argv', () => {
    expect(argvSeen.size).toBeGreaterThan(0);
    expect([...argvSeen].filter((argv) => argv.includes(server.password))).toEqual([]);
  });
});
