import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContentEntry } from '../../../ports/database-engine.js';
import type { ObservedEntry, RestoredProbe, SchemaInventory, ScratchProvider } from '../../../ports/scratch-target.js';
import { RestoreFailedError } from '../../../errors.js';
import { describeExit, quoteIdentifier, sqlite } from './sqlite-cli.js';
import { tableChecksums } from './sqlite-checksums.js';

/** SQLite scratch targets: a file in a private temp folder, removed with the folder. */
export const sqliteScratch: ScratchProvider = {
  engine: 'sqlite',
  async start() {
    const folder = await mkdtemp(join(tmpdir(), 'vaultra-drill-sqlite-'));
    const path = join(folder, 'drill.db');
    return {
      url: `sqlite:${path}`,
      description: `scratch file ${path}`,
      probe: new SqliteRestoredProbe(path),
      destroy: () => rm(folder, { recursive: true, force: true }).then(() => undefined, (error: Error) => `could not remove ${folder}: ${error.message}`),
    };
  },
};

/** Reads a restored SQLite file with the sqlite3 CLI, read-only: user checks cannot change it. */
class SqliteRestoredProbe implements RestoredProbe {
  constructor(private readonly path: string) {}

  async observe(entries: readonly ContentEntry[], signal?: AbortSignal): Promise<(ObservedEntry | undefined)[]> {
    const present = new Map((await this.#json<{ type: string; name: string }>(`select type, name from sqlite_schema where type in ('table', 'view');`, signal)).map((o) => [o.name, o.type]));
    const tables = entries.filter((entry) => present.get(entry.name) === 'table');
    const counts = tables.length === 0 ? [] : await this.#json<{ n: number }>(tables.map((t) => `select count(*) as n from ${quoteIdentifier(t.name)}`).join(' union all ') + ';', signal);
    const rows = new Map(tables.map((table, i) => [table.name, counts[i]!.n]));
    return entries.map((entry) => (present.has(entry.name) ? (rows.has(entry.name) ? { rows: rows.get(entry.name)! } : {}) : undefined));
  }

  async inventory(signal?: AbortSignal): Promise<SchemaInventory> {
    const objects = await this.#json<{ type: string; name: string }>(`select type, name from sqlite_schema where name not like 'sqlite_%' and type in ('view', 'trigger', 'index');`, signal);
    const named = (type: string) => objects.filter((o) => o.type === type).map((o) => o.name);
    return { views: named('view'), materializedViews: [], sequences: [], routines: [], triggers: named('trigger'), indexes: named('index'), events: [] };
  }

  async query(text: string, signal?: AbortSignal): Promise<string> {
    const out = await sqlite(this.path, text, { readonly: true, signal, onFailure: (exit) => new RestoreFailedError(`the check's query failed: ${describeExit(exit)}`, exit.stderrTail) });
    return (out.split('\n')[0] ?? '').trim();
  }

  async checksums(tables: readonly string[], signal?: AbortSignal): Promise<(string | undefined)[]> {
    const present = new Set((await this.#json<{ name: string }>(`select name from sqlite_schema where type = 'table';`, signal)).map((o) => o.name));
    const found = await tableChecksums(this.path, tables.filter((table) => present.has(table)), { signal, onFailure: (exit) => new RestoreFailedError(`could not hash the restored tables of ${this.path}: ${describeExit(exit)}`, exit.stderrTail) });
    return tables.map((table) => found[table]);
  }

  async #json<Row>(sql: string, signal?: AbortSignal): Promise<Row[]> {
    const out = await sqlite(this.path, sql, { readonly: true, json: true, signal, onFailure: (exit) => new RestoreFailedError(`could not read the restored ${this.path}: ${describeExit(exit)}`, exit.stderrTail) });
    return JSON.parse(out || '[]') as Row[];
  }
}
