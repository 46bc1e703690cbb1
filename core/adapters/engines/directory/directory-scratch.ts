import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContentEntry } from '../../../ports/database-engine.js';
import type { ObservedEntry, RestoredProbe, SchemaInventory, ScratchProvider } from '../../../ports/scratch-target.js';
import { ConfigError } from '../../../errors.js';
import { describeTree, removeTree } from './directory-tree.js';

/** Directory scratch targets: a private temp folder the backup is restored beneath, removed with everything in it. */
export const directoryScratch: ScratchProvider = {
  engine: 'directory',
  async start() {
    const folder = await mkdtemp(join(tmpdir(), 'vaultra-drill-dir-'));
    const root = join(folder, 'restored');
    return {
      url: `dir:${root}`,
      description: `scratch folder ${root}`,
      probe: new DirectoryRestoredProbe(root),
      destroy: () => removeTree(folder).then(() => undefined, (error: Error) => `could not remove ${folder}: ${error.message}`),
    };
  },
};

/** Walks the restored folder as a backup describes its source: top-level entries with their files and bytes. */
class DirectoryRestoredProbe implements RestoredProbe {
  constructor(private readonly root: string) {}

  async observe(entries: readonly ContentEntry[], signal?: AbortSignal): Promise<(ObservedEntry | undefined)[]> {
    const found = new Map((await describeTree(this.root, signal)).map((entry) => [entry.name, entry]));
    return entries.map((entry) => {
      const restored = found.get(entry.name);
      return restored && { ...(restored.files === undefined ? {} : { files: restored.files }), ...(restored.bytes === undefined ? {} : { bytes: restored.bytes }) };
    });
  }

  inventory(): Promise<SchemaInventory> {
    return Promise.resolve({ views: [], materializedViews: [], sequences: [], routines: [], triggers: [], indexes: [], events: [] });
  }

  query(): Promise<string> {
    return Promise.reject(new ConfigError('a directory backup has no query language: its drill checks are the manifest\'s entries, files and bytes'));
  }
}
