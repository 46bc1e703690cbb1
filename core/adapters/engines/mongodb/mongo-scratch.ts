import { randomBytes } from 'node:crypto';
import type { ScratchProvider } from '../../../ports/scratch-target.js';
import { ConfigError, RestoreFailedError, RunConflictError } from '../../../errors.js';
import { collectionsOf, withClient } from './mongodb-client.js';
import { parseMongoUrl, type MongoConnection } from './mongodb-connection.js';
import { MongoRestoredProbe } from './mongo-restored-probe.js';
import { startMongoScratchServer } from './mongo-scratch-server.js';

/** MongoDB scratch targets: a throwaway server (mongod, else FerretDB), or a new database on a server the user names. */
export const mongoScratch: ScratchProvider = {
  engine: 'mongodb',

  async start({ signal }) {
    const server = await startMongoScratchServer(signal);
    return {
      url: server.url,
      description: `throwaway ${server.version} (socket ${server.socket})`,
      probe: new MongoRestoredProbe(parseMongoUrl(server.url)),
      destroy: () => server.stop(),
    };
  },

  /**
   * MongoDB has no empty databases and no comment to mark one with: the scratch database comes
   * into being with the restore's first collection, and one that already holds a collection is
   * refused, a stopped drill's leftover included (a drill cannot tell it from a user's).
   */
  async onServer(url, { signal }) {
    const connection = parseMongoUrl(url);
    if (!connection.database) throw new ConfigError(`--scratch ${connection.display}: name the scratch database in the URL (mongodb://host/vaultra_drill_${randomBytes(3).toString('hex')}); the drill creates and drops it`);
    const held = await withClient(connection, async (client) => collectionsOf(client.db(connection.database!)), fail('look at', connection), signal);
    if (held.length > 0) {
      throw new RunConflictError(`scratch database ${connection.display} already holds ${held.length} collection(s): name a database that does not exist (e.g. vaultra_drill_${randomBytes(3).toString('hex')}); a drill creates and drops its own`);
    }
    let dropped: Promise<string | undefined> | undefined;
    return {
      url,
      description: `scratch database ${connection.display}`,
      probe: new MongoRestoredProbe(connection),
      destroy: () =>
        (dropped ??= withClient(connection, (client) => client.db(connection.database!).dropDatabase(), fail('drop', connection)).then(
          () => undefined,
          (error: Error) => error.message,
        )),
    };
  },
};

function fail(what: string, connection: MongoConnection): (reason: string) => Error {
  return (reason) => new RestoreFailedError(`could not ${what} scratch database ${connection.display}: ${reason}`, '');
}
