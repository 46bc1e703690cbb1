import type { ContentEntry } from '../../../ports/database-engine.js';
import type { ObservedEntry, RestoredProbe, SchemaInventory } from '../../../ports/scratch-target.js';
import { RestoreFailedError } from '../../../errors.js';
import { runTool, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { MysqlTarget } from './mysql-connection.js';
import { describeExit, queryJson, quoteName, stringLiteral } from './mysql-client.js';
import { writeOptionFile } from './mysql-option-file.js';
import { chooseTool, MYSQL_INSTALL_HINT } from './mysql-tools.js';

/** Reads a restored MySQL/MariaDB database through the client. User checks run in a read-only transaction. */
export class MysqlRestoredProbe implements RestoredProbe {
  constructor(private readonly connection: MysqlTarget) {}

  async observe(entries: readonly ContentEntry[], signal?: AbortSignal): Promise<(ObservedEntry | undefined)[]> {
    const db = stringLiteral(this.connection.database);
    const objects = await this.#rows<{ kind: string; name: string }>(
      `SELECT JSON_OBJECT('kind', CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence' ELSE 'table' END, 'name', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${db};
SELECT JSON_OBJECT('kind', 'routine', 'name', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${db};
SELECT JSON_OBJECT('kind', 'event', 'name', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${db};`,
      signal,
    );
    const present = new Set(objects.map((o) => `${o.kind}:${o.name}`));
    const tables = entries.filter((entry) => entry.kind === 'table' && present.has(`table:${entry.name}`));
    const counts = tables.length === 0 ? [] : await this.#rows<{ name: string; rows: number }>(tables.map((t) => `SELECT JSON_OBJECT('name', ${stringLiteral(t.name)}, 'rows', COUNT(*)) FROM ${quoteName(t.name)};`).join('\n'), signal);
    const rows = new Map(counts.map((c) => [c.name, Number(c.rows)]));
    return entries.map((entry) => (present.has(`${entry.kind}:${entry.name}`) ? (rows.has(entry.name) && entry.kind === 'table' ? { rows: rows.get(entry.name)! } : {}) : undefined));
  }

  async inventory(signal?: AbortSignal): Promise<SchemaInventory> {
    const db = stringLiteral(this.connection.database);
    const found = await this.#rows<{ kind: keyof SchemaInventory; name: string }>(
      `SELECT JSON_OBJECT('kind', 'views', 'name', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${db};
SELECT JSON_OBJECT('kind', 'sequences', 'name', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${db} AND TABLE_TYPE = 'SEQUENCE';
SELECT JSON_OBJECT('kind', 'routines', 'name', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${db};
SELECT JSON_OBJECT('kind', 'triggers', 'name', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${db};
SELECT JSON_OBJECT('kind', 'indexes', 'name', CONCAT(TABLE_NAME, '.', INDEX_NAME)) FROM (SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ${db}) i;
SELECT JSON_OBJECT('kind', 'events', 'name', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${db};`,
      signal,
    );
    const named = (kind: keyof SchemaInventory) => found.filter((o) => o.kind === kind).map((o) => o.name);
    return { views: named('views'), materializedViews: [], sequences: named('sequences'), routines: named('routines'), triggers: named('triggers'), indexes: named('indexes'), events: named('events') };
  }

  async query(text: string, signal?: AbortSignal): Promise<string> {
    const { tool } = await chooseTool('client', this.connection.scheme);
    const file = await writeOptionFile(this.connection);
    try {
      const args = [...file.args, '--batch', '--raw', '--skip-column-names', '--default-character-set=utf8mb4', `--database=${this.connection.database}`];
      const out = await runTool(tool.command, args, {
        inherit: TOOL_FAMILY_VARIABLES.mysql,
        input: `SET SESSION TRANSACTION READ ONLY;\nSTART TRANSACTION;\n${text};\nROLLBACK;\n`,
        signal,
        installHint: MYSQL_INSTALL_HINT,
        onFailure: (exit: ToolExit) => new RestoreFailedError(`the check's query failed: ${describeExit(exit)}`, exit.stderrTail),
      });
      return (out.split('\n')[0] ?? '').split('\t')[0]!.trim();
    } finally {
      await file.remove();
    }
  }

  #rows<Row>(sql: string, signal?: AbortSignal): Promise<Row[]> {
    return queryJson<Row>(this.connection, sql, { signal, onFailure: (exit) => new RestoreFailedError(`could not read the restored ${this.connection.display}: ${describeExit(exit)}`, exit.stderrTail) });
  }
}
