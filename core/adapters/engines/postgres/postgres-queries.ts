/** Catalog queries the PostgreSQL engine runs through psql. Kept apart so they can be read as SQL. */

const USER_RELATIONS = `
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname not like 'pg_toast%'
    and n.nspname not like 'pg_temp%'
    and not c.relispartition`;

/**
 * Server version and the contents list, as one JSON line. Rows are counted exactly for tables
 * under ~10 MB (cheap) and taken from planner statistics above that (rowsExact: false).
 */
export const DESCRIBE_SQL = `
select json_build_object(
  'version', current_setting('server_version'),
  'database', current_database(),
  'contents', coalesce((
    select json_agg(json_build_object(
      'kind', case c.relkind when 'v' then 'view' when 'm' then 'materialized-view' when 'S' then 'sequence' else 'table' end,
      'schema', n.nspname,
      'name', c.relname,
      'rows', case
        when c.relkind not in ('r', 'p', 'm') then null
        when c.relpages < 1280 and (c.relkind <> 'm' or c.relispopulated) then
          (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint
        when c.reltuples >= 0 then c.reltuples::bigint
      end,
      'rowsExact', case when c.relkind not in ('r', 'p', 'm') then null else c.relpages < 1280 end
    ) order by n.nspname, c.relname)
    ${USER_RELATIONS}
  ), '[]'::json)
);`;

export const DATABASE_EXISTS_SQL = `select 1 from pg_database where datname = :'name';`;

/** Every user relation of the current database as `schema.name`, one per line. */
export const TARGET_OBJECTS_SQL = `select n.nspname || '.' || c.relname ${USER_RELATIONS} order by 1;`;
