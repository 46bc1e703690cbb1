/**
 * PostgreSQL round trips through the built CLI (`dist/vaultra.mjs`), against the run's real
 * PostgreSQL server: backup → list → verify → restore into a new database, compared by
 * content (per-table row counts and checksums) and by schema objects, plus compression
 * variants, refusal and --force, selective restore, dry runs, a backup under concurrent
 * writes, `restore latest` and `catalog rebuild`.
 *
 * Every test has its own temp folder (store, identity, state); passwords reach the CLI only
 * through PGPASSWORD, never argv.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import {
  ACCOUNTS_TOTAL,
  VARIED_TYPES_ROWS,
  accountsTotal,
  createDatabase,
  dropDatabase,
  loadVariedTypesFixture,
  schemaObjects,
  startConcurrentWriter,
  tableFingerprints,
  uniqueDatabaseName,
} from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery, psqlRows, quoteLiteral } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { RUN_ID, type BackupJson, type RestoreJson, type RunJson } from '../support/cli-json.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

describe('postgres round trip through the CLI', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !tools) return;

  const source = uniqueDatabaseName('rt_src');
  const databases = new Set<string>([source]);
  let root = '';
  let sourcePrints: Awaited<ReturnType<typeof tableFingerprints>> = {};
  let sourceObjects: string[] = [];

  /** A database name to restore into (or create); dropped after the file. */
  const newDatabase = (prefix: string): string => {
    const name = uniqueDatabaseName(prefix);
    databases.add(name);
    return name;
  };

  /** `postgres://user@host:port/db` — no password: it travels in PGPASSWORD. */
  const urlOf = (database: string): string => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;

  /** A temp folder of its own for a test: storage, identity, state; no ~/.config, no inherited VAULTRA_*. */
  const workspace = (name: string): Workspace => makeWorkspace(root, name, pgEnv(pg, 'postgres'));

  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });

  const backup = async (ws: Workspace, database: string, extra: string[] = []): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', urlOf(database), '--to', ws.storeUrl, '--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };

  const restore = (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<VaultraResult> =>
    vaultra(ws, ['restore', ref, '--from', ws.storeUrl, '--target', urlOf(target), ...extra]);

  const restoreOk = async (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<RestoreJson> => {
    const result = await restore(ws, ref, target, ['--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RestoreJson;
  };

  const list = async (ws: Workspace, extra: string[] = []): Promise<RunJson[]> => {
    const result = await vaultra(ws, ['list', '--from', ws.storeUrl, '--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RunJson[];
  };

  /** `<store>/<job>/YYYY/MM/DD/<runId>`, computed from the run id (the documented layout). */
  const runFolderOf = (ws: Workspace, job: string, runId: string): string =>
    join(ws.store, job, runId.slice(0, 4), runId.slice(4, 6), runId.slice(6, 8), runId);

  const readManifest = (ws: Workspace, job: string, runId: string): Record<string, unknown> & {
    compression: { id: string; level: number; implementation: string };
    encryption: { format: string; recipients: Record<string, unknown>[] };
    objects: { name: string; sizeBytes: number; sha256: string }[];
    runId: string;
  } => JSON.parse(readFileSync(join(runFolderOf(ws, job, runId), 'manifest.json'), 'utf8'));

  const databaseExists = async (name: string): Promise<boolean> =>
    (await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(name)}`)) === '1';

  const recipientOfIdentity = (ws: Workspace): string => {
    const text = readFileSync(join(ws.dir, 'config', 'vaultra', 'identity.txt'), 'utf8');
    const match = /public key: (age1[0-9a-z]+)/.exec(text);
    expect(match, 'identity file carries its public key comment').not.toBeNull();
    return match![1]!;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-pg-rt-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    sourcePrints = await tableFingerprints(pg, source);
    sourceObjects = await schemaObjects(pg, source);
  });

  afterAll(async () => {
    for (const name of databases) await dropDatabase(pg, name);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up, lists, verifies and restores the varied-types database into a new database, content and schema equal', async () => {
    const ws = workspace('full');
    const taken = await backup(ws, source);
    expect(taken).toMatchObject({ job: source, status: 'succeeded', engine: 'postgres' });
    expect(taken.runId).toMatch(RUN_ID);
    expect(taken.bytesRaw).toBeGreaterThan(0);
    expect(taken.bytesStored).toBeGreaterThan(0);
    expect(taken.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof taken.durationMs).toBe('number');
    expect(taken.durationMs).toBeGreaterThanOrEqual(0);
    const folder = runFolderOf(ws, source, taken.runId);
    expect(fileURLToPath(taken.location)).toBe(folder);
    // Default settings: zstd-compressed pg_dump custom archive, age-encrypted.
    expect(existsSync(join(folder, 'data.pgdump.zst.age'))).toBe(true);
    const manifest = readManifest(ws, source, taken.runId);
    expect(manifest.objects).toEqual([expect.objectContaining({ name: 'data.pgdump.zst.age', sizeBytes: taken.bytesStored, sha256: taken.sha256 })]);
    expect(manifest.plaintextBytes).toBe(taken.bytesRaw);
    expect(JSON.stringify(manifest) + JSON.stringify(taken)).not.toContain(pg.password);

    const listed = await list(ws);
    expect(listed.map((r) => r.runId)).toEqual([taken.runId]);
    expect(listed[0]).toMatchObject({ job: source, kind: 'backup', status: 'succeeded', sha256: taken.sha256, bytesStored: taken.bytesStored });

    const verified = await vaultra(ws, ['verify', taken.runId, '--from', ws.storeUrl]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(taken.sha256!);

    const target = newDatabase('rt_full');
    expect(await databaseExists(target)).toBe(false);
    const restored = await restoreOk(ws, taken.runId, target);
    expect(restored).toMatchObject({ runId: taken.runId, job: source, engine: 'postgres', dryRun: false, status: 'restored', replaced: [] });
    expect(restored.bytesRaw).toBe(taken.bytesRaw);
    expect(await databaseExists(target)).toBe(true);

    const targetPrints = await tableFingerprints(pg, target);
    for (const [table, rows] of Object.entries(VARIED_TYPES_ROWS)) expect(targetPrints[table]?.rows, table).toBe(rows);
    expect(targetPrints['sales.daily_revenue']?.rows).toBeGreaterThan(0);
    expect(targetPrints).toEqual(sourcePrints);
    const targetObjects = await schemaObjects(pg, target);
    expect(targetObjects).toEqual(sourceObjects);
    expect(targetObjects).toEqual(
      expect.arrayContaining([
        'public.active_customers:view',
        'sales.daily_revenue:matview',
        'sales.orders_open_idx:index',
        'sales.orders.orders_customer_id_fkey:constraint-f',
        'sales.order_count(customer integer):function',
        'sales.order_status:enum',
      ]),
    );
    // Identity/serial sequences continue where the source's were.
    const nextIds = 'SELECT last_value FROM public.customers_id_seq; SELECT last_value FROM public.blobs_id_seq';
    expect(await psqlQuery(pg, target, nextIds)).toBe(await psqlQuery(pg, source, nextIds));
  });

  it('triggers survive the round trip', async () => {
    // The varied-types fixture has no trigger: a small database that has one.
    const db = newDatabase('rt_trig');
    await createDatabase(pg, db);
    await psqlQuery(
      pg,
      db,
      `CREATE TABLE public.items (id int PRIMARY KEY, name text, updated int NOT NULL DEFAULT 0);
       CREATE FUNCTION public.bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated := OLD.updated + 1; RETURN NEW; END $$;
       CREATE TRIGGER items_bump BEFORE UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION public.bump();
       INSERT INTO public.items (id, name) SELECT i, 'item ' || i FROM generate_series(1, 50) i;
       UPDATE public.items SET name = name || '!' WHERE id <= 10;`,
    );
    const ws = workspace('trigger');
    const taken = await backup(ws, db);
    const target = newDatabase('rt_trig_to');
    await restoreOk(ws, taken.runId, target);
    expect(await schemaObjects(pg, target)).toEqual(await schemaObjects(pg, db));
    expect(await schemaObjects(pg, target)).toContain('public.items.items_bump:trigger');
    expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, db));
    // The restored trigger works.
    await psqlQuery(pg, target, 'UPDATE public.items SET name = name WHERE id = 1');
    expect(await psqlQuery(pg, target, 'SELECT updated FROM public.items WHERE id = 1')).toBe('2');
  });

  it.each([
    { compression: 'gzip', level: '4', suffix: '.gz' },
    { compression: 'none', level: undefined, suffix: '' },
  ])('round trips with --compression $compression and records it in the manifest', async ({ compression, level, suffix }) => {
    const ws = workspace(`compression-${compression}`);
    const taken = await backup(ws, source, ['--compression', compression, ...(level ? ['--level', level] : [])]);
    expect(taken.compression?.id).toBe(compression);

    const manifest = readManifest(ws, source, taken.runId);
    expect(manifest.runId).toBe(taken.runId);
    expect(manifest.compression.id).toBe(compression);
    expect(manifest.compression.level).toBe(level ? Number(level) : 0);
    expect(manifest.compression.implementation).toEqual(expect.any(String));
    expect(manifest.compression.implementation.length).toBeGreaterThan(0);
    if (compression === 'none') expect(manifest.compression.implementation).toBe('none');
    else expect(manifest.compression.implementation).toMatch(/pigz|zlib/);
    // Encryption recipients: public ids only, the one of this test's default identity.
    expect(manifest.encryption).toEqual({ format: 'age-v1', recipients: [{ type: 'x25519', recipient: recipientOfIdentity(ws) }] });
    expect(JSON.stringify(manifest)).not.toMatch(/AGE-SECRET-KEY/i);
    expect(manifest.objects).toEqual([{ name: `data.pgdump${suffix}.age`, role: 'data', sizeBytes: taken.bytesStored, sha256: taken.sha256 }]);
    if (compression === 'none') {
      // age adds a header and 16 bytes per 64 KiB chunk; nothing else shrinks or grows it.
      expect(taken.bytesStored).toBeGreaterThan(taken.bytesRaw);
      expect(taken.bytesStored).toBeLessThan(taken.bytesRaw + 4096 + Math.ceil(taken.bytesRaw / 65536) * 16);
    } else {
      expect(taken.bytesStored).toBeLessThan(taken.bytesRaw);
    }

    const target = newDatabase(`rt_${compression}`);
    await restoreOk(ws, taken.runId, target);
    expect(await tableFingerprints(pg, target)).toEqual(sourcePrints);
  });

  it('refuses a non-empty target without --force (exit 6, target unchanged) and replaces it with --force', async () => {
    const ws = workspace('force');
    const taken = await backup(ws, source);
    const target = newDatabase('rt_force');
    await restoreOk(ws, taken.runId, target);

    // Change the target: one row modified, one deleted, one table added.
    await psqlQuery(
      pg,
      target,
      `UPDATE public.customers SET email = 'changed@example.test' WHERE id = 7;
       DELETE FROM sales.order_lines WHERE order_id = 10 AND line_no = 2;
       CREATE TABLE public.extra (id int);`,
    );
    const before = await tableFingerprints(pg, target);
    const beforeObjects = await schemaObjects(pg, target);
    expect(before['public.customers']).not.toEqual(sourcePrints['public.customers']);

    const refused = await restore(ws, taken.runId, target);
    expect(refused.code, refused.stderr).toBe(6);
    const lines = refused.stderr.trim().split('\n');
    expect(lines, refused.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: /);
    expect(lines[0]).toContain('--force');
    expect(refused.stdout).toBe('');
    expect(await tableFingerprints(pg, target)).toEqual(before);
    expect(await schemaObjects(pg, target)).toEqual(beforeObjects);

    const forced = await restoreOk(ws, taken.runId, target, ['--force']);
    expect(forced.replaced).toEqual(expect.arrayContaining(['public.customers', 'sales.order_lines']));
    const after = await tableFingerprints(pg, target);
    // Everything the backup holds is back as it was; the table it does not hold is left alone.
    const { 'public.extra': extra, ...restoredTables } = after;
    expect(extra).toEqual({ rows: 0, md5: expect.any(String) });
    expect(restoredTables).toEqual(sourcePrints);
    expect((await schemaObjects(pg, target)).filter((o) => !o.startsWith('public.extra'))).toEqual(sourceObjects);
  });

  // pg_restore's -n/-t never restore CREATE SCHEMA entries, so the engine creates the selected
  // schemas in the target first.
  it('restores only the named table into a new database (--tables sales.order_lines)', async () => {
    const ws = workspace('selective-table');
    const taken = await backup(ws, source);
    const target = newDatabase('rt_one_table');
    const restored = await restoreOk(ws, taken.runId, target, ['--tables', 'sales.order_lines']);
    expect(restored.restored.map((c) => `${c.schema}.${c.name}`)).toEqual(['sales.order_lines']);
    const prints = await tableFingerprints(pg, target);
    expect(Object.keys(prints)).toEqual(['sales.order_lines']);
    expect(prints['sales.order_lines']).toEqual(sourcePrints['sales.order_lines']);
  });

  it('a selective restore checks the whole backup before it touches the target (damaged tail: exit 3, nothing restored)', async () => {
    // pg_restore -t stops reading once it has its table and commits: without a full check
    // first, a damaged end of the object would be found only after the table was restored.
    // a_first's data comes first in the archive; z_big's megabytes follow, so the damage at
    // the end lies far past everything pg_restore needs for a_first.
    const db = newDatabase('rt_selective_src');
    await createDatabase(pg, db);
    await psqlQuery(pg, db, `CREATE TABLE public.a_first (id int PRIMARY KEY, note text);
      INSERT INTO public.a_first SELECT i, 'row ' || i FROM generate_series(1, 100) i;
      CREATE TABLE public.z_big (id int PRIMARY KEY, h text);
      INSERT INTO public.z_big SELECT i, md5(i::text) FROM generate_series(1, 200000) i;`);
    const ws = workspace('selective-damaged');
    const taken = await backup(ws, db);
    const target = newDatabase('rt_selective_damaged');
    await restoreOk(ws, taken.runId, target);
    await psqlQuery(pg, target, 'DROP TABLE public.a_first;');
    const before = await tableFingerprints(pg, target);

    const data = join(runFolderOf(ws, db, taken.runId), 'data.pgdump.zst.age');
    const bytes = readFileSync(data);
    bytes[bytes.length - 20]! ^= 0xff;
    writeFileSync(data, bytes);

    const result = await restore(ws, taken.runId, target, ['--tables', 'public.a_first']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await tableFingerprints(pg, target)).toEqual(before);
  });

  it('refuses cleanly to restore a schema whose foreign keys point outside the selection into a new database', async () => {
    // sales.orders references public.customers: without it, no restore of --schemas sales alone
    // can succeed. It must fail as one transaction: a clear line, and no database left behind.
    const ws = workspace('selective-schema');
    const taken = await backup(ws, source);
    const target = newDatabase('rt_one_schema');
    const result = await restore(ws, taken.runId, target, ['--schemas', 'sales']);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: pg_restore .* failed, nothing was changed .*relation "public\.customers" does not exist.*selective restore needs what the selection references/);
    expect((await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = '${target}'`)).trim()).toBe('0');
  });

  it('restores a dropped table, or an emptied schema, into a database that still has the rest', async () => {
    const ws = workspace('selective-existing');
    const taken = await backup(ws, source);
    const target = newDatabase('rt_selective');
    await restoreOk(ws, taken.runId, target);

    // One table lost: bring back only it, no --force needed (nothing it restores collides).
    await psqlQuery(pg, target, 'DROP TABLE sales.order_lines; UPDATE public.customers SET name = NULL WHERE id = 1;');
    const untouched = await tableFingerprints(pg, target);
    const oneTable = await restoreOk(ws, taken.runId, target, ['--tables', 'sales.order_lines']);
    expect(oneTable.restored.map((c) => `${c.schema}.${c.name}`)).toEqual(['sales.order_lines']);
    expect(oneTable.replaced).toEqual([]);
    const afterTable = await tableFingerprints(pg, target);
    expect(afterTable['sales.order_lines']).toEqual(sourcePrints['sales.order_lines']);
    // Only that table came back: the change elsewhere is still there.
    const { 'sales.order_lines': _restored, ...rest } = afterTable;
    expect(rest).toEqual(untouched);
    expect(afterTable['public.customers']).not.toEqual(sourcePrints['public.customers']);

    // A whole schema lost (its folder still there): bring back only that schema.
    await psqlQuery(pg, target, 'DROP SCHEMA sales CASCADE; CREATE SCHEMA sales;');
    const publicOnly = await tableFingerprints(pg, target);
    expect(Object.keys(publicOnly).some((t) => t.startsWith('sales.'))).toBe(false);
    const oneSchema = await restoreOk(ws, taken.runId, target, ['--schemas', 'sales']);
    expect(oneSchema.restored.length).toBeGreaterThan(0);
    expect(oneSchema.restored.every((c) => c.schema === 'sales')).toBe(true);
    const afterSchema = await tableFingerprints(pg, target);
    for (const table of Object.keys(sourcePrints).filter((t) => t.startsWith('sales.'))) expect(afterSchema[table], table).toEqual(sourcePrints[table]);
    for (const table of Object.keys(publicOnly)) expect(afterSchema[table], table).toEqual(publicOnly[table]);
    expect(await schemaObjects(pg, target)).toEqual(expect.arrayContaining(['sales.order_status:enum', 'sales.orders.orders_customer_id_fkey:constraint-f', 'sales.daily_revenue:matview']));
  });

  it('--dry-run checks the backup and writes nothing, into an existing or a missing database', async () => {
    const ws = workspace('dry-run');
    const taken = await backup(ws, source);
    const target = newDatabase('rt_dry');
    await restoreOk(ws, taken.runId, target);
    await psqlQuery(pg, target, "UPDATE public.customers SET name = 'dry run must not undo this' WHERE id = 3");
    const before = await tableFingerprints(pg, target);
    const beforeObjects = await schemaObjects(pg, target);

    const dry = await restoreOk(ws, taken.runId, target, ['--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, status: 'checked', runId: taken.runId });
    expect(dry.bytesRaw).toBe(taken.bytesRaw);
    expect(dry.replaced).toEqual(expect.arrayContaining(['public.customers', 'sales.orders']));
    expect(await tableFingerprints(pg, target)).toEqual(before);
    expect(await schemaObjects(pg, target)).toEqual(beforeObjects);

    const missing = newDatabase('rt_dry_missing');
    const dryMissing = await restoreOk(ws, taken.runId, missing, ['--dry-run']);
    expect(dryMissing).toMatchObject({ dryRun: true, replaced: [] });
    expect(await databaseExists(missing)).toBe(false);
  });

  it('takes a consistent snapshot while a writer commits transfers', async () => {
    const db = newDatabase('rt_busy');
    await createDatabase(pg, db);
    // Big enough that the dump takes a moment while the writer keeps committing.
    await psqlQuery(
      pg,
      db,
      `CREATE TABLE public.events (id bigint PRIMARY KEY, h text NOT NULL, pad text NOT NULL);
       INSERT INTO public.events SELECT i, md5(i::text), repeat(chr(97 + i % 26), 120) FROM generate_series(1, 300000) i;`,
      { timeoutMs: 180_000 },
    );
    const writer = await startConcurrentWriter(pg, db, { pauseMs: 2 });
    const tickerCount = () => psqlQuery(pg, db, `SELECT count(*) FROM public.ticker WHERE payload LIKE ${quoteLiteral(`${writer.tag}:%`)}`).then(Number);
    let taken: BackupJson;
    let countBefore: number;
    let countAfter: number;
    const ws = workspace('consistency');
    try {
      countBefore = await tickerCount();
      taken = await backup(ws, db);
      countAfter = await tickerCount();
    } finally {
      await writer.stop();
    }
    // The writer really was writing during the dump.
    expect(countAfter).toBeGreaterThan(countBefore);
    expect(await accountsTotal(pg, db)).toBe(ACCOUNTS_TOTAL);

    const target = newDatabase('rt_busy_to');
    await restoreOk(ws, taken.runId, target);
    expect(await accountsTotal(pg, target)).toBe(ACCOUNTS_TOTAL);
    const restoredTicks = (await psqlRows(pg, target, `SELECT split_part(payload, ':', 2)::bigint FROM public.ticker WHERE payload LIKE ${quoteLiteral(`${writer.tag}:%`)} ORDER BY 1`)).map(
      ([n]) => Number(n),
    );
    expect(restoredTicks.length).toBeGreaterThanOrEqual(countBefore);
    expect(restoredTicks.length).toBeLessThanOrEqual(countAfter);
    // One snapshot: the writer's transactions 1..N, no gap, and exactly their transfers.
    expect(restoredTicks).toEqual(Array.from({ length: restoredTicks.length }, (_, k) => k + 1));
    let moved = 0;
    for (const i of restoredTicks) moved += (i % 13) - 6;
    expect(await psqlQuery(pg, target, 'SELECT balance FROM public.accounts ORDER BY id')).toBe(`${ACCOUNTS_TOTAL / 2 - moved}\n${ACCOUNTS_TOTAL / 2 + moved}`);
    const sourceEvents = (await tableFingerprints(pg, db))['public.events'];
    expect(sourceEvents?.rows).toBe(300000);
    expect((await tableFingerprints(pg, target))['public.events']).toEqual(sourceEvents);
  });

  it('restore latest picks the newest backup of the job; with two jobs it asks for --job', async () => {
    const db = newDatabase('rt_latest');
    await createDatabase(pg, db);
    await psqlQuery(pg, db, `CREATE TABLE public.t (id int PRIMARY KEY, v text); INSERT INTO public.t SELECT i, 'v' || i FROM generate_series(1, 100) i;`);
    const ws = workspace('latest');
    const first = await backup(ws, db);
    await psqlQuery(pg, db, `INSERT INTO public.t SELECT i, 'w' || i FROM generate_series(101, 150) i; UPDATE public.t SET v = 'changed' WHERE id = 1;`);
    const second = await backup(ws, db);
    const secondState = await tableFingerprints(pg, db);
    expect(secondState['public.t']?.rows).toBe(150);

    const listed = await list(ws);
    expect(listed.map((r) => r.runId)).toEqual([second.runId, first.runId]);

    const target = newDatabase('rt_latest_to');
    const restored = await restoreOk(ws, 'latest', target);
    expect(restored.runId).toBe(second.runId);
    expect(await tableFingerprints(pg, target)).toEqual(secondState);

    // A second job in the same store: latest is ambiguous without --job.
    const other = await backup(ws, db, ['--job', 'other-job']);
    expect(other.job).toBe('other-job');
    const ambiguous = await restore(ws, 'latest', newDatabase('rt_latest_amb'));
    expect(ambiguous.code, ambiguous.stderr).toBe(2);
    expect(ambiguous.stderr).toContain('--job');
    expect(ambiguous.stderr.trim().split('\n')).toHaveLength(1);

    const byJob = newDatabase('rt_latest_job');
    const withJob = await restoreOk(ws, 'latest', byJob, ['--job', db]);
    expect(withJob.runId).toBe(second.runId);
    expect(await tableFingerprints(pg, byJob)).toEqual(secondState);
  });

  it('restore latest picks the newer of two backups taken back to back', async () => {
    // Run ids carry the start time to the millisecond, so back-to-back backups (well under a
    // second apart) still sort in the order they were taken.
    const db = newDatabase('rt_back_to_back');
    await createDatabase(pg, db);
    await psqlQuery(pg, db, `CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t SELECT generate_series(1, 10);`);
    const ws = workspace('back-to-back');
    const first = await backup(ws, db);
    await psqlQuery(pg, db, 'INSERT INTO public.t SELECT generate_series(11, 20)');
    const second = await backup(ws, db);
    const secondState = await tableFingerprints(pg, db);
    expect(second.runId > first.runId).toBe(true);

    const target = newDatabase('rt_back_to_back_to');
    const restored = await restoreOk(ws, 'latest', target);
    expect(restored.runId).toBe(second.runId);
    expect(await tableFingerprints(pg, target)).toEqual(secondState);
  });

  // list reads the location itself (the storage is the truth) and shows a backup the catalog has
  // no record of from its manifest; catalog rebuild puts the records back.
  it('catalog rebuild re-creates the records from the manifests in storage; list shows the stored backups with or without them', async () => {
    const ws = workspace('catalog');
    const first = await backup(ws, source, ['--compression', 'none']);
    const second = await backup(ws, source, ['--compression', 'gzip']);
    const listed = await list(ws);
    expect(listed.map((r) => r.runId)).toEqual([second.runId, first.runId]);
    const catalog = join(ws.store, '.vaultra', 'catalog');
    const recorded = () => [first, second].filter((taken) => existsSync(join(catalog, source, `${taken.runId}.json`))).map((taken) => taken.runId);
    expect(recorded()).toEqual([first.runId, second.runId]);

    const expectBothListed = (runs: RunJson[]) => {
      expect(runs.map((r) => r.runId)).toEqual([second.runId, first.runId]);
      for (const [run, taken] of [
        [runs[0]!, second],
        [runs[1]!, first],
      ] as const) {
        expect(run).toMatchObject({ job: source, kind: 'backup', status: 'succeeded', engine: 'postgres', sha256: taken.sha256, bytesStored: taken.bytesStored, bytesRaw: taken.bytesRaw });
      }
    };

    rmSync(catalog, { recursive: true, force: true });
    expect(recorded()).toEqual([]);
    expectBothListed(await list(ws));

    const rebuilt = await vaultra(ws, ['catalog', 'rebuild', '--from', ws.storeUrl, '--json']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toEqual({ recorded: 2, unchanged: 0 });
    expect(recorded()).toEqual([first.runId, second.runId]);
    expectBothListed(await list(ws));

    // Rebuilding again changes nothing.
    const again = await vaultra(ws, ['catalog', 'rebuild', '--from', ws.storeUrl, '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ recorded: 0, unchanged: 2 });
  });
});

