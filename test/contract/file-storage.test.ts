import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { storageBackendContract } from './storage-backend.contract.js';
import { leftoverSweeperContract } from './leftover-sweeper.contract.js';

const freshDir = () => mkdtemp(join(tmpdir(), 'vaultra-file-storage-'));

storageBackendContract('FileStorageBackend', async () => new FileStorageBackend(await freshDir()), {
  missingLocation: async () => new FileStorageBackend(join(await freshDir(), 'never-created')),
});
// A killed put leaves its temp file beside the object it was writing.
leftoverSweeperContract('FileStorageBackend', async () => new FileStorageBackend(await freshDir()), async (storage, key) => {
  const path = join((storage as FileStorageBackend).rootDir, ...key.split('/'));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.vaultra-tmp-0badf00d`, Buffer.alloc(4096));
});

describe('FileStorageBackend specifics', () => {
  it('accepts file:///abs, file://./rel and plain paths', async () => {
    const dir = await freshDir();
    expect(FileStorageBackend.fromUrl(`file://${dir}`).rootDir).toBe(dir);
    expect(FileStorageBackend.fromUrl('file://./backups').rootDir).toBe(join(process.cwd(), 'backups'));
    expect(FileStorageBackend.fromUrl(dir).location).toBe(`file://${dir}`);
  });

  it('refuses keys that climb out of the root', async () => {
    const storage = new FileStorageBackend(await freshDir());
    await expect(storage.put('../escape', Readable.from([Buffer.from('x')]))).rejects.toThrow(/not a plain relative path/);
    await expect(storage.get('/etc/passwd')).rejects.toThrow(/not a plain relative path/);
  });

  it('a delete or a failed write removes the folders it leaves empty, up to the root; empty folders are listed as leftovers', async () => {
    const dir = await freshDir();
    const storage = new FileStorageBackend(dir);
    await storage.put('job/2026/12/06/run/data', Readable.from([Buffer.from('x')]));
    await storage.put('job/2026/12/06/other/data', Readable.from([Buffer.from('y')]));
    await storage.delete('job/2026/12/06/run/data');
    expect(await readdir(join(dir, 'job/2026/12/06'))).toEqual(['other']);
    await storage.delete('job/2026/12/06/other/data');
    expect(await readdir(dir)).toEqual([]);
    await expect(storage.put('job/2026/12/07/run/data', Readable.from((async function* () { yield Buffer.from('z'); throw new Error('broken'); })()))).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
    await mkdir(join(dir, 'job/2026/12/08/run'), { recursive: true });
    const found: string[] = [];
    for await (const leftover of storage.listLeftovers('job/')) found.push(`${leftover.kind} ${leftover.key}`);
    expect(found).toEqual(['empty-folder job/2026/12/08/run', 'empty-folder job/2026/12/08', 'empty-folder job/2026/12', 'empty-folder job/2026']);
    await storage.removeLeftover({ kind: 'empty-folder', key: 'job/2026/12/08/run' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes objects 0600 and never lists the catalog folder or temp files', async () => {
    const dir = await freshDir();
    const storage = new FileStorageBackend(dir);
    await storage.put('.vaultra/catalog/x.json', Readable.from([Buffer.from('{}')]));
    await storage.put('job/a', Readable.from([Buffer.from('a')]));
    const listed: string[] = [];
    for await (const o of storage.list('')) listed.push(o.key);
    expect(listed).toEqual(['job/a']);
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'job/a')).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'job'))).toEqual(['a']);
  });
});
