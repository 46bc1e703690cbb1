/**
 * The binary-log tools never see the password in argv or their environment: a log read
 * (`mariadb-binlog --read-from-remote-server`, the `mariadb` session reading the position) and a
 * replay (`mariadb-binlog` decoding, `mariadb` applying) run in-process here — the CLI's
 * `logs push` is the integrator's — with the canary witness's shims first on PATH (they log
 * the argv and environment each tool starts with) and its private TMPDIR, which must be empty
 * afterwards (the option files holding the password are gone). The harness's password is itself
 * a `canary-` string.
 */
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MysqlEngine } from '../../core/adapters/engines/mysql/mysql-engine.js';
import { baseLogPositionOf } from '../../core/domain/log-archive.js';
import { plantCanaries, watchCanaries } from '../support/canary.js';
import { mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import { createMysqlDatabase, dropMysqlDatabase, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { PASSWORD_CANARY_PREFIX } from '../support/postgres-server.js';
import { requireMariadb, requireTools } from '../support/requirements.js';

const SHIMMED_TOOLS = ['mariadb-binlog', 'mysqlbinlog', 'mariadb', 'mysql', 'mariadb-dump', 'mysqldump', 'tar'] as const;

describe('mysql binlog: canary secrets never leak', () => {
  const server = requireMariadb();
  const tools = requireTools('mariadb', 'mariadb-dump', 'mariadb-binlog', 'tar');
  if (!server || !tools) return;

  const canaries = plantCanaries(server.password);
  const witness = watchCanaries({ prefix: 'vaultra-binlog-canary-', canaries, tools: SHIMMED_TOOLS, dropVariables: ['MYSQL_'] });

  it('a log read and a replay hand the password to the tools only in an option file, removed afterwards', async () => {
    // Prepare
    expect(server.password.startsWith(PASSWORD_CANARY_PREFIX)).toBe(true);
    const source = uniqueMysqlName('binlog_canary');
    const target = `${source}_to`;
    await createMysqlDatabase(server, source);
    // Only the engine runs with the shims and the witness's TMPDIR: the test's own queries pass the password in MYSQL_PWD.
    const shimmed = async <T>(work: () => Promise<T>): Promise<T> => {
      const saved = { PATH: process.env.PATH, TMPDIR: process.env.TMPDIR };
      Object.assign(process.env, { PATH: witness.env.PATH, TMPDIR: witness.tmpDir });
      try {
        return await work();
      } finally {
        Object.assign(process.env, saved);
      }
    };
    try {
      const engine = new MysqlEngine();
      await mysqlQuery(server, source, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'base');");
      const { bytes: dump, details } = await shimmed(async () => {
        const output = await engine.dump(engine.parse(mysqlUrl(server, source)));
        const bytes = Buffer.concat((await output.stream.toArray()) as Buffer[]);
        return { bytes, details: output.details };
      });
      const base = baseLogPositionOf(details)!;
      await mysqlQuery(server, source, "INSERT INTO t VALUES (2, 'after');");

      // Act
      const { segment, range } = await shimmed(async () => {
        const read = await engine.logs.read(engine.parse(mysqlUrl(server, source)), base.start, { now: () => new Date(0) });
        try {
          const segment = Buffer.concat((await read.stream.toArray()) as Buffer[]);
          return { segment, range: { kind: 'binlog' as const, format: read.format, ...(await read.range()) } };
        } finally {
          await read.close();
        }
      });
      const report = await shimmed(async () => {
        const restore = await engine.openRestore(engine.parse(mysqlUrl(server, target)), {});
        restore.stream.end(dump);
        await new Promise((resolve, reject) => restore.stream.once('finish', resolve).once('error', reject));
        await restore.commit();
        return engine.logs.replay(engine.parse(mysqlUrl(server, target)), [{ range, runId: 'r1', open: async () => Readable.from([segment]) }], {
          until: new Date(range.lastEventAt!),
          from: base,
          sourceDatabase: source,
        });
      });

      // Assess
      expect(report.events).toBe(1);
      expect(await mysqlQuery(server, target, 'SELECT GROUP_CONCAT(v ORDER BY id) FROM t;')).toBe('base,after');
      const calls = await witness.expectToolCallsClean();
      const binlogCalls = calls.filter((call) => call.argv[0] === 'mariadb-binlog' && !call.argv.includes('--version'));
      expect(binlogCalls.map((call) => call.argv[1])).toEqual(expect.arrayContaining([expect.stringMatching(/^--defaults-file=/), '--no-defaults']));
      expect(binlogCalls.find((call) => call.argv.includes('--read-from-remote-server'))?.argv[1]).toMatch(/^--defaults-file=/);
      expect(await readdir(witness.tmpDir)).toEqual([]);
    } finally {
      await dropMysqlDatabase(server, source).catch(() => undefined);
      await dropMysqlDatabase(server, target).catch(() => undefined);
    }
  });
});
