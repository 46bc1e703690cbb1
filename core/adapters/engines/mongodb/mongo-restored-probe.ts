import type { MongoClient } from 'mongodb';
import type { ContentEntry } from '../../../ports/database-engine.js';
import type { ObservedEntry, RestoredProbe, SchemaInventory } from '../../../ports/scratch-target.js';
import { RestoreFailedError } from '../../../errors.js';
import { collectionsOf, loadDriver, userDatabases, withClient } from './mongodb-client.js';
import type { MongoConnection } from './mongodb-connection.js';
import { checkValueText, parseMongoCheck } from './mongo-check-query.js';

/**
 * Reads a restored MongoDB through the driver. Into a named database (`--scratch`) every
 * collection of the backup lands there, whatever its source database was called; into a whole
 * instance (a throwaway server) each keeps its own database, the manifest entry's `schema`.
 * Documents are counted exactly (`countDocuments`), not from collection metadata as a backup's
 * manifest records them. Checks only read (a pipeline with `$out` or `$merge` is refused).
 */
export class MongoRestoredProbe implements RestoredProbe {
  constructor(private readonly connection: MongoConnection) {}

  observe(entries: readonly ContentEntry[], signal?: AbortSignal): Promise<(ObservedEntry | undefined)[]> {
    return this.#read('count the restored documents', signal, async (client) => {
      const listed = new Map<string, Map<string, string>>();
      const typesIn = async (database: string) => {
        if (!listed.has(database)) listed.set(database, new Map((await collectionsOf(client.db(database))).map((c) => [c.name, c.type])));
        return listed.get(database)!;
      };
      const observed: (ObservedEntry | undefined)[] = [];
      for (const entry of entries) {
        const database = this.connection.database ?? entry.schema ?? '';
        const type = (await typesIn(database)).get(entry.name);
        if (type === undefined) observed.push(undefined);
        else if (type === 'view') observed.push({});
        else observed.push({ rows: await client.db(database).collection(entry.name).countDocuments({}) });
      }
      return observed;
    });
  }

  inventory(signal?: AbortSignal): Promise<SchemaInventory> {
    return this.#read('list the restored indexes', signal, async (client) => {
      const views: string[] = [];
      const indexes: string[] = [];
      for (const database of await this.#databases(client)) {
        for (const { name, type } of await collectionsOf(client.db(database))) {
          if (type === 'view') {
            views.push(`${database}.${name}`);
            continue;
          }
          // Every collection has `_id_`: only the indexes someone made say something about the restore.
          for (const index of await client.db(database).collection(name).indexes()) if (index.name !== '_id_') indexes.push(`${database}.${name}.${index.name}`);
        }
      }
      return { views, materializedViews: [], sequences: [], routines: [], triggers: [], indexes, events: [] };
    });
  }

  async query(text: string, signal?: AbortSignal): Promise<string> {
    const driver = await loadDriver();
    const check = parseMongoCheck(text, driver);
    return withClient(
      this.connection,
      async (client) => {
        const database = check.database ?? this.connection.database ?? (await this.#onlyDatabase(client));
        const collection = client.db(database).collection(check.collection);
        if (check.filter) return String(await collection.countDocuments(check.filter));
        const [first] = await collection.aggregate(check.pipeline!).limit(1).toArray();
        return checkValueText(first, driver);
      },
      (reason) => new RestoreFailedError(`the check's query failed: ${reason}`, ''),
      signal,
    );
  }

  async #databases(client: MongoClient): Promise<string[]> {
    return this.connection.database ? [this.connection.database] : userDatabases(client);
  }

  /** The database a check without `database` reads: the restore's only one. */
  async #onlyDatabase(client: MongoClient): Promise<string> {
    const databases = await userDatabases(client);
    if (databases.length === 1) return databases[0]!;
    throw new Error(`the restore holds ${databases.length} databases (${databases.join(', ') || 'none'}): name one in the check, {"database": "…", …}`);
  }

  #read<T>(what: string, signal: AbortSignal | undefined, work: (client: MongoClient) => Promise<T>): Promise<T> {
    return withClient(this.connection, work, (reason) => new RestoreFailedError(`could not ${what} in the scratch MongoDB: ${reason}`, ''), signal);
  }
}
