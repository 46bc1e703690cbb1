import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';
import { ParsedConnection } from '../engine-connection.js';
import { parsePgDataUrl, parsePostgresUrl, type PostgresConnection } from './postgres-connection.js';
import { pgTool, type PgToolName } from './pg-tools.js';

/** A PostgreSQL source or target, parsed once: libpq environment variables (credentials included) and a safe display. */
export type PostgresSource = ParsedConnection<'postgres', PostgresConnection>;

const PG_CLIENT = 'apt-get install postgresql-client (macOS: brew install libpq, or postgresql@<major>)';
/** Found where the engine runs them from: PATH, else PostgreSQL's versioned folders (Homebrew, PGDG, Debian). */
const PG_PROBE = { command: (name: string) => pgTool(name as PgToolName) };

/** PostgreSQL: what it is (see `PostgresEngine` for what it does). Imports nothing heavy. */
export const postgresDescriptor = {
  id: 'postgres',
  label: 'PostgreSQL',
  schemes: ['postgres', 'postgresql', 'pgdata'],
  urlForms: ['postgres://…/db', 'pgdata:/path (restore target of a physical backup)'],
  targetForm: 'postgres://…/<db>',
  tools: [
    { anyOf: ['pg_dump'], neededFor: ['backup'], purpose: 'backups', install: PG_CLIENT, probe: PG_PROBE },
    { anyOf: ['pg_restore'], neededFor: ['restore', 'verify'], purpose: 'restores and verify', install: PG_CLIENT, probe: PG_PROBE },
    { anyOf: ['psql'], neededFor: ['backup', 'restore'], purpose: 'server version, contents, create database', install: PG_CLIENT, probe: PG_PROBE },
    { anyOf: ['pg_basebackup'], neededFor: ['logs'], purpose: 'point-in-time recovery: physical bases (--method physical)', install: PG_CLIENT, probe: PG_PROBE },
    { anyOf: ['pg_receivewal'], neededFor: ['logs'], purpose: 'point-in-time recovery: WAL pushes', install: PG_CLIENT, probe: PG_PROBE },
  ],
  contentKinds: ['table', 'view', 'materialized-view', 'sequence'],
  capabilities: { atomicRestore: true, selections: ['tables', 'schemas'], consistency: 'one REPEATABLE READ snapshot for the whole dump' },
  artifactName: 'pgdump',
  parse(url: string): PostgresSource {
    const connection = /^pgdata:/i.test(url) ? parsePgDataUrl(url) : parsePostgresUrl(url);
    return new ParsedConnection('postgres', connection, connection.display);
  },
  secret: { rdsEngines: { postgres: 'postgres', postgresql: 'postgres', 'aurora-postgresql*': 'postgres' } },
} as const satisfies EngineDescriptor;
