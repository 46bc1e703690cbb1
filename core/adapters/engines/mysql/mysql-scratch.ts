import type { ScratchProvider } from '../../../ports/scratch-target.js';
import { parseMysqlDatabaseUrl } from './mysql-connection.js';
import { MysqlRestoredProbe } from './mysql-restored-probe.js';
import { startMysqlScratchServer } from './mysql-scratch-server.js';

/** MySQL/MariaDB scratch targets: a throwaway MariaDB started from the installed server. */
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
};
