import { randomBytes } from 'node:crypto';
import type { ScratchProvider } from '../../../ports/scratch-target.js';
import { RestoreFailedError, RunConflictError } from '../../../errors.js';
import type { ToolExit } from '../../process/child-process.js';
import { describeExit, queryJson, quoteName, stringLiteral } from './mysql-client.js';
import { parseMysqlDatabaseUrl, withDatabase } from './mysql-connection.js';
import { MysqlRestoredProbe } from './mysql-restored-probe.js';
import { startMysqlScratchServer } from './mysql-scratch-server.js';

/** MySQL/MariaDB scratch targets: a throwaway MariaDB started from the installed server, or a new database on a server the user names. */
export const mysqlScratch: ScratchProvider = {
  engine: 'mysql',
  async start({ signal }) {
    const server = await startMysqlScratchServer(signal);
    const url = `mariadb://${server.user}@localhost/drill?socket=${encodeURIComponent(server.socket)}`;
    return {
      url,
      description: `throwaway MariaDB ${server.version.replace(/-MariaDB.*$/, '')} (socket ${server.socket})`,
      probe: new MysqlRestoredProbe(parseMysqlDatabaseUrl(url)),
      destroy: () => server.stop(),
    };
  },

  /**
   * The restore creates the database; the drill drops it. MySQL has no comment on a database to
   * mark it as a drill's, so one that exists is refused, a stopped drill's leftover included (a
   * scheduled drill's sidecar is a fresh server every time: it never has one).
   */
  async onServer(url, { signal }) {
    const connection = parseMysqlDatabaseUrl(url);
    const server = withDatabase(connection, undefined);
    const fail = (what: string) => (exit: ToolExit) => new RestoreFailedError(`could not ${what} scratch database ${connection.display}: ${describeExit(exit)}`, exit.stderrTail);
    const found = await queryJson(server, `SELECT JSON_OBJECT('name', SCHEMA_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${stringLiteral(connection.database)};`, { signal, onFailure: fail('look for') });
    if (found.length > 0) {
      throw new RunConflictError(`scratch database ${connection.display} already exists: name a database that does not exist (e.g. vaultra_drill_${randomBytes(3).toString('hex')}); a drill creates and drops its own`);
    }
    let dropped: Promise<string | undefined> | undefined;
    return {
      url,
      description: `scratch database ${connection.display}`,
      probe: new MysqlRestoredProbe(connection),
      destroy: () =>
        (dropped ??= queryJson(server, `DROP DATABASE IF EXISTS ${quoteName(connection.database)};`, { onFailure: fail('drop') }).then(
          () => undefined,
          (error: Error) => error.message,
        )),
    };
  },
};
