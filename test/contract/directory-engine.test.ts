import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe } from 'vitest';
import { DirectoryEngine } from '../../core/adapters/engines/directory/directory-engine.js';
import { hashTree } from '../support/file-tree.js';
import { requireTools } from '../support/requirements.js';
import { databaseEngineContract, entriesBeside } from './database-engine.contract.js';

const pathOf = (url: string) => url.slice('dir:'.length);

describe('directory engine', () => {
  if (!requireTools('tar', 'zstd')) return;
  databaseEngineContract('DirectoryEngine', async (root) => {
    const source = join(root, 'source');
    await mkdir(join(source, 'items', 'sub'), { recursive: true });
    await mkdir(join(source, 'notes'));
    await writeFile(join(source, 'items', 'a.txt'), 'a\n');
    await writeFile(join(source, 'items', 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
    // Enough for tar to be still at work when the contract kills it mid-stream: a tree of a few
    // hundred KB is archived before the kill lands, on a machine that is slow to schedule the test.
    await writeFile(join(source, 'items', 'sub', 'large.bin'), randomBytes(32 * 1024 * 1024));
    await writeFile(join(source, 'notes', 'c.txt'), 'c\n');
    await writeFile(join(source, 'top.txt'), 'top\n');
    return {
      engine: new DirectoryEngine(),
      source: `dir:${source}`,
      newTarget: async () => `dir:${join(await mkdtemp(join(root, 'target-')), 'out')}`,
      snapshot: (url) => hashTree(pathOf(url)),
      leftovers: (target) => entriesBeside(pathOf(target)),
      selection: { request: { paths: ['items'] }, keeps: (file) => file.startsWith('items/') },
      cleanup: async () => undefined,
    };
  });
});
