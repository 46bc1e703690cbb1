/**
 * Chunked snapshots under damage and theft, through the built CLI: a pack that is missing,
 * damaged or replaced, and an index that was altered, are found by `verify` and `check` and
 * refused by `restore` (which leaves no target behind); a chunked backup that fails half-way
 * leaves no manifest and none of its packs, and the chain before it restorable; and what a
 * thief gets with the bucket and the dedup key (no identity) holds none of the data.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { requireTools } from '../support/requirements.js';
import { sqliteExec, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { filesUnder } from '../support/file-tree.js';

const CANARY = 'canary-7f3a9c-the-thief-must-never-read-this';
const EXIT = { runFailed: 1, integrity: 3, key: 4, checkProblems: 9 } as const;

interface RunJson {
  runId: string;
  status: string;
  type: string;
  location: string;
}

describe('chunked snapshots under damage and theft (CLI)', () => {
  const tools = requireTools('sqlite3', 'zstd');
  if (!tools) return;
  let root = '';
  let source = '';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-chunked-damage-'));
    source = join(root, 'source.db');
    await sqliteExec(
      source,
      `CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);
       WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 30000) INSERT INTO items SELECT i, '${CANARY} ' || hex(randomblob(32)) FROM g;`,
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A workspace with a chunked full and an incremental of the source. */
  const chain = async (name: string): Promise<{ ws: Workspace; runs: RunJson[] }> => {
    const ws = makeWorkspace(root, name);
    const runs: RunJson[] = [];
    for (const flags of [['--chunked'], ['--type', 'incremental']]) {
      const result = await runVaultra(['backup', `sqlite:${source}`, '--to', ws.storeUrl, '--job', 'items', '--json', ...flags], { env: ws.env });
      expect(result.code, result.stderr).toBe(0);
      runs.push(JSON.parse(result.stdout) as RunJson);
    }
    return { ws, runs };
  };
  const packsOf = (ws: Workspace) => readdirSync(join(ws.store, 'items', 'shared')).map((name) => join(ws.store, 'items', 'shared', name));
  const restoreInto = async (ws: Workspace, runId: string, target: string) =>
    runVaultra(['restore', runId, '--from', ws.storeUrl, '--job', 'items', '--target', `sqlite:${target}`], { env: ws.env });

  it('a missing pack: verify and check name it, restore refuses and creates no target', async () => {
    const { ws, runs } = await chain('missing');
    const [pack] = packsOf(ws);
    rmSync(pack!);
    const verified = await runVaultra(['verify', runs[1]!.runId, '--from', ws.storeUrl], { env: ws.env });
    expect(verified.code).toBe(EXIT.integrity);
    expect(verified.stderr).toContain(pack!.split('/').at(-1));
    const checked = await runVaultra(['check', '--from', ws.storeUrl, '--json'], { env: ws.env });
    expect(checked.code).toBe(EXIT.checkProblems);
    const target = join(root, 'missing-target.db');
    const restored = await restoreInto(ws, runs[1]!.runId, target);
    expect(restored.code).toBe(EXIT.integrity);
    expect(restored.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(target)).toBe(false);
  }, 120_000);

  it('a damaged pack (same size): verify fails, check --read-data finds it, restore refuses and creates no target', async () => {
    const { ws, runs } = await chain('damaged');
    const [pack] = packsOf(ws);
    const bytes = readFileSync(pack!);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    writeFileSync(pack!, bytes);
    const verified = await runVaultra(['verify', runs[0]!.runId, '--from', ws.storeUrl], { env: ws.env });
    expect(verified.code, verified.stderr).toBe(EXIT.integrity);
    expect((await runVaultra(['check', '--from', ws.storeUrl], { env: ws.env })).code).toBe(0);
    const deep = await runVaultra(['check', '--from', ws.storeUrl, '--read-data'], { env: ws.env });
    expect(deep.code).toBe(EXIT.checkProblems);
    const target = join(root, 'damaged-target.db');
    expect((await restoreInto(ws, runs[1]!.runId, target)).code).toBe(EXIT.integrity);
    expect(existsSync(target)).toBe(false);
  }, 120_000);

  it('a pack replaced by another age file to the same recipient is refused by its header digest', async () => {
    const { ws, runs } = await chain('replaced');
    const [pack] = packsOf(ws);
    const recipient = /recipient (age1[0-9a-z]+)/.exec(readFileSync(ws.identity, 'utf8'))?.[1] ?? execFileSync('age-keygen', ['-y', ws.identity]).toString().trim();
    // Same plaintext, fresh file key: authentic age, but not the pack the signed manifest pins.
    const plaintext = execFileSync('age', ['-d', '-i', ws.identity, pack!], { maxBuffer: 256 * 1024 * 1024 });
    writeFileSync(pack!, execFileSync('age', ['-r', recipient], { input: plaintext, maxBuffer: 256 * 1024 * 1024 }));
    const restored = await restoreInto(ws, runs[0]!.runId, join(root, 'replaced-target.db'));
    expect(restored.code).not.toBe(0);
    expect(restored.stderr).toMatch(/header|SHA-256|size/);
  }, 120_000);

  it('an altered index is refused before anything is read', async () => {
    const { ws, runs } = await chain('index');
    const index = join(fileURLToPath(runs[1]!.location), 'index.tsv.gz');
    const bytes = readFileSync(index);
    bytes[bytes.length - 10]! ^= 0x01;
    writeFileSync(index, bytes);
    const restored = await restoreInto(ws, runs[1]!.runId, join(root, 'index-target.db'));
    expect(restored.code).toBe(EXIT.integrity);
    expect(restored.stderr).toContain('index.tsv.gz');
  }, 120_000);

  // Root writes into a read-only folder anyway (chunked-backup-failures.test.ts fails runs by other means).
  it.skipIf(process.getuid?.() === 0)('a chunked backup that fails half-way leaves no manifest and none of its packs; the chain before it still restores', async () => {
    const { ws, runs } = await chain('failed');
    const shared = join(ws.store, 'items', 'shared');
    const packsBefore = readdirSync(shared).sort();
    await sqliteExec(source, `UPDATE items SET label = label || ' changed' WHERE id % 3 = 0;`);
    try {
      // The new packs cannot be written: the run fails while it dumps.
      chmodSync(shared, 0o555);
      const failed = await runVaultra(['backup', `sqlite:${source}`, '--to', ws.storeUrl, '--job', 'items', '--type', 'incremental', '--json'], { env: ws.env });
      expect(failed.code).toBe(EXIT.runFailed);
      expect(failed.stderr.trim().split('\n').at(-1)).toMatch(/^vaultra: error: /);
    } finally {
      chmodSync(shared, 0o755);
    }
    expect(readdirSync(shared).sort()).toEqual(packsBefore);
    const manifests = (await filesUnder(join(ws.store, 'items'))).filter((path) => path.endsWith('manifest.json'));
    expect(manifests).toHaveLength(2);
    const target = join(root, 'failed-target.db');
    expect((await restoreInto(ws, runs[1]!.runId, target)).code).toBe(0);
    expect(Object.keys(await sqliteFingerprints(target))).toEqual(['items']);
  }, 120_000);

  it('a thief with the bucket and the dedup key, but no identity, reads none of the data', async () => {
    const { ws, runs } = await chain('theft');
    // Every stored byte, and the index as the thief can read it (gunzipped): no trace of the rows.
    for (const path of await filesUnder(ws.store)) {
      const bytes = readFileSync(join(ws.store, path));
      const readable = path.endsWith('.gz') ? gunzipSync(bytes) : bytes;
      expect(readable.includes(CANARY), path).toBe(false);
    }
    // The dedup key is all the thief has: restore finds no identity that opens the packs.
    const thief = makeWorkspace(root, 'thief');
    const stolenKey = join(thief.dir, 'dedup-key.txt');
    copyFileSync(join(ws.dir, 'config', 'vaultra', 'dedup-key.txt'), stolenKey);
    const attempt = await runVaultra(['restore', runs[1]!.runId, '--from', ws.storeUrl, '--job', 'items', '--target', `sqlite:${join(root, 'thief.db')}`, '--dedup-key', stolenKey, '--allow-unsigned'], {
      env: thief.env,
    });
    expect(attempt.code).toBe(EXIT.key);
    expect(existsSync(join(root, 'thief.db'))).toBe(false);
  }, 120_000);
});
