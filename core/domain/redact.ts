/**
 * Removes secrets from text that is about to leave the process (error messages, stderr tails,
 * logs). Two layers: the exact secret values the runner resolved (registered with
 * {@link registerSecret}), and a pattern for credentials embedded in URLs, which catches
 * secrets the runner never saw (a tool echoing its own connection string).
 */
const knownSecrets = new Set<string>();

/** Remember a resolved secret so every later `redact()` removes it. Short values are ignored: redacting "a" would shred every message. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) knownSecrets.add(value);
}

const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@/\s]*@/gi;
const passwordAssignment = /(password\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi;

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join('***');
  return out.replace(urlCredentials, '$1***@').replace(passwordAssignment, '$1***');
}

/**
 * A URL to quote in a message: everything between the scheme and the last `@` (user name and
 * password, however malformed) replaced by `…`. For values that are not known to be secret
 * but may carry one, such as a source URL being refused.
 */
export function withoutCredentials(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:(?:\/\/)?/i.exec(url)?.[0] ?? '';
  const at = url.lastIndexOf('@');
  return at > scheme.length ? `${scheme}…${url.slice(at)}` : url;
}
