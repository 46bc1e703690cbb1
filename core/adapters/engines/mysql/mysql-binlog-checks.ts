import { DumpFailedError } from '../../../errors.js';
import type { ServerCheck } from '../../../ports/log-archiver.js';
import type { ToolExit } from '../../process/child-process.js';
import { lastLine } from './mysql-client.js';
import type { MysqlConnection } from './mysql-connection.js';
import { BINLOG_OFF_FIX } from './mysql-binlog-state.js';
import { MysqlSession } from './mysql-session.js';
import { chooseTool, serverFlavor, type Flavor } from './mysql-tools.js';

const DAY_SECONDS = 86_400;

const VARIABLES = ['log_bin', 'binlog_format', 'binlog_row_image', 'server_id', 'expire_logs_days', 'binlog_expire_logs_seconds', 'basedir', 'version', 'version_comment'];

/** What the checks read from the server. */
export interface BinlogServerSettings {
  readonly variables: ReadonlyMap<string, string>;
  /** SHOW GRANTS of the account, one line each. */
  readonly grants: readonly string[];
  /** RDS's `binlog retention hours` (mysql.rds_show_configuration), when the server is RDS and answers. */
  readonly rdsRetentionHours?: number | null;
}

/**
 * The server settings point-in-time recovery needs, one check each: the binary log on, ROW
 * format with FULL images (statement logging replays non-deterministic statements differently),
 * a server id, binlog retention (the archive must catch up before the server purges), and the
 * account's right to read the log (BINLOG MONITOR or REPLICATION CLIENT for its position,
 * REPLICATION SLAVE to stream it).
 */
export async function checkBinlogServer(connection: MysqlConnection, signal?: AbortSignal): Promise<ServerCheck[]> {
  return binlogChecks(await readSettings(connection, signal));
}

/** The checks over settings already read (pure: tested without a server too). */
export function binlogChecks(settings: BinlogServerSettings): ServerCheck[] {
  const v = (name: string) => settings.variables.get(name);
  const flavor: Flavor = serverFlavor(v('version') ?? '');
  const rds = isRds(settings.variables);
  const checks: ServerCheck[] = [];
  const logBin = /^(ON|1)$/i.test(v('log_bin') ?? '');
  checks.push(logBin ? ok('log_bin', 'the binary log is on') : { name: 'log_bin', status: 'fail', detail: 'the binary log is off: nothing to archive', fix: BINLOG_OFF_FIX });

  const format = (v('binlog_format') ?? '').toUpperCase();
  checks.push(
    format === 'ROW'
      ? ok('binlog_format', 'ROW')
      : {
          name: 'binlog_format',
          status: 'warn',
          detail: `${format || 'unknown'}: statements are logged, and a replay re-runs them (non-deterministic ones, and ones naming other databases, can come out differently)`,
          fix: 'SET GLOBAL binlog_format = ROW, and binlog_format=ROW in the server options',
        },
  );
  const image = (v('binlog_row_image') ?? 'FULL').toUpperCase();
  checks.push(
    image === 'FULL'
      ? ok('binlog_row_image', 'FULL')
      : { name: 'binlog_row_image', status: 'warn', detail: `${image}: row events miss columns a replay into a fresh copy can need`, fix: 'SET GLOBAL binlog_row_image = FULL, and binlog_row_image=FULL in the server options' },
  );
  const serverId = Number(v('server_id') ?? 0);
  checks.push(serverId > 0 ? ok('server_id', String(serverId)) : { name: 'server_id', status: 'fail', detail: 'server_id is 0: the server refuses replication clients', fix: 'set server_id to a number unique among your servers (e.g. server_id=1) and restart' });
  checks.push(retentionCheck(settings, rds));
  checks.push(privilegeCheck(settings.grants, flavor));
  return checks;
}

function retentionCheck(settings: BinlogServerSettings, rds: boolean): ServerCheck {
  const name = 'binlog retention';
  if (rds) {
    const hours = settings.rdsRetentionHours;
    if (hours === undefined) return { name, status: 'warn', detail: 'Amazon RDS: mysql.rds_show_configuration did not answer', fix: "check with CALL mysql.rds_show_configuration; set it with CALL mysql.rds_set_configuration('binlog retention hours', 48)" };
    if (hours === null) return { name, status: 'warn', detail: 'Amazon RDS: binlog retention hours is NULL: RDS purges binary logs as soon as it can', fix: "CALL mysql.rds_set_configuration('binlog retention hours', 48), and run logs push more often than that" };
    return hours < 24
      ? { name, status: 'warn', detail: `Amazon RDS: binlog retention hours ${hours}, under a day`, fix: "CALL mysql.rds_set_configuration('binlog retention hours', 48), and run logs push more often than that" }
      : ok(name, `Amazon RDS: binlog retention hours ${hours}`);
  }
  const seconds = Number(settings.variables.get('binlog_expire_logs_seconds') ?? 0);
  const days = Number(settings.variables.get('expire_logs_days') ?? 0);
  // Either may be set; the server uses binlog_expire_logs_seconds when it is non-zero.
  const retention = seconds > 0 ? seconds : days * DAY_SECONDS;
  if (retention === 0) return ok(name, 'binary logs are never purged automatically (watch the disk, or set binlog_expire_logs_seconds)');
  const said = retention % DAY_SECONDS === 0 ? `${retention / DAY_SECONDS} day(s)` : `${retention} s`;
  return retention < DAY_SECONDS
    ? { name, status: 'warn', detail: `binary logs are purged after ${said}, under a day: an archive that falls behind loses changes`, fix: 'SET GLOBAL binlog_expire_logs_seconds = 604800 (7 days; on a managed server without SET GLOBAL, its parameter group), and run logs push more often' }
    : ok(name, `binary logs are kept ${said}`);
}

/** REPLICATION SLAVE streams the log; BINLOG MONITOR (MariaDB 10.5+) or REPLICATION CLIENT reads its position and files. */
function privilegeCheck(grants: readonly string[], flavor: Flavor): ServerCheck {
  const global = grants.filter((grant) => /\bON \*\.\* TO\b/i.test(grant)).map((grant) => grant.replace(/\bON \*\.\* TO\b.*$/i, '').toUpperCase());
  const has = (privilege: string) => global.some((grant) => grant.includes('ALL PRIVILEGES') || new RegExp(`\\b${privilege}\\b`).test(grant));
  const stream = has('REPLICATION SLAVE') || has('REPLICATION REPLICA');
  const position = has('BINLOG MONITOR') || has('REPLICATION CLIENT') || has('SUPER');
  const wanted = flavor === 'mariadb' ? 'BINLOG MONITOR, REPLICATION SLAVE' : 'REPLICATION CLIENT, REPLICATION SLAVE';
  if (stream && position) return ok('replication privileges', `the account may read the binary log (${wanted})`);
  const missing = [...(position ? [] : [flavor === 'mariadb' ? 'BINLOG MONITOR' : 'REPLICATION CLIENT']), ...(stream ? [] : ['REPLICATION SLAVE'])];
  return { name: 'replication privileges', status: 'fail', detail: `the account lacks ${missing.join(' and ')} on *.*`, fix: `GRANT ${wanted} ON *.* TO the backup account` };
}

/** RDS's MySQL/MariaDB live under /rdsdbbin/ (Aurora too); their version comment says so on some releases. */
function isRds(variables: ReadonlyMap<string, string>): boolean {
  return /^\/rdsdbbin\//.test(variables.get('basedir') ?? '') || /\bRDS\b|Amazon/i.test(variables.get('version_comment') ?? '');
}

async function readSettings(connection: MysqlConnection, signal?: AbortSignal): Promise<BinlogServerSettings> {
  const { tool } = await chooseTool('client', connection.scheme);
  const onFailure = (exit: ToolExit) => new DumpFailedError(`cannot read the server settings of ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
  const session = await MysqlSession.open(tool, connection, onFailure);
  const onAbort = () => void session.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const list = VARIABLES.map((name) => `'${name}'`).join(', ');
    const rows = await session.run(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${list});`);
    const variables = new Map(rows.map((line) => line.split('\t') as [string, string]).map(([name, value]) => [name.toLowerCase(), value ?? '']));
    const grants = await session.run('SHOW GRANTS;');
    const rdsRetentionHours = isRds(variables) ? await rdsRetention(session) : undefined;
    return { variables, grants, ...(rdsRetentionHours !== undefined ? { rdsRetentionHours } : {}) };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await session.close();
  }
}

/** RDS's own binlog retention (`binlog retention hours`: a number, or NULL for "purge at once"); undefined when the call fails. */
async function rdsRetention(session: MysqlSession): Promise<number | null | undefined> {
  try {
    const rows = await session.run('CALL mysql.rds_show_configuration;');
    const value = rows.map((line) => line.split('\t')).find(([name]) => name === 'binlog retention hours')?.[1];
    if (value === undefined) return undefined;
    return value === 'NULL' ? null : Number(value);
  } catch {
    return undefined;
  }
}

function ok(name: string, detail: string): ServerCheck {
  return { name, status: 'ok', detail };
}
