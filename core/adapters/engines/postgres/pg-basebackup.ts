import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import type { DumpOutput } from '../../../ports/database-engine.js';
import { baseLogDetails } from '../../../domain/log-archive.js';
import { DumpFailedError } from '../../../errors.js';
import { spawnTool, toolOutput, toolVersion, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { PostgresConnection } from './postgres-connection.js';
import { INSTALL_HINT, describeExit, lastLine, psql } from './postgres-psql.js';
import { ensureReplicationSlot } from './pg-replication-slot.js';
import { TarMemberWatcher } from './pg-tar-members.js';
import { pgTool } from './pg-tools.js';

export const PHYSICAL_FORMAT = 'pg_basebackup-tar';

/**
 * A physical base backup: `pg_basebackup -D - -Ft -X none --checkpoint=fast`, one tar of the
 * whole cluster on stdout, without WAL (the log pushes archive it) and with the backup manifest
 * inside. Its place in the WAL comes from that tar as it streams by: the start LSN and timeline
 * from `backup_label`, the end LSN from the manifest's `WAL-Ranges` (pg_basebackup does not
 * print them when it writes to stdout). The replication slot is created first, so the server
 * keeps the WAL from the backup's start until a log push archived it.
 *
 * Not `direct`: the bytes pass through this process to be watched. A cluster with tablespaces
 * is refused (pg_basebackup writes only one tar to stdout).
 */
export async function physicalBaseBackup(connection: PostgresConnection, signal?: AbortSignal): Promise<DumpOutput> {
  await ensureReplicationSlot(connection, signal);
  const [version, tool] = await Promise.all([
    toolVersion(pgTool('pg_basebackup')),
    spawnTool(pgTool('pg_basebackup'), ['--pgdata=-', '--format=tar', '--wal-method=none', '--checkpoint=fast', '--no-password', '--verbose'], {
      env: connection.env,
      inherit: TOOL_FAMILY_VARIABLES.postgres,
      installHint: INSTALL_HINT,
    }),
  ]);
  const watcher = new TarMemberWatcher(new Set(['backup_label', 'backup_manifest']));
  const details: Record<string, string> = {};
  const failed = (exit: ToolExit) => new DumpFailedError(`pg_basebackup of ${connection.display} failed (${describeExit(exit)})${basebackupHint(exit)}`, exit.stderrTail);
  const output = toolOutput(tool, failed);
  const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  // The stream ends only once the position is known: a manifest's details are read at its end.
  // Destroying it fails the pipeline, which kills pg_basebackup.
  pipeline(output, watcher, stream, { end: false, ...(signal ? { signal } : {}) })
    .then(() => readPosition(connection, watcher, signal))
    .then(
      (position) => {
        Object.assign(details, baseLogDetails(position));
        stream.end();
      },
      (error: unknown) => stream.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  return {
    stream,
    direct: false,
    pid: tool.child.pid,
    tool: { name: 'pg_basebackup', version: (version ?? 'unknown').replace(/^pg_basebackup \(PostgreSQL\) /, '') },
    format: PHYSICAL_FORMAT,
    consistency: 'pg_basebackup: a physical copy, consistent once WAL is replayed to its end LSN',
    details,
  };
}

interface WalRangeEntry {
  readonly Timeline: number;
  readonly 'Start-LSN': string;
  readonly 'End-LSN': string;
}

async function readPosition(connection: PostgresConnection, watcher: TarMemberWatcher, signal?: AbortSignal) {
  const label = watcher.member('backup_label') ?? '';
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+)/m.exec(label)?.[1];
  const timeline = Number(/^START TIMELINE: (\d+)/m.exec(label)?.[1] ?? '0');
  const manifestTail = watcher.member('backup_manifest') ?? '';
  const ranges = /"WAL-Ranges": (\[[^\]]*\])/.exec(manifestTail)?.[1];
  const end = ranges ? (JSON.parse(ranges) as WalRangeEntry[]).at(-1)?.['End-LSN'] : undefined;
  if (!start || !end || !timeline) {
    throw new DumpFailedError(`pg_basebackup of ${connection.display} gave no backup_label or manifest WAL range: use pg_basebackup 13 or newer, without --no-manifest`, '');
  }
  // The server's time once the backup ended: the earliest time a restore from it can reach.
  const now = await psql(connection, 'SELECT to_json(clock_timestamp())', signal, (exit) => new DumpFailedError(`cannot read the server time of ${connection.display}: ${lastLine(exit)}`, exit.stderrTail));
  return { kind: 'wal' as const, start, consistent: end, consistentAt: new Date(JSON.parse(now) as string), timeline };
}

function basebackupHint(exit: ToolExit): string {
  const text = exit.stderrTail;
  if (/tablespace/i.test(text) && /stdout|standard output/i.test(text)) return ': a cluster with tablespaces cannot be streamed as one tar; back it up with pg_basebackup to a folder and the directory engine';
  if (/no pg_hba\.conf entry for replication|replication connection/i.test(text)) return ': allow the account replication connections in pg_hba.conf (host replication <user> <address> scram-sha-256)';
  if (/must be superuser or replication role|permission denied/i.test(text)) return ': the account needs the REPLICATION attribute (ALTER ROLE … REPLICATION)';
  if (/number of requested standby connections exceeds max_wal_senders|max_wal_senders/i.test(text)) return ': raise max_wal_senders on the server (needs a restart)';
  return '';
}
