import { describe } from 'vitest';
import { MysqlEngine } from '../../core/adapters/engines/mysql/mysql-engine.js';
import { mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import { createMysqlDatabase, dropMysqlDatabase, mysqlDatabaseExists, mysqlFingerprints, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { requireMariadb, requireTools } from '../support/requirements.js';
import { databaseEngineContract } from './database-engine.contract.js';

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

describe('MySQL/MariaDB engine', () => {
  const server = requireMariadb();
  if (!server || !requireTools('mariadb', 'mariadb-dump', 'zstd')) return;
  databaseEngineContract('MysqlEngine', async () => {
    const names = [uniqueMysqlName('contract_src')];
    await createMysqlDatabase(server, names[0]!);
    await mysqlQuery(
      server,
      names[0],
      `CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(64), price DECIMAL(10,2)) ENGINE=InnoDB;
       INSERT INTO items SELECT seq, MD5(seq), seq / 7 FROM seq_1_to_2000;
       CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, item_id INT, body TEXT) ENGINE=InnoDB;
       INSERT INTO notes (item_id, body) SELECT seq, REPEAT('n', seq % 50) FROM seq_1_to_300;`,
    );
    return {
      engine: new MysqlEngine(),
      source: mysqlUrl(server, names[0]!),
      async newTarget() {
        names.push(uniqueMysqlName('contract_to'));
        return mysqlUrl(server, names.at(-1)!);
      },
      snapshot: (url) => mysqlFingerprints(server, databaseOf(url)),
      leftovers: async (target) => ((await mysqlDatabaseExists(server, databaseOf(target))) ? [`database ${databaseOf(target)}`] : []),
      selection: { request: { tables: ['items'] }, keeps: (table) => table === 'items' },
      async cleanup() {
        for (const name of names) await dropMysqlDatabase(server, name).catch(() => undefined);
      },
    };
  });
});
