/**
 * Point-in-time restore of MongoDB through the built CLI, against mongo-java-server as a
 * single-node replica set (the one server here that keeps an oplog; its `applyOps` is the test
 * shim's, see test/support/mongo-java-server.ts): a full backup records its oplog position, writes
 * in two seconds, `vaultra logs push`, then `restore --at` the end of the first second into a new
 * database holds exactly the first second's writes, and the archive verifies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { mongoJavaServerUnavailable, startMongoJavaServer, type MongoJavaServer } from '../support/mongo-java-server.js';
import { withTestClient } from '../support/mongo-server.js';
import { mongoUrl } from '../support/mongo-fixtures.js';
import { requireTools, unmet } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

interface Item {
  _id: number;
  n: number;
}

describe('point-in-time restore of MongoDB through the CLI (mongo-java-server replica set)', () => {
  const tools = requireTools('mongodump', 'mongorestore');
  const unavailable = mongoJavaServerUnavailable();
  if (unavailable) {
    unmet('mongo-java-server', unavailable);
    return;
  }
  if (!tools) return;

  let server: MongoJavaServer;
  let root = '';
  let ws: Workspace;
  const url = (database: string) => mongoUrl({ url: server.url, server: server.server }, database);
  const withServer = <T>(work: (client: MongoClient) => Promise<T>) => withTestClient(server.url, work);
  const cli = (args: string[]) => runVaultra(args, { env: ws.env, timeoutMs: 180_000 });
  const items = async (database: string) => withServer(async (client) => (await client.db(database).collection<Item>('items').find().sort({ _id: 1 }).toArray()).map((d) => `${d._id}:${d.n}`).join(','));
  /** The server's clock, and a wait until it is in the next second (the oplog's times are seconds). */
  const serverTime = () => withServer(async (client) => (await client.db('admin').command({ hello: 1 })).localTime as Date);
  const nextSecond = async () => {
    const from = Math.floor((await serverTime()).getTime() / 1000);
    while (Math.floor((await serverTime()).getTime() / 1000) <= from) await new Promise((resolve) => setTimeout(resolve, 100));
  };

  beforeAll(async () => {
    server = await startMongoJavaServer();
    root = mkdtempSync(join(tmpdir(), 'vaultra-pitr-mongo-'));
    ws = makeWorkspace(root, 'ws');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('restores exactly the writes up to a second into a new database', async () => {
    await withServer((client) => client.db('shop').collection<Item>('items').insertMany([{ _id: 1, n: 1 }, { _id: 2, n: 1 }]));
    const base = await cli(['backup', url('shop'), '--to', ws.storeUrl, '--job', 'shop', '--json', '--no-progress']);
    expect(base.code, base.stderr).toBe(0);

    await nextSecond();
    await withServer(async (client) => {
      await client.db('shop').collection<Item>('items').insertOne({ _id: 3, n: 1 });
      await client.db('shop').collection<Item>('items').updateOne({ _id: 1 }, { $set: { n: 2 } });
    });
    const firstSecond = await serverTime();
    await nextSecond();
    await withServer((client) => client.db('shop').collection<Item>('items').deleteOne({ _id: 2 }));

    const pushed = await cli(['logs', 'push', url('shop'), '--to', ws.storeUrl, '--job', 'shop', '--json', '--no-progress']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout).log).toMatchObject({ kind: 'oplog', format: 'oplog-bson/v1' });
    const verify = await cli(['logs', 'verify', '--from', ws.storeUrl, '--job', 'shop', '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    const at = new Date(Math.floor(firstSecond.getTime() / 1000) * 1000).toISOString();
    const restored = await cli(['restore', '--at', at, '--job', 'shop', '--from', ws.storeUrl, '--target', url('shop_at'), '--json', '--no-progress']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await items('shop_at')).toBe('1:2,2:1,3:1');
    const latest = await cli(['restore', '--at', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--target', url('shop_latest'), '--json', '--no-progress']);
    expect(latest.code, latest.stderr).toBe(0);
    expect(await items('shop_latest')).toBe('1:2,3:1');
  }, 180_000);
});
