/**
 * `vaultra drill --scratch <url>` against a server that is not up yet (issue 20, Azure: a
 * Container Apps job starts the runner and its scratch server in no order). The scratch provider
 * waits, bounded, for the server to accept connections: a real PostgreSQL reached through a TCP
 * forwarder that opens only after a delay, and a port where nothing ever listens.
 */
import { createConnection, createServer, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresScratch } from '../../core/adapters/engines/postgres/pg-scratch.js';
import { untilAcceptingConnections } from '../../core/adapters/engines/postgres/pg-server-ready.js';
import { parsePostgresUrl } from '../../core/adapters/engines/postgres/postgres-connection.js';
import { RestoreFailedError } from '../../core/errors.js';
import { databaseUrl, psqlQuery } from '../support/psql.js';
import { freePort } from '../support/postgres-server.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { uniqueDatabaseName } from '../support/pg-fixtures.js';

/** Forwards 127.0.0.1:`port` to the real server, from the moment it is started. */
function forwarder(port: number, to: { host: string; port: number }): Promise<Server> {
  const server = createServer((client) => {
    const upstream = createConnection({ host: to.host, port: to.port });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => server.listen({ host: '127.0.0.1', port }, () => resolve(server)));
}

describe('drill scratch database on a server still starting', () => {
  const pg = requirePostgres();
  const tools = requireTools('psql', 'pg_isready');
  if (!pg || !tools) return;

  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('waits until the server accepts connections, then creates and drops its database', async () => {
    // Prepare: the scratch URL names a port where the server appears only after 1.5 s.
    const port = await freePort();
    const database = uniqueDatabaseName('drill_late');
    const url = new URL(databaseUrl(pg, database));
    url.hostname = '127.0.0.1';
    url.port = String(port);
    setTimeout(() => void forwarder(port, { host: pg.host, port: pg.port }).then((server) => servers.push(server)), 1500);

    // Act
    const started = performance.now();
    const scratch = await postgresScratch.onServer!(url.toString(), {});
    const waitedMs = performance.now() - started;

    // Assess: it waited for the server, and the database exists until the drill destroys it.
    expect(waitedMs).toBeGreaterThan(1000);
    expect(await psqlQuery(pg, 'postgres', `select count(*) from pg_database where datname = '${database}'`)).toBe('1');
    expect(await scratch.destroy()).toBeUndefined();
    expect(await psqlQuery(pg, 'postgres', `select count(*) from pg_database where datname = '${database}'`)).toBe('0');
  });

  it('gives up after its bound with one line that names the server and what to check', async () => {
    const port = await freePort();
    const connection = parsePostgresUrl(`postgres://postgres@127.0.0.1:${port}/postgres`);
    const error = await untilAcceptingConnections(connection, { timeoutMs: 1500, intervalMs: 300 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RestoreFailedError);
    expect((error as Error).message).toBe(`scratch server 127.0.0.1:${port}/postgres did not accept connections within 2 s (no answer): check that it runs and that --scratch names its host and port`);
  });

  it('stops waiting at once when the drill is interrupted', async () => {
    const port = await freePort();
    const connection = parsePostgresUrl(`postgres://postgres@127.0.0.1:${port}/postgres`);
    const error = await untilAcceptingConnections(connection, { timeoutMs: 60_000, intervalMs: 5_000, signal: AbortSignal.timeout(300) }).catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('AbortedError');
  });
});
