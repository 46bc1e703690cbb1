/**
 * A backup whose data object is gone — deleted from the run folder, or renamed in the manifest
 * by one flipped byte — through the built CLI, on `file://` and on `s3://` (moto) for
 * PostgreSQL, directories and SQLite, and on `gs://` and `azblob://` for directories: `verify` and `restore` end with exit 3 and one line naming
 * the missing object, their runs are recorded as failed (never left `running`), and a restore
 * creates nothing (no database, no target, no temp folder beside it).
 *
 * The renamed manifest is signed again with the workspace's own signing key, as a buggy writer
 * holding it would: the presence check must refuse what the signature check lets through.
 *
 * Before the fix this crashed Node with an unhandled 'error' event (the restore/validation
 * tool was killed before its input stream had a listener) for PostgreSQL and directories, left
 * the records `running` and the database a restore had created; SQLite answered exit 5.
 *
 * At the use-case level: an object that vanishes after the presence check (the sink is already
 * open when the read fails), and a read that fails half-way through a restore, leave nothing
 * either and never crash the process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../core/usecases/backup.js';
import { runRestore } from '../../core/usecases/restore.js';
import { runVerify } from '../../core/usecases/verify.js';
import { PostgresEngine } from '../../core/adapters/engines/postgres/postgres-engine.js';
import { DirectoryEngine } from '../../core/adapters/engines/directory/directory-engine.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { runFolder } from '../../core/domain/object-layout.js';
import type { DatabaseEngine } from '../../core/ports/database-engine.js';
import { StorageError } from '../../core/errors.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import type { RunJson } from '../support/cli-json.js';
import { pgEnv } from '../support/psql.js';
import { requireAzurite, requireFakeGcs, requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { azureDamageStore, fileDamageStore, gcsDamageStore, s3DamageStore, type DamageStore } from '../support/damage-store.js';
import { directoryCase, postgresCase, sqliteCase, type CaseEngine, type EngineCase } from '../support/engine-cases.js';
import { FaultyStorageBackend } from '../fakes/faulty-storage.js';
import { testSigning, writeResignedManifest } from '../support/signing.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';

const ENGINES: readonly CaseEngine[] = ['postgres', 'directory', 'sqlite'];

/** The name with its first byte flipped (`data.…` → `eata.…`): still a valid object name. */
const flipFirstByte = (name: string) => String.fromCharCode(name.charCodeAt(0) ^ 0x01) + name.slice(1);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('a data object missing from a backup', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd', 'tar', 'sqlite3');
  if (!pg || !tools) return;

  let root = '';
  const cases = new Map<CaseEngine, EngineCase>();
  let workspaces = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-missing-'));
    cases.set('postgres', await postgresCase(pg));
    cases.set('directory', await directoryCase(root));
    cases.set('sqlite', await sqliteCase(root));
  });

  afterAll(async () => {
    for (const c of cases.values()) await c.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const workspace = (store: DamageStore): Workspace => makeWorkspace(root, `ws-${workspaces++}`, { ...pgEnv(pg, 'postgres'), ...store.env });
  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });

  /** Exit code, and exactly one `vaultra: error:` line on stderr matching `message`. */
  const expectOneLine = (result: VaultraResult, exitCode: number, message: RegExp) => {
    expect(result.code, result.stderr).toBe(exitCode);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, 'stderr must be exactly one line').toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: /);
    expect(lines[0]).toMatch(message);
    return lines[0]!;
  };

  const recordsOf = async (ws: Workspace, store: DamageStore, job: string): Promise<RunJson[]> => {
    const listed = await vaultra(ws, ['list', '--all', '--json', '--from', store.url, '--job', job]);
    expect(listed.code, listed.stderr).toBe(0);
    return JSON.parse(listed.stdout) as RunJson[];
  };

  const suite = (makeStore: () => Promise<DamageStore>, engines: readonly CaseEngine[] = ENGINES): void => {
    for (const engine of engines) {
      for (const damage of ['deleted from the run folder', 'renamed in the manifest'] as const) {
        it(`${engine}, data object ${damage}: verify and restore exit 3 naming it, records failed, nothing created`, async () => {
          const c = cases.get(engine)!;
          const store = await makeStore();
          const ws = workspace(store);
          const job = `${engine}-gone`;
          const taken = await vaultra(ws, ['backup', c.source, '--to', store.url, '--job', job, '--json', '--no-progress']);
          expect(taken.code, taken.stderr).toBe(0);
          const { runId } = JSON.parse(taken.stdout) as { runId: string };
          const folder = runFolder(job, runId);
          expect(await store.keys(`${folder}/`)).toEqual([`${folder}/${c.dataName}`, `${folder}/manifest.json`, `${folder}/manifest.json.sig`]);

          let missing = c.dataName;
          if (damage === 'deleted from the run folder') {
            await store.remove(`${folder}/${c.dataName}`);
          } else {
            missing = flipFirstByte(c.dataName);
            const manifest = (await store.read(`${folder}/manifest.json`)).toString('utf8');
            expect(manifest).toContain(`"name": "${c.dataName}"`);
            // Signed again with the workspace's own key: a genuine signer's manifest naming an object
            // that is not there must still be refused by the presence check, not only by the signature.
            await writeResignedManifest(store, ws, `${folder}/manifest.json`, manifest.replace(`"name": "${c.dataName}"`, `"name": "${missing}"`));
          }
          const names = new RegExp(`${escape(missing)}.*missing|missing.*${escape(missing)}`);

          const verified = await vaultra(ws, ['verify', 'latest', '--from', store.url, '--job', job, '--no-progress']);
          const verifyLine = expectOneLine(verified, 3, names);

          const target = await c.newTarget();
          const restored = await vaultra(ws, ['restore', 'latest', '--from', store.url, '--job', job, '--target', target, '--no-progress']);
          const restoreLine = expectOneLine(restored, 3, names);
          expect(await c.leftovers(target), 'a failed restore must create nothing').toEqual([]);

          const records = (await recordsOf(ws, store, job)).filter((r) => r.kind !== 'backup');
          expect(records.map((r) => `${r.kind}:${r.status}`).sort()).toEqual(['restore:failed', 'verify:failed']);
          const byKind = Object.fromEntries(records.map((r) => [r.kind, r as RunJson & { error?: { kind: string; message: string } }]));
          expect(byKind.verify!.error).toEqual({ kind: 'integrity', message: verifyLine.slice('vaultra: error: '.length) });
          expect(byKind.restore!.error).toEqual({ kind: 'integrity', message: restoreLine.slice('vaultra: error: '.length) });
        });
      }
    }
  };

  describe('on file://', () => {
    suite(async () => fileDamageStore(root));
  });

  describe('on s3:// (moto)', () => {
    const moto = requireMoto();
    if (!moto) return;
    suite(() => s3DamageStore(moto));
  });

  // Issue 23 item 2: directory backups crashed the same way on both.
  describe('on gs:// (fake-gcs-server)', () => {
    const gcs = requireFakeGcs();
    if (!gcs) return;
    suite(() => gcsDamageStore(gcs), ['directory']);
  });

  describe('on azblob:// (Azurite)', () => {
    const azurite = requireAzurite();
    if (!azurite) return;
    suite(() => azureDamageStore(azurite), ['directory']);
  });

  describe('reads that fail once the restore has started (use case)', () => {
    const key = generateX25519Identity();
    // In-process engines reach the server as the CLI would, with the password in the environment.
    const savedPassword = process.env.PGPASSWORD;
    beforeAll(() => {
      process.env.PGPASSWORD = pg.password;
    });
    afterAll(() => {
      if (savedPassword === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = savedPassword;
    });

    const signing = testSigning();

    const restoreCutShort = async (engine: DatabaseEngine, c: EngineCase) => {
      const dir = await mkdtemp(join(root, 'cut-'));
      const files = new FileStorageBackend(join(dir, 'store'));
      const catalog = new LocalCatalog(join(dir, 'catalog'));
      const made = await runBackup(
        { engine, storage: files, compressor: await createCompressor('zstd'), encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]), catalog, signer: signing.signer },
        { source: c.source, job: 'cut' },
      );
      expect(made.run.status, String(made.error)).toBe('succeeded');
      const storage = new FaultyStorageBackend(files).failGetAfterBytes(300, { keys: (k) => k.includes('/data.') });
      const target = await c.newTarget();
      const decryptor = new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]);
      await expect(runRestore({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: made.run.runId, target })).rejects.toBeInstanceOf(StorageError);
      expect(storage.faultsFired).toBe(1);
      expect(await c.leftovers(target)).toEqual([]);
      expect((await catalog.list({ job: 'cut', kind: 'restore' })).map((r) => `${r.status}:${r.error?.kind}`)).toEqual(['failed:storage']);
    };

    /**
     * The object vanishes between the presence check and the read: the sink (pg_restore, tar)
     * is already open when `get` fails, and is killed by `abort()` before anything was piped
     * into it. Before the fix its stream's error had no listener and crashed the process.
     */
    const vanishing = async (engine: DatabaseEngine, c: EngineCase) => {
      const dir = await mkdtemp(join(root, 'vanish-'));
      const files = new FileStorageBackend(join(dir, 'store'));
      const catalog = new LocalCatalog(join(dir, 'catalog'));
      const made = await runBackup(
        { engine, storage: files, compressor: await createCompressor('zstd'), encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]), catalog, signer: signing.signer },
        { source: c.source, job: 'vanish' },
      );
      expect(made.run.status, String(made.error)).toBe('succeeded');
      const gone = (k: string) => new StorageError(`reading ${k} failed: injected`, false);
      const storage = new FaultyStorageBackend(files).failGetOfKey((k) => k.includes('/data.'), { error: gone });
      const decryptor = new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]);
      await expect(runVerify({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: made.run.runId })).rejects.toThrow(/injected/);
      const target = await c.newTarget();
      await expect(runRestore({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: made.run.runId, target })).rejects.toThrow(/injected/);
      expect(await c.leftovers(target)).toEqual([]);
      expect((await catalog.list({ job: 'vanish' })).filter((r) => r.kind !== 'backup').map((r) => `${r.kind}:${r.status}`).sort()).toEqual(['restore:failed', 'verify:failed']);
    };

    it('postgres, the object gone after the presence check: verify and restore reject, the process does not crash, nothing left', async () => {
      await vanishing(new PostgresEngine(), cases.get('postgres')!);
    });

    it('directory, the object gone after the presence check: verify and restore reject, the process does not crash, nothing left', async () => {
      await vanishing(new DirectoryEngine(), cases.get('directory')!);
    });

    it('postgres: rejects with the StorageError, no database left, restore recorded failed', async () => {
      await restoreCutShort(new PostgresEngine(), cases.get('postgres')!);
    });

    it('directory: rejects with the StorageError, no target or temp folder left, restore recorded failed', async () => {
      await restoreCutShort(new DirectoryEngine(), cases.get('directory')!);
    });
  });
});
