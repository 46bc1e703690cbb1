import type { SecretResolver } from '../../ports/secret-resolver.js';
import { registerSecret } from '../../domain/redact.js';
import { secretScheme, type SecretScheme } from '../../domain/connection-secret.js';
import { ConfigError } from '../../errors.js';

export type ResolveSecret = (value: string, signal?: AbortSignal) => Promise<string>;

/**
 * A `resolveSecret` over a chosen set of resolvers. The CLI gets every scheme
 * (secret-resolvers.ts); a function bundle passes only its own cloud's, so the bundle holds one
 * SDK, not three. The value is registered for redaction before anyone can log it; values that
 * are not references are returned as they are.
 */
export function secretResolve(resolverFor: (scheme: SecretScheme) => Promise<SecretResolver>): ResolveSecret {
  return async (value, signal) => {
    const scheme = secretScheme(value);
    if (!scheme) return value;
    const resolved = await (await resolverFor(scheme)).resolve(value, signal);
    if (!resolved) throw new ConfigError(`the secret ${value} is empty`);
    registerSecret(resolved);
    return resolved;
  };
}
