/**
 * Selective directory restores (`paths`) through the use cases, with the real engine, GNU tar,
 * zstd, age and file storage: exactly the selected paths (and the folders above them, with
 * their archived modes) come back; an existing target gains them without losing anything; a
 * selected path that exists is a conflict unless `force`; a path the backup lacks is named.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryEngine } from '../../core/adapters/engines/directory/directory-engine.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { runBackup } from '../../core/usecases/backup.js';
import { runRestore, type RestoreRequest } from '../../core/usecases/restore.js';
import { ConfigError, NotFoundError, RestoreFailedError, RunConflictError } from '../../core/errors.js';
import { requireTools } from '../support/requirements.js';
import { createDirectoryFixture, entriesOf, snapshotTree, treeDifferences, type DirectoryFixture, type TreeEntry } from '../support/dir-fixtures.js';
import { testSigning } from '../support/signing.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';

describe('selective directory restore (use cases)', () => {
  const tools = requireTools('tar', 'zstd', 'touch', 'mkfifo');
  if (!tools) return;

  let root = '';
  let fixture: DirectoryFixture;
  let source: Record<string, TreeEntry> = {};
  let runId = '';
  const key = generateX25519Identity();
  const signing = testSigning();
  let deps: { storage: FileStorageBackend; catalog: LocalCatalog; decryptor: AgeDecryptor; trust: typeof signing.trust } & typeof backupAdapters;

  // Compared entry by entry with the source (setuid bits, FIFO): the archive as it is.
  const restore = (target: string, request: Omit<RestoreRequest, 'ref' | 'target'>) => runRestore(deps, { ref: runId, target: `dir:${target}`, preserveSpecial: true, ...request });

  /** The source entries a restore of `selected` brings back: the root, the folders above each path, each path and everything beneath it. */
  const subset = (selected: string[]) =>
    Object.fromEntries(Object.entries(source).filter(([name]) => name === '.' || selected.some((p) => name === p || name.startsWith(`${p}/`) || p.startsWith(`${name}/`))));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-dir-sel-'));
    fixture = await createDirectoryFixture(join(root, 'vol'));
    source = await snapshotTree(fixture.root);
    const storage = new FileStorageBackend(join(root, 'store'));
    const catalog = new LocalCatalog(join(root, 'catalog'));
    deps = { storage, catalog, decryptor: new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]), trust: signing.trust, ...backupAdapters };
    const result = await runBackup(
      { engine: new DirectoryEngine(), storage, catalog, compressor: await createCompressor('zstd'), encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]), signer: signing.signer },
      { source: `dir:${fixture.root}`, job: 'vol' },
    );
    expect(result.error).toBeUndefined();
    runId = result.run.runId;
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('into an absent target: exactly the selected file, folder and odd-named file, with the folders above them', async () => {
    const target = join(root, 'absent-target');
    const selected = ['config/app.yaml', 'data', 'odd/with space', 'read-only-dir', 'links/escape'];
    await restore(target, { paths: ['config/app.yaml', './data/', 'odd/with space', 'data/original.bin', 'read-only-dir', 'links/escape'] });
    expect(treeDifferences(subset(selected), await snapshotTree(target))).toEqual({});
    expect(await entriesOf(root)).toEqual(['absent-target', 'catalog', 'store', 'vol']);
  });

  it('into an existing target: adds the selected paths and leaves everything else alone', async () => {
    const target = join(root, 'existing-target');
    await mkdir(join(target, 'config'), { recursive: true });
    await writeFile(join(target, 'config', 'other.yaml'), 'mine');
    await writeFile(join(target, 'unrelated.txt'), 'unrelated');
    const before = await snapshotTree(target);
    const report = await restore(target, { paths: ['config/nested', 'bin/run.sh'] });
    expect(report.replaced).toEqual([]);
    const after = await snapshotTree(target);
    // What was there is untouched, except the mtime of config/ and the root, which gained entries.
    for (const name of ['config/other.yaml', 'unrelated.txt']) expect(after[name]).toEqual(before[name]);
    const added = Object.fromEntries(Object.entries(after).filter(([name]) => !(name in before)));
    const expected = Object.fromEntries(Object.entries(subset(['config/nested', 'bin/run.sh'])).filter(([name]) => !['.', 'config'].includes(name)));
    expect(treeDifferences(expected, added)).toEqual({});
  });

  it('a selected path that exists: refused without force (target untouched), replaced with force', async () => {
    const target = join(root, 'conflict-target');
    await mkdir(join(target, 'config'), { recursive: true });
    await writeFile(join(target, 'config', 'app.yaml'), 'local edit');
    await writeFile(join(target, 'config', 'keep.yaml'), 'keep');
    const before = await snapshotTree(target);

    await expect(restore(target, { paths: ['config/app.yaml'] })).rejects.toThrow(RunConflictError);
    await expect(restore(target, { paths: ['config/app.yaml'] })).rejects.toThrow(/already holds config\/app\.yaml: .*--force/);
    expect(treeDifferences(before, await snapshotTree(target))).toEqual({});

    const report = await restore(target, { paths: ['config/app.yaml'], force: true });
    expect(report.replaced).toEqual(['config/app.yaml']);
    const after = await snapshotTree(target);
    expect(after['config/app.yaml']).toEqual(source['config/app.yaml']);
    expect(after['config/keep.yaml']).toEqual(before['config/keep.yaml']);
    expect(await entriesOf(root)).not.toContain(expect.stringContaining('vaultra-'));
  });

  it('a path the backup lacks: NotFoundError naming it, nothing restored', async () => {
    const target = join(root, 'missing-path-target');
    const failure = restore(target, { paths: ['config/app.yaml', 'config/nope.yaml', 'nowhere/at/all'] });
    await expect(failure).rejects.toThrow(NotFoundError);
    await expect(restore(target, { paths: ['config/nope.yaml'] })).rejects.toThrow(/^not in this backup: config\/nope\.yaml \(paths are relative/);
    expect(existsSync(target)).toBe(false);
    expect((await entriesOf(root)).filter((name) => name.includes('vaultra-'))).toEqual([]);
  });

  it('a hard link whose first copy is not selected: says which path to add', async () => {
    const target = join(root, 'hardlink-target');
    // data/hardlink.bin is archived first (name order); top-hardlink is stored as a link to it.
    await expect(restore(target, { paths: ['top-hardlink'] })).rejects.toThrow(RestoreFailedError);
    await expect(restore(target, { paths: ['top-hardlink'] })).rejects.toThrow(/\.\/top-hardlink is a hard link to \.\/data\/hardlink\.bin, which is not selected: add data\/hardlink\.bin to --paths/);
    expect(existsSync(target)).toBe(false);
    await restore(target, { paths: ['top-hardlink', 'data/hardlink.bin'] });
    const restored = await snapshotTree(target);
    expect(restored['top-hardlink']).toMatchObject({ sha256: source['top-hardlink']!.sha256, hardLinkOf: 'data/hardlink.bin' });
  });

  it('refuses paths that leave the backup, writing nothing', async () => {
    // The use case finds no top-level entry named `..` or `.` first; the engine refuses them too (directory-failures).
    await expect(restore(join(root, 'x'), { paths: ['../etc/passwd'] })).rejects.toThrow(/holds nothing named \.\.\/etc\/passwd/);
    await expect(restore(join(root, 'x'), { paths: ['config/../../etc'] })).rejects.toThrow(ConfigError);
    await expect(restore(join(root, 'x'), { paths: ['.'] })).rejects.toThrow(NotFoundError);
    expect(existsSync(join(root, 'x'))).toBe(false);
  });
});
