import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A test's own folder: its storage, its default identity, its config and state; nothing shared. */
export interface Workspace {
  readonly dir: string;
  readonly store: string;
  readonly storeUrl: string;
  /** The default identity of this workspace (created by its first encrypted backup). */
  readonly identity: string;
  /** `base` plus XDG folders inside `dir`, and no inherited VAULTRA_* settings. */
  readonly env: NodeJS.ProcessEnv;
}

export function makeWorkspace(root: string, name: string, base: NodeJS.ProcessEnv = {}): Workspace {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const store = join(dir, 'store');
  const identity = join(dir, 'config', 'vaultra', 'identity.txt');
  return {
    dir,
    store,
    storeUrl: pathToFileURL(store).href,
    identity,
    env: {
      ...base,
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_STATE_HOME: join(dir, 'state'),
      VAULTRA_IDENTITY: identity,
      VAULTRA_STORAGE: undefined,
      VAULTRA_CATALOG: undefined,
      VAULTRA_SCRYPT_WORK_FACTOR: undefined,
    },
  };
}
