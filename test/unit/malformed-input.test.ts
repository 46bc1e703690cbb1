/**
 * Defect 7 of issue 12: malformed input must be a config error (exit 2) whose one line names
 * the file, the field and the value — never an internal error, a hang or a silent guess.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../core/config/load-config.js';
import { MAX_ALIASES } from '../../core/config/read-yaml.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { parsePostgresUrl } from '../../core/adapters/engines/postgres/postgres-connection.js';
import { ConfigError } from '../../core/errors.js';
import { exitCodeFor } from '../../runner/exit-codes.js';

/** What the CLI would do with it: the error, its exit code and its one line. */
function failureOf(act: () => unknown): { error: unknown; exit: number; message: string } {
  try {
    act();
  } catch (error) {
    return { error, exit: exitCodeFor(error), message: (error as Error).message };
  }
  throw new Error('expected a failure');
}

function localConfig(source: string): string {
  return JSON.stringify({
    version: 1,
    environments: { dev: { cloud: 'local', storage: { url: 'file:///tmp/vaultra-test' }, jobs: { shop: { source, schedule: { cron: '0 3 * * *' } } } } },
  });
}

/** Billion laughs: ten levels of nine aliases each, 9^10 strings once expanded. */
function yamlBomb(): string {
  const lines = ['version: 1', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let level = 1; level < 10; level += 1) lines.push(`a${level}: &a${level} [${Array(9).fill(`*a${level - 1}`).join(',')}]`);
  lines.push('environments: *a9');
  return lines.join('\n');
}

describe('malformed config files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-malformed-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['an alias inside the node it names (source)', 'version: 1\nenvironments:\n  dev:\n    cloud: local\n    jobs:\n      x: &j\n        source: *j\n', /^circ\.yaml:7: alias \*j is inside the node &j it refers to, a circular reference$/],
    ['an alias inside the node it names (list)', 'version: &v [*v]\nenvironments: {}\n', /^circ\.yaml:1: alias \*v is inside the node &v/],
    ['an alias inside the node it names (mapping)', 'version: 1\nenvironments: &e\n  dev: *e\n', /^circ\.yaml:3: alias \*e is inside the node &e/],
    ['an alias to no anchor', 'version: 1\nenvironments: *nowhere\n', /^circ\.yaml:2: alias \*nowhere names no anchor &nowhere above it$/],
    ['a list as a mapping key', 'version: 1\n? [a, b]\n: 1\n', /^circ\.yaml:2: a mapping key must be a plain value, not a list$/],
  ])('%s: exit 2, one line with file and line', (_what, text, message) => {
    const failure = failureOf(() => parseConfig(text, 'circ.yaml'));
    expect(failure.error).toBeInstanceOf(ConfigError);
    expect(failure.exit).toBe(2);
    expect(failure.message).toMatch(message);
  });

  it('a YAML bomb (billion laughs): exit 2 naming the file, quickly', async () => {
    const path = join(dir, 'bomb.yaml');
    await writeFile(path, yamlBomb());
    const started = Date.now();
    const error = await loadConfig(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(exitCodeFor(error)).toBe(2);
    expect((error as Error).message).toBe(`${path}: its YAML aliases expand to more than 1,000,000 values (a "billion laughs" document?)`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('too many aliases (the library resolves them in quadratic time): refused before resolving', () => {
    const text = `version: 1\nx: &n 1\ny: [${Array(MAX_ALIASES + 1).fill('*n').join(', ')}]\n`;
    const started = Date.now();
    const failure = failureOf(() => parseConfig(text, 'many.yaml'));
    expect(failure.message).toBe(`many.yaml:3: more than ${MAX_ALIASES} YAML aliases; share fields among jobs with the environment's defaults: instead`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('nesting deep enough to overflow the parser: exit 2, one line', () => {
    const failure = failureOf(() => parseConfig(`${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'deep.yaml'));
    expect(failure.exit).toBe(2);
    expect(failure.message).toMatch(/^deep\.yaml(:\d+)?: nested too deeply to read/);
    const nested = failureOf(() => parseConfig(`version: 1\nenvironments: ${'['.repeat(100)}${']'.repeat(100)}\n`, 'deep.yaml'));
    expect(nested.message).toMatch(/^deep\.yaml: environments(\.0)+: nested deeper than 64 levels$/);
  });

  it('aliases that are not circular still work, and one anchor may be used more than 100 times', () => {
    const jobs = Array.from({ length: 150 }, (_, i) => `      job-${i}: { source: "sqlite:/data/${i}.db", schedule: *nightly }`).join('\n');
    const text = `version: 1\nenvironments:\n  dev:\n    cloud: local\n    defaults:\n      rpo: 26h\n      schedule: &nightly { cron: "0 3 * * *" }\n    jobs:\n${jobs}\n`;
    const config = parseConfig(text);
    expect(config.environments.get('dev')!.jobs).toHaveLength(150);
  });
});

describe('source URLs with empty parts', () => {
  it.each([
    ['postgres://', /source: malformed PostgreSQL URL: no database named: .* \(got "postgres:\/\/"\)$/],
    ['postgresql://db.internal', /no database named/],
    ['postgres:///', /no database named/],
    ['postgres:', /malformed PostgreSQL URL: expected postgres:\/\//],
    ['postgres://@db/shop', /the user name is empty/],
    ['postgres://db:/shop', /the port is empty/],
    ['postgres://db/shop?sslmode=', /parameter "sslmode" has no value/],
    ['mysql://', /must name a database/],
    ['mariadb://db', /must name a database/],
    ['mysql://db:/shop', /the port is empty/],
    ['mysql://@db/shop', /the user name is empty/],
    ['mysql://db/shop?socket=', /parameter "socket" has no value/],
    ['mongodb://', /no host/],
    ['mongodb://db:/events', /an empty host or port/],
    ['mongodb://db1,,db2/events', /an empty host or port/],
    ['mongodb://@db/events', /the user name before "@" is empty/],
    ['mongodb://db/events?replicaSet=', /option "replicaSet" has no value/],
    ['sqlite:', /malformed SQLite URL/],
    ['sqlite://', /malformed SQLite URL/],
    ['sqlite:///', /malformed SQLite URL/],
    ['sqlite:   ', /malformed SQLite URL/],
    ['dir:', /malformed directory URL/],
    ['dir://', /malformed directory URL/],
    ['dir:  ', /malformed directory URL/],
  ])('%s in a local config: exit 2, naming file, field and value', (source, message) => {
    const failure = failureOf(() => parseConfig(localConfig(source), 'vaultra.config.yaml', { checkSource: checkDatabaseUrl }));
    expect(failure.exit).toBe(2);
    expect(failure.message).toMatch(/^vaultra\.config\.yaml: environments\.dev\.jobs\.shop\.source: /);
    expect(failure.message).toMatch(message);
    expect(failure.message).toContain(`(got ${JSON.stringify(source)})`);
    expect(failure.message).not.toContain('\n');
  });

  it('the value shown never carries the user name or password', () => {
    const failure = failureOf(() => checkDatabaseUrl('postgres://app:pw-canary@db:/shop', 'source'));
    expect(failure.message).toBe('source: malformed PostgreSQL URL: the port is empty; leave out the ":" or fill it in (got "postgres://…@db:/shop")');
  });

  it('postgres:// alone is no longer read as "local socket, database postgres"', () => {
    expect(() => parsePostgresUrl('postgres://')).toThrow(ConfigError);
    // What stays valid: the local socket with a database, a database given as a parameter, and
    // libpq's own rule for a URL naming its user (an RDS-managed secret has no dbname).
    expect(parsePostgresUrl('postgres:///shop').display).toBe('localhost/shop');
    expect(parsePostgresUrl('postgres://app@db?dbname=shop').database).toBe('shop');
    expect(parsePostgresUrl('postgres://app@db:5432/').display).toBe('db:5432/app');
  });

  it.each(['postgres://app@db.internal:5432/shop', 'mysql://app@db/shop', 'mongodb://db1:27017,db2/events', 'mongodb://db', 'sqlite:./app.db', 'dir:/srv/data', 'dir:///'])('%s is accepted', (source) => {
    expect(() => parseConfig(localConfig(source))).not.toThrow();
  });
});
