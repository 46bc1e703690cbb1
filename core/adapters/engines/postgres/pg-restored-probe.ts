import type { ContentEntry } from '../../../ports/database-engine.js';
import type { ObservedEntry, RestoredProbe, SchemaInventory } from '../../../ports/scratch-target.js';
import { RestoreFailedError } from '../../../errors.js';
import type { ToolExit } from '../../process/child-process.js';
import type { PostgresConnection } from './postgres-connection.js';
import { lastLine, psql } from './postgres-psql.js';

const USER_SCHEMA = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'`;

/**
 * Every user relation as `kind<TAB>scannable<TAB>schema.name` (relkind letters, partitions
 * included). A materialized view created `WITH NO DATA` is restored unpopulated, as pg_dump
 * found it: reading it is an error, and it holds no rows to count.
 */
const RELATIONS_SQL = `select c.relkind::text || E'\\t' || (c.relkind <> 'm' or c.relispopulated)::text || E'\\t' || n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and ${USER_SCHEMA};`;

/** The schema objects a drill proves present, as `kind<TAB>name`; routines an extension owns are the extension's, not the backup's. */
const INVENTORY_SQL = `
select 'views' || E'\\t' || n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'v' and ${USER_SCHEMA}
union all select 'materializedViews' || E'\\t' || n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'm' and ${USER_SCHEMA}
union all select 'sequences' || E'\\t' || n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'S' and ${USER_SCHEMA}
union all select 'routines' || E'\\t' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where ${USER_SCHEMA} and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
union all select 'triggers' || E'\\t' || n.nspname || '.' || c.relname || '.' || t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace where not t.tgisinternal and ${USER_SCHEMA}
union all select 'indexes' || E'\\t' || n.nspname || '.' || c.relname from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace where ${USER_SCHEMA};`;

/**
 * Reads a restored PostgreSQL database through psql. User checks run in a read-only transaction
 * (`default_transaction_read_only`), so a check cannot change what the next check reads.
 */
export class PostgresRestoredProbe implements RestoredProbe {
  constructor(private readonly connection: PostgresConnection) {}

  async observe(entries: readonly ContentEntry[], signal?: AbortSignal): Promise<(ObservedEntry | undefined)[]> {
    const present = new Map(
      (await this.#run(RELATIONS_SQL, signal, 'list the restored relations'))
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [kind, scannable] = line.split('\t', 2) as [string, string];
          return [line.slice(kind.length + scannable.length + 2), { kind, scannable: scannable === 'true' }] as const;
        }),
    );
    const countable = (entry: ContentEntry) => /^[rpmf]$/.test(present.get(nameOf(entry))?.kind ?? '');
    const counted = entries.filter((entry) => countable(entry) && present.get(nameOf(entry))!.scannable);
    const counts = counted.length === 0 ? [] : (await this.#run(counted.map((entry) => `select count(*) from ${quoted(entry)};`).join('\n'), signal, 'count the restored rows')).split('\n').filter(Boolean);
    const rowsOf = new Map<string, number>(entries.filter(countable).map((entry) => [nameOf(entry), 0]));
    counted.forEach((entry, i) => rowsOf.set(nameOf(entry), Number(counts[i])));
    return entries.map((entry) => {
      if (!present.has(nameOf(entry))) return undefined;
      const rows = rowsOf.get(nameOf(entry));
      return rows === undefined ? {} : { rows };
    });
  }

  async inventory(signal?: AbortSignal): Promise<SchemaInventory> {
    const found: Record<keyof SchemaInventory, string[]> = { views: [], materializedViews: [], sequences: [], routines: [], triggers: [], indexes: [], events: [] };
    for (const line of (await this.#run(INVENTORY_SQL, signal, 'list the restored schema objects')).split('\n').filter(Boolean)) {
      const [kind, name] = line.split('\t') as [keyof SchemaInventory, string];
      found[kind].push(name);
    }
    return found;
  }

  async query(text: string, signal?: AbortSignal): Promise<string> {
    const readOnly = { ...this.connection, env: { ...this.connection.env, PGOPTIONS: '-c default_transaction_read_only=on' } };
    const out = await psql(readOnly, text, signal, (exit) => new RestoreFailedError(`the check's query failed: ${lastLine(exit)}`, exit.stderrTail));
    return out.split('\n')[0]?.trim() ?? '';
  }

  #run(sql: string, signal: AbortSignal | undefined, what: string): Promise<string> {
    return psql(this.connection, sql, signal, (exit: ToolExit) => new RestoreFailedError(`could not ${what} in ${this.connection.display}: ${lastLine(exit)}`, exit.stderrTail));
  }
}

function nameOf(entry: ContentEntry): string {
  return `${entry.schema ?? 'public'}.${entry.name}`;
}

function quoted(entry: ContentEntry): string {
  const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
  return `${ident(entry.schema ?? 'public')}.${ident(entry.name)}`;
}
