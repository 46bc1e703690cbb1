import type { ServerCheck } from '../../../ports/log-archiver.js';
import { DumpFailedError } from '../../../errors.js';
import type { PostgresConnection } from './postgres-connection.js';
import { lastLine, psql } from './postgres-psql.js';

/** A slot holding back more WAL than this while nothing reads it gets a warning. */
const RETAINED_WARN_BYTES = 1024 ** 3;

// pg_settings hides what the account may not read (archive_command): a missing row is "unknown", not an error.
const CHECK_SQL = `
SELECT json_build_object(
  'walLevel', current_setting('wal_level'),
  'maxWalSenders', current_setting('max_wal_senders')::int,
  'maxSlots', current_setting('max_replication_slots')::int,
  'archiveMode', (SELECT setting FROM pg_settings WHERE name = 'archive_mode'),
  'archiveCommand', (SELECT setting FROM pg_settings WHERE name = 'archive_command'),
  'replication', (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user),
  'managed', (SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname IN ('rds_superuser', 'rdsadmin', 'cloudsqlsuperuser', 'azure_pg_admin', 'azuresu')),
  'rdsSettings', EXISTS (SELECT 1 FROM pg_settings WHERE name LIKE 'rds.%'),
  'inRecovery', pg_is_in_recovery(),
  'slot', (SELECT json_build_object('active', active, 'walStatus', wal_status,
             'retainedBytes', CASE WHEN pg_is_in_recovery() OR restart_lsn IS NULL THEN NULL ELSE pg_current_wal_lsn() - restart_lsn END)
           FROM pg_replication_slots WHERE slot_name = :'slot')
);`;

interface Found {
  readonly walLevel: string;
  readonly maxWalSenders: number;
  readonly maxSlots: number;
  readonly archiveMode: string | null;
  readonly archiveCommand: string | null;
  readonly replication: boolean | null;
  readonly managed: string | null;
  readonly rdsSettings: boolean;
  readonly inRecovery: boolean;
  readonly slot: { readonly active: boolean; readonly walStatus: string | null; readonly retainedBytes: number | null } | null;
}

export const MANAGED_FIX = "managed PostgreSQL gives no WAL access: use the provider's point-in-time recovery (RDS automated backups, Cloud SQL PITR, Azure Flexible Server PITR)";

/** What point-in-time recovery needs of a server, for `doctor` (see PostgresLogArchiver). */
export async function checkWalArchiving(connection: PostgresConnection, signal?: AbortSignal): Promise<ServerCheck[]> {
  const out = await psql(connection, CHECK_SQL, signal, (exit) => new DumpFailedError(`cannot read the settings of ${connection.display}: ${lastLine(exit)}`, exit.stderrTail), { slot: connection.replicationSlot });
  const found = JSON.parse(out) as Found;
  const checks: ServerCheck[] = [];
  if (found.managed || found.rdsSettings) {
    const provider = /rds/.test(found.managed ?? 'rds') ? 'Amazon RDS/Aurora' : /cloudsql/.test(found.managed ?? '') ? 'Cloud SQL' : 'Azure Database for PostgreSQL';
    checks.push({ name: 'managed PostgreSQL', status: 'fail', detail: `${provider} detected (${found.managed ?? 'rds.* settings'})`, fix: MANAGED_FIX });
  }
  const walLevelOk = found.walLevel === 'replica' || found.walLevel === 'logical';
  checks.push(walLevelOk ? { name: 'wal_level', status: 'ok', detail: found.walLevel } : { name: 'wal_level', status: 'fail', detail: found.walLevel, fix: "set wal_level = 'replica' and restart the server" });
  checks.push(found.maxWalSenders > 0 ? { name: 'max_wal_senders', status: 'ok', detail: String(found.maxWalSenders) } : { name: 'max_wal_senders', status: 'fail', detail: '0', fix: 'set max_wal_senders = 10 and restart the server' });
  checks.push(found.maxSlots > 0 ? { name: 'max_replication_slots', status: 'ok', detail: String(found.maxSlots) } : { name: 'max_replication_slots', status: 'fail', detail: '0', fix: 'set max_replication_slots = 10 and restart the server' });
  checks.push(
    found.replication
      ? { name: 'replication privilege', status: 'ok', detail: 'the account may stream WAL' }
      : { name: 'replication privilege', status: 'fail', detail: 'the account has neither REPLICATION nor SUPERUSER', fix: 'ALTER ROLE <user> REPLICATION, and a "host replication <user> …" line in pg_hba.conf' },
  );
  if (found.inRecovery) checks.push({ name: 'primary', status: 'fail', detail: 'the server is a standby', fix: 'archive WAL from the primary' });
  checks.push(slotCheck(connection.replicationSlot, found.slot));
  const archiving = found.archiveMode === 'on' || found.archiveMode === 'always';
  checks.push({
    name: 'archive_mode',
    status: 'ok',
    detail: archiving
      ? `${found.archiveMode}, archive_command ${found.archiveCommand ? `'${found.archiveCommand.slice(0, 80)}'` : 'not readable by this account'} (server-side archiving; vaultra logs push is the alternative)`
      : `${found.archiveMode ?? 'unknown'}: WAL is archived by vaultra logs push (catch-up); archive_command = 'vaultra wal push %p' is the server-side alternative`,
  });
  return checks;
}

function slotCheck(name: string, slot: Found['slot']): ServerCheck {
  if (!slot) return { name: `replication slot ${name}`, status: 'warn', detail: 'missing: WAL is kept only from the first backup or push', fix: 'run a physical backup (vaultra backup --method physical) or vaultra logs push: either creates it' };
  if (slot.walStatus === 'lost') return { name: `replication slot ${name}`, status: 'fail', detail: 'the server removed WAL the slot still needed (max_slot_wal_keep_size)', fix: 'take a new physical backup: the archive has a hole' };
  const retained = slot.retainedBytes ?? 0;
  const detail = `${slot.active ? 'active' : 'inactive'}, retaining ${(retained / 1024 ** 2).toFixed(0)} MiB of WAL`;
  if (!slot.active && retained > RETAINED_WARN_BYTES) return { name: `replication slot ${name}`, status: 'warn', detail, fix: `push logs more often, or drop the slot if this archive is abandoned (SELECT pg_drop_replication_slot('${name}')): it keeps WAL on the server` };
  return { name: `replication slot ${name}`, status: 'ok', detail };
}
