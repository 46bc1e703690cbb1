import { DumpFailedError } from '../../../errors.js';
import type { ToolExit } from '../../process/child-process.js';
import type { PostgresConnection } from './postgres-connection.js';
import { lastLine, psql } from './postgres-psql.js';

/**
 * The physical replication slot that keeps the server's WAL until Vaultra archived it (named by
 * the source URL's `slot` parameter, `vaultra_wal` by default; one per archive of a cluster).
 * Created with `immediately_reserve`, so WAL from the moment it exists is kept: a base backup
 * creates it before it starts, and the first log push finds the base's start still there.
 *
 * Nothing but Vaultra moves it: a catch-up streams without it (pg_receivewal would move it as
 * soon as bytes reach its temp folder, before they are stored) and moves it to the archive's
 * confirmed end at the start of the next push. The price: a slot nobody pushes for keeps WAL
 * growing on the server (`doctor` warns).
 */
export async function ensureReplicationSlot(connection: PostgresConnection, signal?: AbortSignal): Promise<void> {
  await psql(
    connection,
    `SELECT pg_create_physical_replication_slot(:'slot', true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = :'slot');`,
    signal,
    slotFailure(connection, 'cannot create replication slot'),
    { slot: connection.replicationSlot },
  );
}

/**
 * Lets the server drop WAL before `lsn` (the archive's end: stored, signed, catalogued). Never
 * moves the slot backwards, and never past what the server has written.
 */
export async function advanceReplicationSlot(connection: PostgresConnection, lsn: string, signal?: AbortSignal): Promise<void> {
  await psql(
    connection,
    `SELECT pg_replication_slot_advance(:'slot', least(:'lsn'::pg_lsn, pg_current_wal_flush_lsn()))
       FROM pg_replication_slots WHERE slot_name = :'slot' AND restart_lsn < least(:'lsn'::pg_lsn, pg_current_wal_flush_lsn());`,
    signal,
    slotFailure(connection, 'cannot advance replication slot'),
    { slot: connection.replicationSlot, lsn },
  );
}

function slotFailure(connection: PostgresConnection, what: string): (exit: ToolExit) => DumpFailedError {
  return (exit) => {
    const privilege = /permission denied|must be superuser|replication role/i.test(exit.stderrTail) ? ': the account needs the REPLICATION attribute (ALTER ROLE … REPLICATION)' : '';
    return new DumpFailedError(`${what} ${connection.replicationSlot} on ${connection.display}: ${lastLine(exit)}${privilege}`, exit.stderrTail);
  };
}
