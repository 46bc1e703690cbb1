/**
 * Table locks that stop a backup. `describe` counts rows and pg_dump takes ACCESS SHARE locks on
 * every table before it reads; both wait behind an ACCESS EXCLUSIVE lock (a migration's ALTER
 * TABLE, VACUUM FULL, a forgotten `LOCK TABLE` in an idle transaction) — without a limit, for
 * ever. Both now give up after the lock timeout, and the error names what holds the lock.
 */
import { DumpFailedError } from '../../../errors.js';
import { runTool, type ToolExit } from '../../process/child-process.js';
import type { PostgresConnection } from './postgres-connection.js';
import { pgTool } from './pg-tools.js';

/** How long a backup waits for a table lock by default. */
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/**
 * What holds or waits for ACCESS EXCLUSIVE locks in the current database (the only mode that
 * conflicts with ACCESS SHARE), other than this session. Reading pg_locks takes no table lock.
 */
export const LOCK_HOLDERS_SQL = `
select coalesce(json_agg(json_build_object(
  'table', format('%I.%I', n.nspname, c.relname),
  'granted', l.granted,
  'pid', a.pid,
  'user', a.usename,
  'application', a.application_name,
  'state', a.state,
  'since', to_char(coalesce(a.xact_start, a.query_start) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
) order by l.granted desc, a.pid), '[]'::json)
from pg_locks l
join pg_stat_activity a on a.pid = l.pid
join pg_class c on c.oid = l.relation
join pg_namespace n on n.oid = c.relnamespace
where l.locktype = 'relation'
  and l.mode = 'AccessExclusiveLock'
  and l.database = (select oid from pg_database where datname = current_database())
  and a.pid <> pg_backend_pid();`;

interface LockHolder {
  readonly table: string;
  readonly granted: boolean;
  readonly pid: number;
  readonly user: string | null;
  readonly application: string | null;
  readonly state: string | null;
  readonly since: string | null;
}

/** `SET lock_timeout` for psql's queries: a statement waiting longer for a lock fails. */
export function lockTimeoutSql(timeoutMs: number): string {
  return `SET lock_timeout = '${Math.max(1, Math.round(timeoutMs))}ms';\n`;
}

/** Whether a tool failed because a lock wait hit its timeout (psql's lock_timeout, pg_dump's --lock-wait-timeout). */
export function isLockTimeout(exit: ToolExit): boolean {
  return /canceling statement due to (lock|statement) timeout|could not obtain lock/i.test(exit.stderrTail);
}

/**
 * The error for a lock wait that timed out: `what` (e.g. `cannot read PostgreSQL database
 * host/db`), the timeout, and each lock in the way with its session, asked of the server now.
 * Never rejects: if the server cannot say, the error says only what timed out.
 */
export async function lockTimeoutError(connection: PostgresConnection, what: string, timeoutMs: number, exit: ToolExit): Promise<DumpFailedError> {
  const holders = await lockHolders(connection).catch(() => [] as LockHolder[]);
  const waited = `gave up waiting ${formatMs(timeoutMs)} for a table lock`;
  const blockers = holders.length > 0 ? holders.map(describeHolder).join('; ') : `the table${tableOf(exit) ? ` ${tableOf(exit)}` : ''} is locked by another session`;
  return new DumpFailedError(`${what}: ${waited}: ${blockers}; end that session's transaction, or wait longer with --lock-timeout`, exit.stderrTail);
}

async function lockHolders(connection: PostgresConnection): Promise<LockHolder[]> {
  const out = await runTool(pgTool('psql'), ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password'], {
    env: { ...process.env, ...connection.env },
    input: LOCK_HOLDERS_SQL,
    onFailure: () => new Error('pg_locks could not be read'),
    signal: AbortSignal.timeout(10_000),
    stopSignal: 'SIGINT',
  });
  return JSON.parse(out) as LockHolder[];
}

function describeHolder(holder: LockHolder): string {
  const session = [holder.user && `user ${holder.user}`, holder.application && `application ${holder.application}`, holder.state && `${holder.state}${holder.since ? ` since ${holder.since}` : ''}`]
    .filter(Boolean)
    .join(', ');
  return `${holder.table} is ${holder.granted ? 'locked ACCESS EXCLUSIVE by' : 'about to be locked ACCESS EXCLUSIVE by'} pid ${holder.pid}${session ? ` (${session})` : ''}`;
}

/** The table pg_dump was locking, from its stderr (`Query was: LOCK TABLE public.t IN ACCESS SHARE MODE`). */
function tableOf(exit: ToolExit): string | undefined {
  return /LOCK TABLE (?:ONLY )?(\S+?),? /i.exec(exit.stderrTail)?.[1];
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
