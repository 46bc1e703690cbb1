/**
 * A storage URL split where object keys go. A location such as
 * `azblob://acct/c/p?endpoint=http://127.0.0.1:10000/acct` carries options after its path; a
 * key joined to the end of the string would land inside the query
 * (`…?endpoint=http://…/acct/app/2026/…`), so keys are joined to the root and the query is put
 * back at the end. Every store renders the same way: `file://`, `s3://…?region=…`, `gs://`,
 * `azblob://…?endpoint=…`.
 */
export interface StorageLocation {
  /** `scheme://…/<prefix>`, never ending in `/` (except a bare `file:///`). */
  readonly root: string;
  /** The options, without `?`; `''` when there are none. */
  readonly query: string;
}

/**
 * Splits a storage URL (a backend's `location`) into root and query. A `?` can only start the
 * query: backends print paths percent-encoded (`file:` URLs encode `?` as `%3F`).
 */
export function parseStorageLocation(url: string): StorageLocation {
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const root = /^[a-z][a-z0-9+.-]*:\/\/\/?$/i.test(path) ? path : path.replace(/\/+$/, '');
  return { root, query: at < 0 ? '' : url.slice(at + 1) };
}

/** The URL of `key` (a relative, `/`-separated object key or folder) in `location`: the query stays at the end. */
export function renderStorageLocation(location: StorageLocation, key = ''): string {
  const path = key === '' ? location.root : `${location.root.replace(/\/$/, '')}/${key.replace(/^\/+/, '')}`;
  return location.query ? `${path}?${location.query}` : path;
}

/**
 * `key` inside the storage URL `location`, e.g. a run folder's URL for messages and run records.
 *
 * @example
 * storageUrlOf('azblob://a/c/p?endpoint=http://h/a', 'app/2026/12/06/r1') // 'azblob://a/c/p/app/2026/12/06/r1?endpoint=http://h/a'
 */
export function storageUrlOf(location: string, key: string): string {
  return renderStorageLocation(parseStorageLocation(location), key);
}
