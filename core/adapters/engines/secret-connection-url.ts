import { ConfigError } from '../../errors.js';
import { registerSecret } from '../../domain/redact.js';
import { SECRET_ENGINES, schemeForSecretEngine } from './engine-descriptors.js';

/**
 * Turns a resolved connection secret into a database URL. The secret is either a URL already
 * (`postgres://…`, `mysql://…`, `mongodb://…`) or the JSON shape AWS RDS rotation keeps
 * (`{ "engine": "postgres", "host", "port", "username", "password", "dbname" }`).
 * Errors never quote the secret.
 */
export function connectionUrlFromSecret(value: string): string {
  const text = value.trim();
  if (!text.startsWith('{')) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(text)) return text;
    throw new ConfigError('the connection secret is neither a database URL nor a JSON object with engine, host, username and password');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('the connection secret looks like JSON but does not parse');
  }
  const secret = parsed as Record<string, unknown>;
  const field = (name: string): string | undefined => (typeof secret[name] === 'string' || typeof secret[name] === 'number' ? String(secret[name]) : undefined);
  const engine = field('engine');
  const host = field('host');
  const username = field('username');
  const password = field('password');
  const missing = [['engine', engine], ['host', host], ['username', username], ['password', password]].filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length > 0) throw new ConfigError(`the connection secret's JSON lacks ${missing.join(', ')} (the RDS secret shape: engine, host, port, username, password, dbname)`);
  // The password travels on inside a URL: redact it on its own, not only as part of the JSON.
  registerSecret(password!);
  registerSecret(encodeURIComponent(password!));
  const scheme = schemeForEngine(engine!);
  const port = field('port');
  const database = field('dbname') ?? field('database');
  const authority = `${encodeURIComponent(username!)}:${encodeURIComponent(password!)}@${host}${port ? `:${port}` : ''}`;
  return `${scheme}://${authority}/${database ? encodeURIComponent(database) : ''}`;
}

/** RDS `engine` values (and the usual spellings) → Vaultra URL schemes, as the engine descriptors list them. */
function schemeForEngine(engine: string): string {
  const scheme = schemeForSecretEngine(engine);
  if (scheme) return scheme;
  throw new ConfigError(`the connection secret names engine "${engine}", which Vaultra does not back up (${SECRET_ENGINES})`);
}
