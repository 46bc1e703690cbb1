/**
 * MongoDB, on FerretDB 1.x (bench/ferret-server.ts): orders, events (nested documents and
 * arrays) and documents (long strings), functions of the document number, inserted through
 * the driver. FerretDB itself is slow (SQLite underneath), so sizes are modest.
 *
 *   shell backup    mongodump --archive --db src | zstd -3 -T0 -q > file
 *   shell restore   zstd -d -c file | mongorestore --archive --nsInclude 'src.*' --nsFrom 'src.*' --nsTo 't.*' --stopOnError
 *
 * Both sides reach the server through the same kind of 0600 `--config` file, and the restore
 * gets the flags Vaultra's restore plan gives mongorestore (restore-plan.ts).
 */
import { spawnSync } from 'node:child_process';
import { BSON, MongoClient, type Document } from 'mongodb';
import { startFerretServer } from '../ferret-server.js';
import { log, mb, sq, toolLine } from '../support.js';
import type { BenchEngine, Dataset, EngineHost } from './engine.js';

const COLLECTIONS = ['orders', 'events', 'documents'] as const;
const BATCH = 2000;

export const mongodbEngine: BenchEngine = {
  name: 'mongodb',
  title: 'MongoDB (FerretDB)',
  defaultSizeMb: 16,
  sizeMeaning: 'BSON bytes inserted',
  tools: ['ferretdb', 'mongodump', 'mongorestore'],
  targets: { backup: 1.1, restore: 1.1 },
  async start(work: string): Promise<EngineHost> {
    const server = await startFerretServer(work);
    const client = new MongoClient(server.url(), { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
    const cfg = `--config=${server.toolConfig}`;
    const fingerprint = async (database: string) => {
      const db = client.db(database);
      const counts: Record<string, number> = {};
      for (const name of COLLECTIONS) counts[name] = await db.collection(name).countDocuments();
      counts.indexes = (await db.collection('orders').listIndexes().toArray()).length;
      return counts;
    };
    return {
      serverVersion: `FerretDB ${/FerretDB ([^)]+)/.exec(server.serverVersion)?.[1] ?? server.serverVersion} (SQLite)`,
      versions: { mongodump: toolLine('mongodump'), mongorestore: toolLine('mongorestore'), ferretdb: toolLine('ferretdb') },
      pipelines: {
        backup: 'mongodump --archive --db src | zstd -3 -T0 > file',
        vaultraBackup: 'mongodump --archive → zstd -3 -T0 → age → file://',
        restore: 'zstd -d -c file | mongorestore --archive --nsFrom/--nsTo',
        vaultraRestore: 'sha256 → age -d → zstd -d → archive checker → mongorestore',
      },
      env: () => ({ ...process.env }),
      async generate(name: string, targetMb: number): Promise<Dataset> {
        const bytes = await generate(client, name, targetMb);
        return { name, bytes, fingerprint: await fingerprint(name) };
      },
      sourceUrl: (dataset) => server.url(dataset.name),
      targetUrl: (target) => server.url(target),
      shellBackup: (dataset, file) => `mongodump ${sq(cfg)} --archive --db ${sq(dataset.name)} | zstd -3 -T0 -q > ${sq(file)}`,
      shellRestore: (dataset, file, target) =>
        `zstd -d -c ${sq(file)} | mongorestore ${sq(cfg)} --archive --nsInclude ${sq(`${dataset.name}.*`)} --nsFrom ${sq(`${dataset.name}.*`)} --nsTo ${sq(`${target}.*`)} --stopOnError`,
      fingerprint,
      async drop(target: string) {
        await client.db(target).dropDatabase();
      },
      async settle() {
        spawnSync('sync');
      },
      keep: () => {
        server.keep();
        return `FerretDB on 127.0.0.1:${server.port} (SQLite files in ${server.dataDir}), tool config ${server.toolConfig}; stop it with: kill ${server.pid}`;
      },
      async stop() {
        await client.close();
        await server.stop();
      },
    };
  },
};

const WORDS = ['alpha', 'bravo', 'shipping', 'invoice', 'customer', 'priority', 'standard', 'express', 'return', 'warehouse', 'discount', 'payment', 'pending', 'review', 'account', 'delivery', 'support', 'order', 'refund', 'update'];
const w = (n: number) => WORDS[n % 20]!;
const hex = (n: number) => ((n * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(4);

function order(i: number): Document {
  return {
    _id: i,
    customerId: (i * 7919) % 100000,
    amount: ((i * 104729) % 10000000) / 100,
    quantity: 1 + (i % 9),
    status: ['new', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'][(i * 31) % 6],
    createdAt: new Date(Date.UTC(2021, 0, 1) + ((i * 2654435761) % 94608000) * 1000),
    ...(i % 3 === 0 ? {} : { note: `customer asked for ${w(i * 13)} ${w(i * 7)} handling, ref ${hex(i * 5)}` }),
  };
}

function event(i: number): Document {
  return {
    _id: i,
    occurredAt: new Date(Date.UTC(2022, 0, 1) + i * 250),
    kind: ['page_view', 'click', 'signup', 'purchase', 'logout', 'search'][(i * 17) % 6],
    payload: {
      userId: (i * 7919) % 250000,
      session: hex(Math.floor(i / 20)),
      requestId: hex(i),
      ip: `10.${i % 256}.${Math.floor(i / 256) % 256}.${(i * 7) % 256}`,
      agent: ['Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'Mozilla/5.0 (Macintosh) Safari/17.4', 'curl/8.5.0'][i % 3],
      tags: [w(i), w(i * 3)],
      amount: Math.round((i * 37) % 100000) / 100,
      ok: i % 17 !== 0,
    },
  };
}

function documentOf(i: number): Document {
  const sentence = `The ${w(i)} team reviewed the ${w(i * 3)} request and scheduled a ${w(i * 5)} follow-up. `;
  return { _id: i, title: `Document ${i}: ${w(i)} ${w(i * 11)}`, body: sentence.repeat(1 + (i % 4)) + `${hex(i)} ${hex(i * 3)} ${hex(i * 7)}`, score: ((i * 2654435761) % 1000000) / 1000000 };
}

/** Fills `database` to about `targetMb` MB of documents (as BSON); returns the bytes inserted. */
async function generate(client: MongoClient, database: string, targetMb: number): Promise<number> {
  const db = client.db(database);
  await db.collection('orders').createIndex({ customerId: 1 });
  const target = targetMb * 1024 * 1024;
  let bytes = 0;
  let shown = 0;
  for (let next = 1; bytes < target; next += BATCH) {
    const ids = Array.from({ length: BATCH }, (_, k) => next + k);
    const batches: [string, Document[]][] = [
      ['orders', ids.map(order)],
      ['events', ids.map(event)],
      ['documents', ids.filter((i) => i % 2 === 0).map(documentOf)],
    ];
    await Promise.all(batches.map(([name, docs]) => db.collection(name).insertMany(docs, { ordered: false })));
    for (const [, docs] of batches) for (const doc of docs) bytes += BSON.calculateObjectSize(doc);
    if (bytes - shown > target / 4 || bytes >= target) {
      log(`  ${database}: ~${mb(bytes)} of ${targetMb} MB`);
      shown = bytes;
    }
  }
  return bytes;
}
