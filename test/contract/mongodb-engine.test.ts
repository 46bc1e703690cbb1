import { describe } from 'vitest';
import { MongodbEngine } from '../../core/adapters/engines/mongodb/mongodb-engine.js';
import { dropMongoDatabase, mongoCollections, mongoFingerprints, mongoUrl, uniqueMongoDatabase } from '../support/mongo-fixtures.js';
import { withTestClient } from '../support/mongo-server.js';
import { requireMongo, requireTools } from '../support/requirements.js';
import { databaseEngineContract } from './database-engine.contract.js';

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

describe('MongoDB engine (FerretDB unless VAULTRA_TEST_MONGODB_URI)', () => {
  const mongo = requireMongo();
  if (!mongo || !requireTools('mongodump', 'mongorestore', 'zstd')) return;
  databaseEngineContract('MongodbEngine', async () => {
    const names = [uniqueMongoDatabase('csrc')];
    await withTestClient(mongo.url, async (client) => {
      const db = client.db(names[0]!);
      await db.collection('items').insertMany(Array.from({ length: 2000 }, (_, i) => ({ n: i, label: `item ${i}`, price: i / 7, tags: [i % 3, i % 5] })));
      await db.collection('items').createIndex({ label: 1 }, { unique: true });
      await db.collection('notes').insertMany(Array.from({ length: 300 }, (_, i) => ({ item: i, body: 'n'.repeat(i % 50), at: new Date(Date.UTC(2026, 0, 1, 0, i)) })));
    });
    return {
      engine: new MongodbEngine(),
      source: mongoUrl(mongo, names[0]!),
      async newTarget() {
        names.push(uniqueMongoDatabase('cto'));
        return mongoUrl(mongo, names.at(-1)!);
      },
      snapshot: (url) => mongoFingerprints(mongo, databaseOf(url)),
      leftovers: async (target) => (await mongoCollections(mongo, databaseOf(target))).map((c) => `${databaseOf(target)}.${c}`),
      selection: { request: { tables: [`${names[0]!}.items`] }, keeps: (collection) => collection === 'items' },
      async cleanup() {
        for (const name of names) await dropMongoDatabase(mongo, name).catch(() => undefined);
      },
    };
  });
});
