/**
 * The part of a URL's authority (`//user:password@host:port`) written but left empty: `user`
 * for `//@host` or `//:pw@host`, `port` for `//host:/db`. WHATWG `URL` reads both as "not
 * given", so `postgres://@db:/shop` would silently mean something the user did not write.
 */
export function emptyAuthorityPart(url: string): 'user' | 'port' | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1];
  if (authority === undefined) return undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0 && /^(?::|$)/.test(authority.slice(0, at))) return 'user';
  const hosts = authority.slice(at + 1);
  if (hosts.split(',').some((host) => host.endsWith(':'))) return 'port';
  return undefined;
}
