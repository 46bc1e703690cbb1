import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { storageBackendContract } from './storage-backend.contract.js';

const freshDir = () => mkdtemp(join(tmpdir(), 'vaultra-file-storage-'));

storageBackendContract('FileStorageBackend', async () => new FileStorageBackend(await freshDir()), {
  missingLocation: async () => new FileStorageBackend(join(await freshDir(), 'never-created')),
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
