import { randomBytes } from 'node:crypto';
import type { ScratchProvider, ScratchTarget } from '../../../ports/scratch-target.js';
import { RestoreFailedError, RunConflictError } from '../../../errors.js';
import type { ToolExit } from '../../process/child-process.js';
import { parsePostgresUrl, type PostgresConnection } from './postgres-connection.js';
import { lastLine, psql } from './postgres-psql.js';
import { maintenance } from './postgres-restore-target.js';
import { PostgresRestoredProbe } from './pg-restored-probe.js';
import { SCRATCH_ROLE, startScratchServer } from './pg-scratch-server.js';
import { untilAcceptingConnections } from './pg-server-ready.js';

/** What a drill writes on the databases it creates, so a drill stopped before its cleanup can be told from a user's database. */
const DRILL_MARK = 'vaultra drill scratch database: dropped when the drill ends';

/** PostgreSQL scratch targets: a throwaway cluster, or a database created on a server the user names. */
export const postgresScratch: ScratchProvider = {
  engine: 'postgres',

  async start({ signal }) {
    const server = await startScratchServer(signal);
    const url = `postgres://${SCRATCH_ROLE}@localhost/drill?host=${encodeURIComponent(server.socketDir)}&port=${server.port}`;
    return {
      url,
      description: `throwaway PostgreSQL ${server.version} (socket in ${server.socketDir})`,
      probe: new PostgresRestoredProbe(parsePostgresUrl(url)),
      destroy: () => server.stop(),
    };
  },

  async onServer(url, { signal }) {
    const connection = parsePostgresUrl(url);
    const fail = (what: string) => (exit: ToolExit) => new RestoreFailedError(`could not ${what} scratch database ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
    const server = maintenance(connection);
    // A drill task's scratch server may still be starting: a Container Apps job starts its
    // containers in no order (on ECS the runner waits for the server's health check, and this
    // costs one call).
    await untilAcceptingConnections(server, { signal });
    // One line when the database exists (its comment after the colon), none when it does not.
    const found = (await psql(server, `select 'exists:' || coalesce(shobj_description(oid, 'pg_database'), '') from pg_database where datname = :'name';`, signal, fail('look for'), { name: connection.database })).trim();
    if (found !== '' && found !== `exists:${DRILL_MARK}`) throw existsError(connection);
    if (found !== '') await dropDatabase(server, connection, fail("drop the earlier drill's"));
    await psql(server, 'CREATE DATABASE :"name";', signal, fail('create'), { name: connection.database });
    await psql(server, 'COMMENT ON DATABASE :"name" IS :\'mark\';', signal, fail('mark'), { name: connection.database, mark: DRILL_MARK });
    return scratchDatabase(url, connection, () => dropDatabase(server, connection, fail('drop')));
  },
};

function scratchDatabase(url: string, connection: PostgresConnection, drop: () => Promise<void>): ScratchTarget {
  let dropped: Promise<string | undefined> | undefined;
  return {
    url,
    description: `scratch database ${connection.display}`,
    probe: new PostgresRestoredProbe(connection),
    destroy: () => (dropped ??= drop().then(() => undefined, (error: Error) => error.message)),
  };
}

/** `WITH (FORCE)` ends a check's session still connected (PostgreSQL 13 and later). */
async function dropDatabase(server: PostgresConnection, connection: PostgresConnection, onFailure: (exit: ToolExit) => Error): Promise<void> {
  await psql(server, 'DROP DATABASE IF EXISTS :"name" WITH (FORCE);', undefined, onFailure, { name: connection.database });
}

function existsError(connection: PostgresConnection): RunConflictError {
  return new RunConflictError(`scratch database ${connection.display} already exists and no drill made it: name a database that does not exist (e.g. vaultra_drill_${randomBytes(3).toString('hex')}); a drill creates and drops its own`);
}
