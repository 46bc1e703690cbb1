import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseEngine, DumpOutput } from '../../core/ports/database-engine.js';
import type { RestoreRequest } from '../../core/usecases/restore.js';
import { runBackup, type BackupResult } from '../../core/usecases/backup.js';
import { runRestore } from '../../core/usecases/restore.js';
import { runVerify } from '../../core/usecases/verify.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { DumpFailedError, IntegrityError } from '../../core/errors.js';
import { filesUnder, hashTree } from '../support/file-tree.js';
import { testSigning } from '../support/signing.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';

/** What a snapshot holds: one entry per table, collection or file, equal when the data is equal. */
export type Snapshot = Record<string, unknown>;

/**
 * One engine set up against its real server (or files) for the contract: a small source with at
 * least two tables (collections, top-level folders), fresh restore targets, and a way to compare
 * what a source and a target hold.
 */
export interface EngineUnderTest {
  readonly engine: DatabaseEngine;
  readonly source: string;
  /** A restore target that does not exist yet. */
  newTarget(): Promise<string>;
  /** What `url` (the source or a restored target) holds, keyed by table, collection or file path. */
  snapshot(url: string): Promise<Snapshot>;
  /** What a restore into `target` left behind (the target, temp files beside it); empty when nothing. */
  leftovers(target: string): Promise<string[]>;
  /** A selective restore of the kind the descriptor's capabilities name, and the snapshot keys it brings back. */
  readonly selection: { readonly request: Pick<RestoreRequest, 'tables' | 'schemas' | 'paths'>; readonly keeps: (key: string) => boolean };
  /** Removes what the fixture created outside the suite's temp folder (databases). */
  cleanup(): Promise<void>;
}

/**
 * What every DatabaseEngine must do, through the public use cases (runBackup, runVerify,
 * runRestore) with real file storage, zstd and age in a temp folder: round trip, selective
 * restore, dry run, a dump tool failing mid-stream, and a tampered data object. Each engine's
 * test file calls this with a factory for its fixture. (restic's rule: no engine may skip it.)
 */
export function databaseEngineContract(name: string, setUp: (root: string) => Promise<EngineUnderTest>): void {
  describe(`${name} (DatabaseEngine contract)`, () => {
    const key = generateX25519Identity();
    const signing = testSigning();
    const decryptor = new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]);
    let root = '';
    let fixture: EngineUnderTest;
    let sourceSnapshot: Snapshot;

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'vaultra-engine-contract-'));
      fixture = await setUp(root);
      sourceSnapshot = await fixture.snapshot(fixture.source);
      expect(Object.keys(sourceSnapshot).length, 'the fixture holds at least two tables').toBeGreaterThanOrEqual(2);
    });
    afterAll(async () => {
      await fixture?.cleanup();
      if (root) await rm(root, { recursive: true, force: true });
    });

    /** A fresh store and catalog in a folder of their own. */
    const freshStore = async () => {
      const dir = await mkdtemp(join(root, 'store-'));
      return { dir: join(dir, 'store'), storage: new FileStorageBackend(join(dir, 'store')), catalog: new LocalCatalog(join(dir, 'catalog')) };
    };
    type Store = Awaited<ReturnType<typeof freshStore>>;

    const backUp = async (store: Store, engine: DatabaseEngine = fixture.engine): Promise<BackupResult> =>
      runBackup(
        { engine, storage: store.storage, catalog: store.catalog, compressor: await createCompressor('zstd'), encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]), signer: signing.signer },
        { source: fixture.source, job: 'contract' },
      );
    const readers = (store: Store) => ({ storage: store.storage, catalog: store.catalog, decryptor, trust: signing.trust, ...backupAdapters });

    it('backs up, verifies and restores into a new target: the target holds what the source held', async () => {
      const store = await freshStore();
      const made = await backUp(store);
      expect(made.run.status, String(made.error)).toBe('succeeded');
      expect(made.manifest?.source.engine).toBe(fixture.engine.id);
      for (const entry of made.manifest!.contents) expect(fixture.engine.descriptor.contentKinds).toContain(entry.kind);
      expect(made.manifest!.objects.map((o) => o.name)).toEqual([`data.${fixture.engine.descriptor.artifactName}.zst.age`]);

      const verified = await runVerify(readers(store), { ref: made.run.runId });
      expect(verified.structure).not.toBe('');

      const target = await fixture.newTarget();
      const restored = await runRestore(readers(store), { ref: made.run.runId, target });
      expect(restored.dryRun).toBe(false);
      expect(await fixture.snapshot(target)).toEqual(sourceSnapshot);
    });

    it('restores only the selection the engine supports (tables, schemas or paths)', async () => {
      const supported = fixture.engine.descriptor.capabilities.selections;
      const asked = Object.keys(fixture.selection.request);
      // `namespaces` are MongoDB's `db.collection` tables.
      for (const kind of asked) expect(supported).toContain(kind === 'tables' && supported.includes('namespaces') ? 'namespaces' : kind);
      const store = await freshStore();
      const made = await backUp(store);
      expect(made.run.status, String(made.error)).toBe('succeeded');
      const target = await fixture.newTarget();
      await runRestore(readers(store), { ref: made.run.runId, target, ...fixture.selection.request });
      const expected = Object.fromEntries(Object.entries(sourceSnapshot).filter(([k]) => fixture.selection.keeps(k)));
      expect(Object.keys(expected).length, 'the selection names part of the source, not nothing').toBeGreaterThan(0);
      expect(Object.keys(expected).length, 'the selection names part of the source, not all of it').toBeLessThan(Object.keys(sourceSnapshot).length);
      expect(await fixture.snapshot(target)).toEqual(expected);
    });

    it('a dry run reads and checks the whole backup and writes nothing', async () => {
      const store = await freshStore();
      const made = await backUp(store);
      expect(made.run.status, String(made.error)).toBe('succeeded');
      const target = await fixture.newTarget();
      const report = await runRestore(readers(store), { ref: made.run.runId, target, dryRun: true });
      expect(report).toMatchObject({ dryRun: true, replaced: [] });
      expect(report.bytesRaw).toBe(made.manifest!.plaintextBytes);
      expect(await fixture.leftovers(target)).toEqual([]);
    });

    it('the dump failing mid-stream (its tool killed; a failed stream where no tool runs): run failed, no manifest, earlier backups untouched', async () => {
      const store = await freshStore();
      const earlier = await backUp(store);
      expect(earlier.run.status, String(earlier.error)).toBe('succeeded');
      const before = await hashTree(store.dir);

      const failed = await backUp(store, dumpFailingMidStream(fixture.engine));
      expect(failed.run.status).toBe('failed');
      expect(failed.error).toBeInstanceOf(DumpFailedError);
      expect(failed.manifest).toBeUndefined();
      expect(await hashTree(store.dir), 'nothing of the failed run is left, nothing earlier changed').toEqual(before);
      expect((await store.catalog.list({ job: 'contract' })).map((r) => r.status).sort()).toEqual(['failed', 'succeeded']);
      await runVerify(readers(store), { ref: earlier.run.runId });
    });

    it('a flipped byte in the stored data object: verify and restore reject with IntegrityError, the target is untouched', async () => {
      const store = await freshStore();
      const made = await backUp(store);
      expect(made.run.status, String(made.error)).toBe('succeeded');
      const data = (await filesUnder(store.dir)).find((file) => /\/data\.[^/]+$/.test(file))!;
      const bytes = await readFile(join(store.dir, data));
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      await writeFile(join(store.dir, data), bytes);

      await expect(runVerify(readers(store), { ref: made.run.runId })).rejects.toBeInstanceOf(IntegrityError);
      const target = await fixture.newTarget();
      await expect(runRestore(readers(store), { ref: made.run.runId, target })).rejects.toBeInstanceOf(IntegrityError);
      expect(await fixture.leftovers(target)).toEqual([]);
    });
  });
}

/**
 * The same engine, but its dump fails once it started: the tool is killed (SIGKILL) as soon as
 * it runs, or — for an engine whose dump runs no tool while streaming (SQLite streams a file
 * VACUUM INTO wrote) — its stream fails after the first chunk, as a dying tool's would.
 */
function dumpFailingMidStream(engine: DatabaseEngine): DatabaseEngine {
  const failing = Object.create(engine) as DatabaseEngine & { dump: DatabaseEngine['dump'] };
  failing.dump = async (source, options) => {
    const output: DumpOutput = await engine.dump(source, options);
    const { pid } = output;
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    else output.stream.once('data', () => output.stream.destroy(new DumpFailedError('the dump stream failed (injected by the contract test)', '')));
    return output;
  };
  return failing;
}

/** Everything in the folder that holds `path` (the target, or a temp file or folder beside it): for file-based targets, each in a fresh folder of its own. */
export async function entriesBeside(path: string): Promise<string[]> {
  const parent = join(path, '..');
  if (!existsSync(parent)) return [];
  return (await readdir(parent)).sort();
}
