import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';
import { ParsedConnection } from '../engine-connection.js';
import { parseMysqlDatabaseUrl, type MysqlTarget } from './mysql-connection.js';

/** A MySQL/MariaDB source or target, parsed once: the connection (credentials included), always naming a database. */
export type MysqlSource = ParsedConnection<'mysql', MysqlTarget>;

const MARIADB_CLIENT = 'apt-get install mariadb-client (or the MySQL client: mysql-client)';

/** MySQL and MariaDB: what the engine is (see `MysqlEngine` for what it does). Imports nothing heavy. */
export const mysqlDescriptor = {
  id: 'mysql',
  label: 'MySQL/MariaDB',
  schemes: ['mysql', 'mariadb'],
  urlForms: ['mysql://…/db', 'mariadb://…/db'],
  targetForm: 'mysql://…/<db>',
  tools: [
    { anyOf: ['mariadb-dump', 'mysqldump'], neededFor: ['backup'], purpose: 'backups', install: MARIADB_CLIENT },
    { anyOf: ['mariadb', 'mysql'], neededFor: ['backup', 'restore'], purpose: 'restores, server version, contents', install: MARIADB_CLIENT },
    { anyOf: ['mariadb-binlog', 'mysqlbinlog'], neededFor: ['logs'], purpose: 'point-in-time recovery: binary-log pushes and replays', install: MARIADB_CLIENT },
  ],
  contentKinds: ['table', 'view', 'sequence', 'routine', 'event'],
  capabilities: {
    atomicRestore: false,
    selections: ['tables'],
    consistency: 'one consistent InnoDB snapshot (--single-transaction); non-transactional tables are read without a lock',
  },
  artifactName: 'sql',
  parse(url: string): MysqlSource {
    const connection = parseMysqlDatabaseUrl(url);
    return new ParsedConnection('mysql', connection, connection.display);
  },
  secret: { rdsEngines: { mysql: 'mysql', aurora: 'mysql', 'aurora-mysql*': 'mysql', mariadb: 'mariadb' } },
} as const satisfies EngineDescriptor;
