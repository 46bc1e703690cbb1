import { resolve } from 'node:path';
import { ConfigError } from '../../../errors.js';

/**
 * `sqlite:/abs/path`, `sqlite:rel/path`, `sqlite:///abs/path`, `sqlite://./rel` → an absolute
 * path. A path that is empty, blank or ends in `/` names no database file (`sqlite://` would
 * otherwise be read as the folder `/`).
 */
export function sqlitePath(url: string): string {
  const path = /^sqlite:/i.test(url) ? url.slice('sqlite:'.length).replace(/^\/\/(?=.)/, '') : '';
  if (path.trim() === '' || path === '//' || path.endsWith('/')) throw new ConfigError(`malformed SQLite URL ${url}: expected sqlite:<path to a database file>`);
  return resolve(path);
}
