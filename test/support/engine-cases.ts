/**
 * One small source per engine, for tests that are about what happens around a backup (damage,
 * missing objects, location checks) rather than about the engine's own round trip: a source to
 * back up, fresh absent restore targets, and what a restore left behind.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDatabase, dropDatabase, uniqueDatabaseName } from './pg-fixtures.js';
import { psqlQuery, quoteLiteral, type PgConnection } from './psql.js';
import { sqliteExec } from './sqlite-fixtures.js';

export type CaseEngine = 'postgres' | 'directory' | 'sqlite';

export interface EngineCase {
  readonly engine: CaseEngine;
  /** The data object a default backup (zstd, age) writes. */
  readonly dataName: string;
  /** The source URL to back up. */
  readonly source: string;
  /** A restore target that does not exist yet. */
  newTarget(): Promise<string>;
  /** What a restore into `target` left behind: the target itself, temp folders or files beside it. Empty when nothing. */
  leftovers(target: string): Promise<string[]>;
  /** Removes what the case created outside `root` (databases). */
  cleanup(): Promise<void>;
}

/** A database with one small table; targets are fresh database names, dropped by `cleanup`. */
export async function postgresCase(pg: PgConnection): Promise<EngineCase> {
  const source = uniqueDatabaseName('case_src');
  const names = [source];
  await createDatabase(pg, source);
  await psqlQuery(pg, source, 'CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 500) g;');
  const url = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  return {
    engine: 'postgres',
    dataName: 'data.pgdump.zst.age',
    source: url(source),
    async newTarget() {
      const name = uniqueDatabaseName('case_to');
      names.push(name);
      return url(name);
    },
    async leftovers(target) {
      const name = new URL(target).pathname.slice(1);
      const exists = await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(name)}`);
      return exists === '1' ? [`database ${name}`] : [];
    },
    async cleanup() {
      for (const name of names) await dropDatabase(pg, name).catch(() => undefined);
    },
  };
}

/** A folder with a few files; each target is `out` in a fresh folder of its own, so anything beside it shows. */
export async function directoryCase(root: string): Promise<EngineCase> {
  const source = join(root, 'dir-source');
  await mkdir(join(source, 'sub'), { recursive: true });
  await writeFile(join(source, 'a.txt'), 'a\n');
  await writeFile(join(source, 'sub', 'b.bin'), Buffer.alloc(200_000, 7));
  return {
    engine: 'directory',
    dataName: 'data.tar.zst.age',
    source: `dir:${source}`,
    newTarget: async () => `dir:${join(await mkdtemp(join(root, 'dir-target-')), 'out')}`,
    leftovers: (target) => entriesBeside(target.slice('dir:'.length)),
    cleanup: async () => undefined,
  };
}

/** A SQLite file with one table; each target is `out.db` in a fresh folder of its own. */
export async function sqliteCase(root: string): Promise<EngineCase> {
  const source = join(root, 'case-source.db');
  await sqliteExec(source, "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT); INSERT INTO items (label) VALUES ('a'), ('b'), ('c');");
  return {
    engine: 'sqlite',
    dataName: 'data.sqlite.zst.age',
    source: `sqlite:${source}`,
    newTarget: async () => `sqlite:${join(await mkdtemp(join(root, 'sqlite-target-')), 'out.db')}`,
    leftovers: (target) => entriesBeside(target.slice('sqlite:'.length)),
    cleanup: async () => undefined,
  };
}

/** Everything in the folder that holds `path` (the target, or a temp file or folder beside it). */
async function entriesBeside(path: string): Promise<string[]> {
  const parent = join(path, '..');
  if (!existsSync(parent)) return [];
  return (await readdir(parent)).sort();
}
