/**
 * SQLite round trips through the built CLI (`dist/vaultra.mjs`): backup → verify → restore to
 * a new path, compared by content (per-table row counts and SHA3 hashes) and schema objects;
 * a backup under a concurrent writer; refusal and --force; dry runs that write nothing;
 * compression variants. Every test has its own temp folder (store, identity, state).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';
import {
  SQLITE_ACCOUNTS_TOTAL,
  SQLITE_FIXTURE_ROWS,
  createSqliteFixture,
  sqliteAccountsTotal,
  sqliteExec,
  sqliteFingerprints,
  sqliteJournalMode,
  sqliteSchemaObjects,
  startSqliteWriter,
} from '../support/sqlite-fixtures.js';
import { RUN_ID, type BackupJson, type ManifestJson, type RestoreJson } from '../support/cli-json.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

const sha256File = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('sqlite round trip through the CLI', () => {
  const tools = requireTools('sqlite3', 'zstd');
  if (!tools) return;

  let root = '';
  /** The fixture every read-only test backs up (never written to). */
  let fixture = '';
  let fixturePrints: Awaited<ReturnType<typeof sqliteFingerprints>> = {};
  let fixtureObjects: string[] = [];

  const workspace = (name: string): Workspace => makeWorkspace(root, name);

  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });

  const backup = async (ws: Workspace, path: string, extra: string[] = []): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', `sqlite:${path}`, '--to', ws.storeUrl, '--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };

  const restore = (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<VaultraResult> =>
    vaultra(ws, ['restore', ref, '--from', ws.storeUrl, '--target', `sqlite:${target}`, ...extra]);

  const restoreOk = async (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<RestoreJson> => {
    const result = await restore(ws, ref, target, ['--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RestoreJson;
  };

  const manifestOf = (taken: BackupJson): ManifestJson => JSON.parse(readFileSync(join(fileURLToPath(taken.location), 'manifest.json'), 'utf8')) as ManifestJson;

  const integrity = (path: string): Promise<string> => sqliteExec(path, 'PRAGMA integrity_check;');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-sqlite-rt-'));
    fixture = join(root, 'fixture', 'app.db');
    mkdirSync(join(root, 'fixture'));
    await createSqliteFixture(fixture);
    fixturePrints = await sqliteFingerprints(fixture);
    fixtureObjects = await sqliteSchemaObjects(fixture);
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up, verifies and restores to a new path: same rows, same view, indexes and trigger', async () => {
    const ws = workspace('full');
    const taken = await backup(ws, fixture);
    expect(taken).toMatchObject({ job: 'app', status: 'succeeded', engine: 'sqlite' });
    expect(taken.runId).toMatch(RUN_ID);
    expect(taken.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(taken.bytesRaw).toBeGreaterThan(0);
    expect(taken.bytesStored).toBeGreaterThan(0);
    const folder = fileURLToPath(taken.location);
    expect(folder).toBe(join(ws.store, 'app', taken.runId.slice(0, 4), taken.runId.slice(4, 6), taken.runId.slice(6, 8), taken.runId));
    expect(readdirSync(folder).sort()).toEqual(['data.sqlite.zst.age', 'manifest.json', 'manifest.json.sig']);
    const manifest = manifestOf(taken);
    expect(manifest.source).toMatchObject({ engine: 'sqlite', database: 'app.db' });
    expect(manifest.dump.format).toBe('sqlite-file');
    expect(manifest.objects).toEqual([expect.objectContaining({ name: 'data.sqlite.zst.age', sizeBytes: taken.bytesStored, sha256: taken.sha256 })]);
    expect(manifest.contents).toEqual(
      expect.arrayContaining([
        { kind: 'table', name: 'items', rows: SQLITE_FIXTURE_ROWS.items, rowsExact: true },
        { kind: 'table', name: 'tags', rows: SQLITE_FIXTURE_ROWS.tags, rowsExact: true },
        { kind: 'view', name: 'expensive_items' },
      ]),
    );

    const verified = await vaultra(ws, ['verify', taken.runId, '--from', ws.storeUrl, '--json']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ runId: taken.runId, status: 'verified', sha256: taken.sha256, bytesRaw: taken.bytesRaw });
    expect(JSON.parse(verified.stdout).structure).toMatch(/integrity_check ok/);

    const target = join(ws.dir, 'restored', 'app.db');
    mkdirSync(join(ws.dir, 'restored'));
    const restored = await restoreOk(ws, taken.runId, target);
    expect(restored).toMatchObject({ runId: taken.runId, engine: 'sqlite', dryRun: false, status: 'restored', replaced: [] });
    expect(restored.bytesRaw).toBe(taken.bytesRaw);
    expect(statSync(target).size).toBe(taken.bytesRaw);
    // Only the restored file is in its folder (no temp, -wal or -shm file), before anything opens it.
    expect(readdirSync(join(ws.dir, 'restored'))).toEqual(['app.db']);
    // The source is in WAL mode; VACUUM INTO alone would have restored it in rollback mode.
    expect((await sqliteJournalMode(target)).trim()).toBe('wal');
    expect(await integrity(target)).toBe('ok');
    expect(await sqliteFingerprints(target)).toEqual(fixturePrints);
    const objects = await sqliteSchemaObjects(target);
    expect(objects).toEqual(fixtureObjects);
    expect(objects).toEqual(expect.arrayContaining(['expensive_items:view', 'items_name_idx:index', 'items_created_idx:index', 'items_audit:trigger']));
    // The restored trigger still fires.
    await sqliteExec(target, "INSERT INTO items (id, created_at) VALUES (99999, 'later');");
    expect(await sqliteExec(target, 'SELECT action FROM audit WHERE item_id = 99999;')).toBe('insert');
  });

  it('takes a consistent snapshot while a writer commits transfers', async () => {
    const ws = workspace('consistency');
    const source = join(ws.dir, 'busy.db');
    await createSqliteFixture(source);
    // More data, so the snapshot takes a moment while the writer keeps committing.
    await sqliteExec(
      source,
      `CREATE TABLE events (id INTEGER PRIMARY KEY, h TEXT NOT NULL, pad BLOB NOT NULL);
       WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200000)
       INSERT INTO events SELECT i, hex(i * 2654435761), randomblob(100) FROM s;`,
    );
    const writer = await startSqliteWriter(source, { pauseMs: 1 });
    const tickerCount = async () => Number(await sqliteExec(source, `SELECT count(*) FROM ticker WHERE payload LIKE '${writer.tag}:%';`));
    let taken: BackupJson | undefined;
    let countBefore = 0;
    let countAfter = 0;
    try {
      countBefore = await tickerCount();
      taken = await backup(ws, source);
      countAfter = await tickerCount();
    } finally {
      await writer.stop();
    }
    expect(countAfter).toBeGreaterThan(countBefore);
    expect(await sqliteAccountsTotal(source)).toBe(SQLITE_ACCOUNTS_TOTAL);

    const target = join(ws.dir, 'restored.db');
    await restoreOk(ws, taken.runId, target);
    expect(await integrity(target)).toBe('ok');
    expect(await sqliteAccountsTotal(target)).toBe(SQLITE_ACCOUNTS_TOTAL);
    const ticks = (await sqliteExec(target, `SELECT substr(payload, ${writer.tag.length + 2}) + 0 FROM ticker WHERE payload LIKE '${writer.tag}:%' ORDER BY 1;`))
      .split('\n')
      .filter(Boolean)
      .map(Number);
    expect(ticks.length).toBeGreaterThanOrEqual(countBefore);
    expect(ticks.length).toBeLessThanOrEqual(countAfter);
    // One snapshot: transactions 1..N of the writer, no gap, and exactly their transfers.
    expect(ticks).toEqual(Array.from({ length: ticks.length }, (_, k) => k + 1));
    let moved = 0;
    for (const n of ticks) moved += (n % 13) - 6;
    expect(await sqliteExec(target, 'SELECT balance FROM accounts ORDER BY id;')).toBe(`${SQLITE_ACCOUNTS_TOTAL / 2 - moved}\n${SQLITE_ACCOUNTS_TOTAL / 2 + moved}`);
    // The tables the writer does not touch are exactly the source's.
    const restoredPrints = await sqliteFingerprints(target);
    const sourcePrints = await sqliteFingerprints(source);
    for (const table of ['items', 'audit', 'tags', 'events']) expect(restoredPrints[table], table).toEqual(sourcePrints[table]);
    expect(restoredPrints.events?.rows).toBe(200000);
  });

  it('refuses an existing non-empty target without --force (exit 6, file untouched) and replaces it with --force', async () => {
    const ws = workspace('force');
    const taken = await backup(ws, fixture);
    const target = join(ws.dir, 'existing.db');
    await sqliteExec(target, "CREATE TABLE mine (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO mine VALUES (1, 'keep me');");
    const hashBefore = sha256File(target);

    const refused = await restore(ws, taken.runId, target);
    expect(refused.code, refused.stderr).toBe(6);
    const lines = refused.stderr.trim().split('\n');
    expect(lines, refused.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: .*--force/);
    expect(sha256File(target)).toBe(hashBefore);
    expect(readdirSync(ws.dir).filter((name) => name.includes('vaultra-restore'))).toEqual([]);

    const forced = await restoreOk(ws, taken.runId, target, ['--force']);
    expect(forced.replaced).toEqual(['mine']);
    expect(await integrity(target)).toBe('ok');
    expect(await sqliteFingerprints(target)).toEqual(fixturePrints);
    expect(await sqliteSchemaObjects(target)).toEqual(fixtureObjects);
  });

  it('--dry-run reads and checks the backup but writes nothing', async () => {
    const ws = workspace('dry-run');
    const taken = await backup(ws, fixture);
    const target = join(ws.dir, 'existing.db');
    await sqliteExec(target, "CREATE TABLE items (id INTEGER PRIMARY KEY); INSERT INTO items VALUES (42);");
    const hashBefore = sha256File(target);
    const mtimeBefore = statSync(target).mtimeMs;
    const filesBefore = readdirSync(ws.dir).sort();

    const dry = await restoreOk(ws, taken.runId, target, ['--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, status: 'checked', runId: taken.runId, replaced: ['items'] });
    expect(dry.bytesRaw).toBe(taken.bytesRaw);
    expect(dry.restored.map((c) => c.name)).toEqual(expect.arrayContaining(['items', 'audit', 'tags', 'expensive_items']));
    expect(sha256File(target)).toBe(hashBefore);
    expect(statSync(target).mtimeMs).toBe(mtimeBefore);
    expect(readdirSync(ws.dir).sort()).toEqual(filesBefore);

    const missing = join(ws.dir, 'not-there', 'new.db');
    mkdirSync(join(ws.dir, 'not-there'));
    const dryMissing = await restoreOk(ws, taken.runId, missing, ['--dry-run']);
    expect(dryMissing).toMatchObject({ dryRun: true, replaced: [] });
    expect(existsSync(missing)).toBe(false);
    expect(readdirSync(join(ws.dir, 'not-there'))).toEqual([]);
  });

  // An ordinary read-only open of a WAL-mode database makes SQLite create `<db>-shm` and
  // `<db>-wal` beside it; the engine inspects targets as immutable files so a dry run (or a
  // refused restore) writes nothing into the target's folder.
  it('--dry-run against a WAL-mode target leaves its folder as it was (no -wal/-shm files)', async () => {
    const ws = workspace('dry-run-wal');
    const taken = await backup(ws, fixture);
    const folder = join(ws.dir, 'app');
    mkdirSync(folder);
    const target = join(folder, 'wal.db');
    await sqliteExec(target, 'PRAGMA journal_mode = WAL; CREATE TABLE items (id INTEGER PRIMARY KEY); INSERT INTO items VALUES (1);');
    expect(readdirSync(folder)).toEqual(['wal.db']);
    const hashBefore = sha256File(target);

    const dry = await restoreOk(ws, taken.runId, target, ['--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, replaced: ['items'] });
    expect(sha256File(target)).toBe(hashBefore);
    expect(readdirSync(folder)).toEqual(['wal.db']);
  });

  it('--tables restores exactly the named tables (with their indexes, trigger and AUTOINCREMENT counter) into a new file', async () => {
    const ws = workspace('selective-new');
    const taken = await backup(ws, fixture);
    const target = join(ws.dir, 'only-items.db');

    const restored = await restoreOk(ws, taken.runId, target, ['--tables', 'items,audit']);
    expect(restored.restored.map((c) => c.name).sort()).toEqual(['audit', 'items']);
    expect(await integrity(target)).toBe('ok');
    const prints = await sqliteFingerprints(target);
    expect(prints).toEqual({ audit: fixturePrints.audit, items: fixturePrints.items });
    expect(await sqliteSchemaObjects(target)).toEqual(fixtureObjects.filter((o) => /^(items|audit|items_name_idx|items_created_idx|items_audit):/.test(o)));
    expect(await sqliteJournalMode(target)).toBe('wal');
    // The trigger came along and the AUTOINCREMENT counter continues where the source was.
    await sqliteExec(target, "INSERT INTO items (id, created_at) VALUES (999999, 'x');");
    expect(await sqliteExec(target, 'SELECT max(id) FROM audit;')).toBe(String(SQLITE_FIXTURE_ROWS.audit + 1));
  });

  it('--tables into an existing database adds the tables and leaves the others as they were; a named table it has is refused without --force', async () => {
    const ws = workspace('selective-existing');
    const taken = await backup(ws, fixture);
    const target = join(ws.dir, 'existing.db');
    await sqliteExec(target, "CREATE TABLE keep_me (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO keep_me VALUES (1, 'mine'); CREATE TABLE items (id INTEGER PRIMARY KEY); INSERT INTO items VALUES (42);");
    const hashBefore = sha256File(target);

    const refused = await restore(ws, taken.runId, target, ['--tables', 'items,tags']);
    expect(refused.code).toBe(6);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/already has items: .*--force/);
    expect(sha256File(target)).toBe(hashBefore);

    const added = await restoreOk(ws, taken.runId, target, ['--tables', 'tags']);
    expect(added.replaced).toEqual([]);
    const forced = await restoreOk(ws, taken.runId, target, ['--tables', 'items', '--force']);
    expect(forced.replaced).toEqual(['items']);
    const prints = await sqliteFingerprints(target);
    expect(prints.items).toEqual(fixturePrints.items);
    expect(prints.tags).toEqual(fixturePrints.tags);
    expect(await sqliteExec(target, 'SELECT v FROM keep_me;')).toBe('mine');
    expect(prints.audit).toBeUndefined();
  });

  it('--tables naming something the backup lacks fails before reading it (exit 5), target untouched', async () => {
    const ws = workspace('selective-missing');
    const taken = await backup(ws, fixture);
    const target = join(ws.dir, 'none.db');
    const result = await restore(ws, taken.runId, target, ['--tables', 'items,no_such_table']);
    expect(result.code).toBe(5);
    expect(result.stderr.trim()).toMatch(/holds nothing named no_such_table \(vaultra show .* lists its contents\)$/);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(ws.dir).filter((f) => f.includes('vaultra-'))).toEqual([]);
  });

  it('vaultra show prints the manifest: source, tools, and the contents list with row counts', async () => {
    const ws = workspace('show');
    const taken = await backup(ws, fixture);
    const shown = await vaultra(ws, ['show', taken.runId, '--from', ws.storeUrl]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`backup ${taken.runId} of job app`);
    expect(shown.stdout).toMatch(/source\s+sqlite app\.db/);
    expect(shown.stdout).toMatch(new RegExp(`table\\s+items\\s+${SQLITE_FIXTURE_ROWS.items} row\\(s\\)`));
    expect(shown.stdout).toMatch(/view\s+expensive_items/);
    const json = await vaultra(ws, ['show', 'latest', '--from', ws.storeUrl, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(manifestOf(taken));
  });

  it.each([
    { compression: 'gzip', level: '9', name: 'data.sqlite.gz.age' },
    { compression: 'none', level: undefined, name: 'data.sqlite.age' },
  ])('round trips with --compression $compression', async ({ compression, level, name }) => {
    const ws = workspace(`compression-${compression}`);
    const taken = await backup(ws, fixture, ['--compression', compression, ...(level ? ['--level', level] : [])]);
    const manifest = manifestOf(taken);
    expect(manifest.compression.id).toBe(compression);
    expect(manifest.compression.level).toBe(level ? Number(level) : 0);
    expect(manifest.compression.implementation.length).toBeGreaterThan(0);
    expect(manifest.encryption.format).toBe('age-v1');
    expect(manifest.encryption.recipients).toEqual([{ type: 'x25519', recipient: expect.stringMatching(/^age1[0-9a-z]{58}$/) }]);
    expect(manifest.objects.map((o) => o.name)).toEqual([name]);
    expect(existsSync(join(fileURLToPath(taken.location), name))).toBe(true);

    const target = join(ws.dir, 'restored.db');
    await restoreOk(ws, taken.runId, target);
    expect(await integrity(target)).toBe('ok');
    expect(await sqliteFingerprints(target)).toEqual(fixturePrints);
    expect(await sqliteSchemaObjects(target)).toEqual(fixtureObjects);
  });
});
