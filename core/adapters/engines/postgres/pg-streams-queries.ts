/**
 * Catalog queries of the streamed dump and restore (pg-streams/v1). Kept apart so they can be
 * read as SQL. Both sides list a table's columns the same way — every column that holds data
 * (not dropped, not generated), in `attname COLLATE "C"` order — so a table stream's columns
 * need no header: the restore computes the same list from the schema it restored, whatever
 * order the columns have there (inheritance children may differ from the source).
 */

/** Tables whose rows pg_dump's data section holds, as this engine streams them one by one. */
const STREAMED_TABLE_FILTER = `
  c.relkind = 'r'                 -- plain tables and leaf partitions (not partitioned parents, views, foreign tables)
  and c.relpersistence <> 't'     -- not temporary tables
  and not (c.relpersistence = 'u' and pg_is_in_recovery())  -- a standby cannot read unlogged tables; pg_dump skips their rows there too
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg\\_toast%'
  and n.nspname not like 'pg\\_temp%'
  -- extension members: pg_dump leaves their rows to CREATE EXTENSION, except configuration
  -- tables (pg_extension.extconfig), which it dumps with the extension's own filter: those stay
  -- in data-rest, where pg_dump applies that filter.
  and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')`;

const DATA_COLUMNS = `
  (select string_agg(quote_ident(a.attname), ', ' order by a.attname collate "C")
     from pg_attribute a
     where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '')`;

/**
 * In the exporting session, right after `pg_export_snapshot()`: one JSON line with the snapshot's
 * position and every table to stream (largest first, so parallel dumps and restores start the
 * long ones early): its name, its `schema.table` quoted for SQL, its data columns, its primary
 * key columns in key order, and the planner's correlation of the key's first column (how close
 * the physical order is to key order).
 */
export const STREAMED_TABLES_SQL = `
select json_build_object(
  'lsn', case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end,
  'xmin', txid_snapshot_xmin(txid_current_snapshot())::text,
  'tables', coalesce((
    select json_agg(t order by t.pages desc, t.schema collate "C", t.name collate "C")
    from (
      select n.nspname as schema, c.relname as name,
        format('%I.%I', n.nspname, c.relname) as qualified,
        c.relpages as pages,
        ${DATA_COLUMNS} as columns,
        (select string_agg(quote_ident(a.attname), ', ' order by k.ord)
           from pg_constraint con
           cross join unnest(con.conkey) with ordinality as k(attnum, ord)
           join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
           where con.conrelid = c.oid and con.contype = 'p') as key,
        (select s.correlation
           from pg_constraint con
           join pg_attribute a on a.attrelid = c.oid and a.attnum = con.conkey[1]
           join pg_stats s on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = a.attname
           where con.conrelid = c.oid and con.contype = 'p') as correlation
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where ${STREAMED_TABLE_FILTER}
    ) t
  ), '[]'::json)
)::jsonb; -- jsonb: its text form is one line, as the session's reader expects`;

/**
 * In the restore target, once its schema is restored: every table a table stream may load, with
 * its `schema.table` (to find its stream) and the COPY statement that loads it.
 */
export const RESTORED_TABLES_SQL = `
select coalesce(json_agg(json_build_object(
  'schema', n.nspname,
  'name', c.relname,
  'copy', format('COPY %I.%I%s FROM STDIN', n.nspname, c.relname, coalesce(' (' || ${DATA_COLUMNS} || ')', ''))
)), '[]'::json)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where ${STREAMED_TABLE_FILTER};`;
