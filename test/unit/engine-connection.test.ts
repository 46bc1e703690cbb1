import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { engineById, engineIdForUrl } from '../../core/adapters/engines/engines.js';
import { ConfigError } from '../../core/errors.js';

const CANARY = 'canary-Pw-7f3e9b';

/** One URL per engine that carries a password, and what it may be shown as. */
const SOURCES = [
  [`postgres://app:${CANARY}@db.internal:5433/shop?sslmode=require`, 'db.internal:5433/shop'],
  [`mariadb://app:${CANARY}@db.internal:3307/shop`, 'shop'],
  [`mongodb://app:${CANARY}@db1.internal:27017,db2.internal/events?authSource=admin`, 'events'],
  ['sqlite:/var/lib/app/main.db', '/var/lib/app/main.db'],
  ['dir:/srv/uploads', '/srv/uploads'],
] as const;

const parse = (url: string) => engineById(engineIdForUrl(url)).parse(url);

describe('connections parsed once by their engine', () => {
  it.each(SOURCES)('%s: every printed or serialized form is the safe one, never the password', (url, shown) => {
    const connection = parse(url);
    expect(connection.engine).toBe(engineIdForUrl(url));
    expect(connection.describe()).toContain(shown);
    for (const printed of [String(connection), `${connection}`, connection.describe(), JSON.stringify({ connection }), inspect(connection, { depth: 5, showHidden: true }), inspect({ nested: [connection] })]) {
      expect(printed).not.toContain(CANARY);
      expect(printed).not.toContain(encodeURIComponent(CANARY));
    }
    expect(Object.keys(connection)).toEqual(['engine']);
  });

  it.each([
    [`postgres://app:${CANARY}@db:/shop`, /port is empty/],
    [`postgres://app:${CANARY}@db/shop?bogus=1`, /unsupported PostgreSQL URL parameter "bogus"/],
    [`mysql://app:${CANARY}@db:3306`, /must name a database/],
    [`mongodb://app:${CANARY}@/events`, /./],
    ['sqlite:', /malformed SQLite URL/],
    ['dir:', /malformed directory URL/],
  ])('%s: a bad URL is one ConfigError line without the password', (url, problem) => {
    let error: unknown;
    try {
      parse(url);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(problem);
    expect(message).not.toContain('\n');
    expect(message).not.toContain(CANARY);
  });
});
