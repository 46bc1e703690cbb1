/**
 * The Lambda layer (layers/build.sh) under a foreign root (test/support/layer-root.ts): Debian
 * bullseye, glibc 2.31, no database tools of its own, Lambda's LD_LIBRARY_PATH pointing at its
 * own libc. Every tool starts from /opt and prints the locked version; every library a tool
 * loads is the layer's; each engine's dump goes through the layer's zstd and age to a file and
 * back into a fresh target, compared by content; and a second build gives the same zip.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOLS_LAYER_MARIADB_PLUGIN_DIR } from '../../core/platform/tools-layer.js';
import { repoRoot, vaultraBin } from '../support/cli.js';
import { waitForExit } from '../support/exec.js';
import { createDirectoryFixture, snapshotTree, treeDifferences } from '../support/dir-fixtures.js';
import { buildLayer, LAMBDA_LIKE_ENV, layerRoot, requireLayerRoot, type BuiltLayer, type LayerRoot } from '../support/layer-root.js';
import { createMysqlDatabase, dropMysqlDatabase, loadMysqlFixture, mysqlFingerprints, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { dropMongoDatabase, loadVariedFixture, mongoFingerprints, uniqueMongoDatabase } from '../support/mongo-fixtures.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { requireMariadb, requireMongo, requirePostgres, requireTools, unmet } from '../support/requirements.js';
import { createSqliteFixture, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { mysqlQuery, quoteString } from '../support/mysql-client.js';
import { PASSWORD_CANARY_PREFIX } from '../support/postgres-server.js';

/** A cold layer build and a cold bullseye root take minutes; cached, seconds. */
const SETUP_TIMEOUT_MS = 20 * 60_000;
const ROUND_TRIP_TIMEOUT_MS = 180_000;

/** Where each test's host work folder appears inside the root. */
const WORK = '/work';

/** Each tool, the locked package its version comes from, and how it prints that version. */
const TOOLS = [
  { tool: 'pg_dump', pkg: 'postgresql-client-15', says: (v: string) => `pg_dump (PostgreSQL) ${v}` },
  { tool: 'pg_restore', pkg: 'postgresql-client-15', says: (v: string) => `pg_restore (PostgreSQL) ${v}` },
  { tool: 'psql', pkg: 'postgresql-client-15', says: (v: string) => `psql (PostgreSQL) ${v}` },
  { tool: 'pg_basebackup', pkg: 'postgresql-client-15', says: (v: string) => `pg_basebackup (PostgreSQL) ${v}` },
  { tool: 'pg_receivewal', pkg: 'postgresql-client-15', says: (v: string) => `pg_receivewal (PostgreSQL) ${v}` },
  { tool: 'mariadb-dump', pkg: 'mariadb-client', says: (v: string) => `Distrib ${v}-MariaDB` },
  { tool: 'mariadb', pkg: 'mariadb-client-core', says: (v: string) => `Distrib ${v}-MariaDB` },
  // mariadb-binlog prints its own version, not the server's.
  { tool: 'mariadb-binlog', pkg: 'mariadb-client', says: () => 'mariadb-binlog Ver 3.5' },
  { tool: 'sqlite3', pkg: 'sqlite3', says: (v: string) => `${v} ` },
  { tool: 'zstd', pkg: 'zstd', says: (v: string) => `v${v},` },
  { tool: 'pigz', pkg: 'pigz', says: (v: string) => `pigz ${v}` },
  { tool: 'age', pkg: 'age', says: (v: string) => v },
  { tool: 'tar', pkg: 'tar', says: (v: string) => `tar (GNU tar) ${v}` },
  { tool: 'mongodump', pkg: 'mongo-tools', says: (v: string) => `mongodump version: ${v}` },
  { tool: 'mongorestore', pkg: 'mongo-tools', says: (v: string) => `mongorestore version: ${v}` },
] as const;

/** Upstream versions by package: layers/packages.lock's Debian versions without epoch and revision, and setup-mongo.sh's pin. */
function lockedVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(join(repoRoot, 'layers', 'packages.lock'), 'utf8').split('\n')) {
    const [role, name, version] = line.split(' ');
    if (role === 'ship' && name && version) versions[name] = version.replace(/^\d+:/, '').replace(/[-+].*$/, '');
  }
  versions['mongo-tools'] = /^TOOLS_VERSION=(.+)$/m.exec(readFileSync(join(repoRoot, 'scripts', 'setup-mongo.sh'), 'utf8'))?.[1] ?? '';
  return versions;
}

describe('the Lambda layer under a foreign root', () => {
  if (!requireLayerRoot()) return;
  const hostTools = requireTools('age-keygen');
  if (!hostTools) return;

  let layer: BuiltLayer;
  let lambda: LayerRoot;
  let work = '';
  let recipient = '';

  beforeAll(async () => {
    layer = await buildLayer();
    lambda = await layerRoot({ layerDir: layer.optDir });
    work = mkdtempSync(join(tmpdir(), 'vaultra-layer-'));
    // The key pair comes from this machine's age: only the layer's age is under test.
    execFileSync(hostTools['age-keygen'], ['-o', join(work, 'identity.txt')], { stdio: 'ignore' });
    recipient = execFileSync(hostTools['age-keygen'], ['-y', join(work, 'identity.txt')], { encoding: 'utf8' }).trim();
  }, SETUP_TIMEOUT_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs a bash script in the root with the work folder at /work; fails with its stderr. */
  async function inRoot(script: string, env: Record<string, string> = {}): Promise<string> {
    const result = await lambda.run(['bash', '-c', `set -euo pipefail\n${script}`], {
      env: { ...LAMBDA_LIKE_ENV, RECIPIENT: recipient, ...env },
      binds: [{ hostPath: work, path: WORK }],
      timeoutMs: ROUND_TRIP_TIMEOUT_MS,
    });
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  }

  /** The two halves of every round trip: dump | zstd | age to a file, then age -d | zstd -d | restore. */
  const sealTo = (name: string) => `zstd -q -c | age -r "$RECIPIENT" > ${WORK}/${name}`;
  const openFrom = (name: string) => `age -d -i ${WORK}/identity.txt ${WORK}/${name} | zstd -q -d -c`;

  describe('the root', () => {
    it('is foreign: glibc 2.31 and none of the database tools of its own', async () => {
      const glibc = await inRoot('ldd --version | head -n 1');
      expect(glibc).toContain('2.31');
      // tar is essential on Debian, so the root has its own; nothing else of the layer's.
      const own = await inRoot(`PATH=/usr/local/bin:/usr/bin:/bin; for t in ${TOOLS.map((t) => t.tool).join(' ')}; do command -v "$t" || true; done`);
      expect(own.trim().split('\n').filter((path) => !path.endsWith('/tar'))).toEqual([]);
      // With the layer first on PATH, every tool is the layer's, tar included.
      const found = await inRoot(`for t in ${TOOLS.map((t) => t.tool).join(' ')}; do command -v "$t"; done`);
      expect(found.trim().split('\n')).toEqual(TOOLS.map((t) => `/opt/bin/${t.tool}`));
    });

    it('streams through a spawned tool (the layer\'s zstd, both ways)', async () => {
      const input = randomBytes(256 * 1024);
      const compress = lambda.spawn(['zstd', '-q', '-c']);
      const decompress = lambda.spawn(['zstd', '-q', '-d', '-c']);
      compress.stdout!.pipe(decompress.stdin!);
      compress.stdin!.end(input);
      const output: Buffer[] = [];
      for await (const chunk of decompress.stdout!) output.push(chunk as Buffer);
      expect(Buffer.concat(output).equals(input)).toBe(true);
      expect([(await waitForExit(compress)).code, (await waitForExit(decompress)).code]).toEqual([0, 0]);
    });

    it('is read-only but for /tmp, as Lambda\'s is', async () => {
      const writes = await inRoot('for d in / /etc /opt /opt/bin /tmp; do if touch "$d/.probe" 2>/dev/null; then echo "$d writable"; else echo "$d read-only"; fi; done');
      expect(writes.trim().split('\n')).toEqual(['/ read-only', '/etc read-only', '/opt read-only', '/opt/bin read-only', '/tmp writable']);
    });
  });

  describe('every tool', () => {
    const versions = lockedVersions();
    it.each(TOOLS)('$tool starts from the layer and prints the locked version', async ({ tool, pkg, says }) => {
      const version = versions[pkg];
      expect(version, `no version for ${pkg}`).toBeTruthy();
      const printed = await inRoot(`${tool} --version`);
      expect(printed).toContain(says(version!));
    });

    it('loads only the layer\'s loader and libraries, whatever LD_LIBRARY_PATH says', async () => {
      // The loader's own resolution (what `ldd` prints), under Lambda's LD_LIBRARY_PATH.
      const listed = await inRoot(
        `for t in /opt/bin/*; do /opt/vaultra/lib/ld-linux-x86-64.so.2 --list "$t" 2>/dev/null || echo "$t: static"; done`,
      );
      const lines = listed.trim().split('\n');
      const resolved = lines.filter((line) => line.includes('=>')).map((line) => posix.normalize(line.split('=>')[1]!.trim().split(' ')[0]!));
      expect(resolved.length).toBeGreaterThan(20);
      expect(resolved.filter((path) => !path.startsWith('/opt/vaultra/lib/'))).toEqual([]);
      expect(lines.filter((line) => line.endsWith(': static'))).toEqual(['/opt/bin/mongodump: static', '/opt/bin/mongorestore: static']);
      expect(lines.filter((line) => line.includes('not found'))).toEqual([]);
      // And at run time: what a running tool has mapped. sqlite3 reads its own /proc/self/maps
      // (.import reads to the end; tools that trust the file's size, 0 in /proc, read nothing).
      const maps = await inRoot(`printf 'create table maps(line);\n.import /proc/self/maps maps\nselect line from maps;\n' | sqlite3`);
      const mapped = [...new Set(maps.split('\n').map((line) => line.split(/\s+/)[5] ?? '').filter((path) => path.startsWith('/')))];
      expect(mapped).toContain('/opt/vaultra/lib/libsqlite3.so.0');
      expect(mapped).toContain('/opt/vaultra/lib/libc.so.6');
      expect(mapped.filter((path) => !path.startsWith('/opt/') && !path.startsWith('/proc/'))).toEqual([]);
    });
  });

  describe('postgresql round trip', () => {
    const pg = requirePostgres();
    if (!pg) return;
    const source = uniqueDatabaseName('layer_src');
    const target = uniqueDatabaseName('layer_dst');

    beforeAll(async () => {
      await createDatabase(pg, source);
      await loadVariedTypesFixture(pg, source);
      await createDatabase(pg, target);
    }, ROUND_TRIP_TIMEOUT_MS);
    afterAll(async () => {
      await dropDatabase(pg, source);
      await dropDatabase(pg, target);
    });

    it('pg_dump | zstd | age, then age -d | zstd -d | pg_restore: the same tables and rows', async () => {
      // The password travels in PGPASSWORD, never in argv.
      const env = { PGHOST: '127.0.0.1', PGPORT: String(pg.port), PGUSER: pg.user, PGPASSWORD: pg.password };
      await inRoot(`pg_dump --format=custom --dbname="$SOURCE" | ${sealTo('pg.age')}`, { ...env, SOURCE: source });
      await inRoot(`${openFrom('pg.age')} | pg_restore --no-owner --exit-on-error --dbname="$TARGET"`, { ...env, TARGET: target });
      expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, source));
    });
  });

  describe('mariadb round trip', () => {
    const server = requireMariadb();
    if (!server) return;
    const source = uniqueMysqlName('layer_src');
    const target = uniqueMysqlName('layer_dst');

    beforeAll(async () => {
      await createMysqlDatabase(server, source);
      await loadMysqlFixture(server, source);
      await createMysqlDatabase(server, target);
    }, ROUND_TRIP_TIMEOUT_MS);
    afterAll(async () => {
      await dropMysqlDatabase(server, source);
      await dropMysqlDatabase(server, target);
    });

    it('mariadb-dump | zstd | age, then age -d | zstd -d | mariadb: the same tables and rows', async () => {
      const env = { MYSQL_PWD: server.password, DB_PORT: String(server.port), DB_USER: server.user };
      const connect = '--protocol=TCP --host=127.0.0.1 --port="$DB_PORT" --user="$DB_USER"';
      await inRoot(`mariadb-dump ${connect} --single-transaction --routines --events --triggers "$SOURCE" | ${sealTo('mariadb.age')}`, { ...env, SOURCE: source });
      await inRoot(`${openFrom('mariadb.age')} | mariadb ${connect} "$TARGET"`, { ...env, TARGET: target });
      expect(await mysqlFingerprints(server, target)).toEqual(await mysqlFingerprints(server, source));
    });

    it('loads its client authentication plugins from the layer through MARIADB_PLUGIN_DIR', async () => {
      // ed25519 is a client plugin libmariadb loads with dlopen, as MySQL 8's caching_sha2_password.
      await mysqlQuery(server, undefined, "INSTALL SONAME 'auth_ed25519'").catch((error: unknown) => {
        if (!String(error).includes('already')) throw error;
      });
      const user = uniqueMysqlName('layer_ed');
      const password = `${PASSWORD_CANARY_PREFIX}${randomBytes(8).toString('hex')}`;
      await mysqlQuery(server, undefined, `CREATE USER ${quoteString(user)}@'%' IDENTIFIED VIA ed25519 USING PASSWORD(${quoteString(password)})`);
      try {
        const query = 'mariadb --protocol=TCP --host=127.0.0.1 --port="$DB_PORT" --user="$DB_USER" --batch --skip-column-names -e "SELECT CURRENT_USER()"';
        const { MARIADB_PLUGIN_DIR: pluginDir, ...withoutPluginDir } = LAMBDA_LIKE_ENV;
        expect(pluginDir).toBe(TOOLS_LAYER_MARIADB_PLUGIN_DIR);
        const env = { MYSQL_PWD: password, DB_PORT: String(server.port), DB_USER: user };
        // Without the variable the client looks in Debian's plugin folder, which the root has not.
        const without = await lambda.run(['bash', '-c', query], { env: { ...withoutPluginDir, ...env } });
        expect(without.stderr).toContain('client_ed25519');
        const who = await inRoot(query, env);
        expect(who.trim()).toBe(`${user}@%`);
      } finally {
        await mysqlQuery(server, undefined, `DROP USER ${quoteString(user)}@'%'`);
      }
    });
  });

  describe('sqlite and tar round trips', () => {
    it('sqlite3 .dump | zstd | age, then back into a new database: the same tables and rows', async () => {
      await createSqliteFixture(join(work, 'source.db'));
      await inRoot(`sqlite3 ${WORK}/source.db .dump | ${sealTo('sqlite.age')}`);
      await inRoot(`${openFrom('sqlite.age')} | sqlite3 ${WORK}/restored.db`);
      expect(await sqliteFingerprints(join(work, 'restored.db'))).toEqual(await sqliteFingerprints(join(work, 'source.db')));
    });

    it('tar | zstd | age, then back into an empty folder: the same tree, modes, owners and mtimes', async () => {
      await createDirectoryFixture(join(work, 'tree'));
      mkdirSync(join(work, 'restored-tree'));
      // The create flags of core/adapters/engines/directory/tar-tool.ts, the extract flags of directory-restore.ts.
      await inRoot(`tar --create --file=- --format=posix --numeric-owner --sparse --xattrs --acls --sort=name -C ${WORK}/tree . 2>/dev/null | ${sealTo('tree.age')}`);
      await inRoot(`${openFrom('tree.age')} | tar --extract --file=- --preserve-permissions --numeric-owner --same-owner --xattrs --acls -C ${WORK}/restored-tree`);
      const expected = Object.fromEntries(Object.entries(await snapshotTree(join(work, 'tree'), { skipRoot: true })).filter(([, entry]) => entry.type !== 'socket'));
      expect(treeDifferences(expected, await snapshotTree(join(work, 'restored-tree'), { skipRoot: true }))).toEqual({});
    });
  });

  describe('mongodb round trip', () => {
    const server = requireMongo();
    if (!server) return;
    const source = uniqueMongoDatabase('layer_src');
    const target = uniqueMongoDatabase('layer_dst');

    beforeAll(async () => {
      await loadVariedFixture(server, source);
    }, ROUND_TRIP_TIMEOUT_MS);
    afterAll(async () => {
      await dropMongoDatabase(server, source);
      await dropMongoDatabase(server, target);
    });

    it('mongodump --archive | zstd | age, then back through mongorestore: the same documents and indexes', async () => {
      // The connection in a config file, as the runner passes it (core/adapters/engines/mongodb/mongo-tools.ts).
      writeFileSync(join(work, 'mongo.yaml'), `uri: ${JSON.stringify(server.url)}\n`, { mode: 0o600 });
      await inRoot(`mongodump --quiet --config=${WORK}/mongo.yaml --db="$SOURCE" --archive | ${sealTo('mongo.age')}`, { SOURCE: source });
      await inRoot(`${openFrom('mongo.age')} | mongorestore --quiet --config=${WORK}/mongo.yaml --archive --nsFrom="$SOURCE.*" --nsTo="$TARGET.*"`, { SOURCE: source, TARGET: target });
      expect(await mongoFingerprints(server, target)).toEqual(await mongoFingerprints(server, source));
    });
  });

  describe('the built CLI on Node.js inside the root', () => {
    if (!existsSync(vaultraBin)) {
      unmet('the built CLI', 'dist/vaultra.mjs is missing; run npm run build');
      return;
    }
    // Ubuntu jammy (glibc 2.35): the CLI loads zstd-napi at start, and its addon, built on this
    // machine, needs glibc 2.34, which Lambda has and bullseye (2.31) has not.
    let jammy: LayerRoot;
    const cli = (args: readonly string[]) =>
      jammy.run(['node', '/var/task/dist/vaultra.mjs', ...args], {
        env: { ...LAMBDA_LIKE_ENV, HOME: `${WORK}/cli-home`, NO_COLOR: '1' },
        binds: [
          { hostPath: join(repoRoot, 'dist'), path: '/var/task/dist', readOnly: true },
          { hostPath: realpathSync(join(repoRoot, 'node_modules')), path: '/var/task/node_modules', readOnly: true },
          { hostPath: work, path: WORK },
        ],
        cwd: WORK,
        timeoutMs: ROUND_TRIP_TIMEOUT_MS,
      });

    beforeAll(async () => {
      jammy = await layerRoot({ layerDir: layer.optDir, suite: 'jammy' });
    }, SETUP_TIMEOUT_MS);

    it('finds every engine\'s tools in the layer (vaultra doctor)', async () => {
      const doctor = await cli(['doctor', '--engine', 'postgres,mysql,mongodb,sqlite,directory']);
      expect(doctor.code, doctor.stderr).toBe(0);
      expect(doctor.stdout).toContain(`pg_dump (PostgreSQL) ${lockedVersions()['postgresql-client-15']}`);
      expect(doctor.stdout).not.toMatch(/\babsent\b/);
    });

    it('backs up and restores a SQLite database with the layer\'s tools: the same tables and rows', async () => {
      await createSqliteFixture(join(work, 'cli-source.db'));
      const backup = await cli(['backup', `sqlite:${WORK}/cli-source.db`, '--to', `file://${WORK}/cli-backups`, '--no-progress']);
      expect(backup.code, backup.stderr).toBe(0);
      expect(backup.stdout).toContain('(sqlite3 3.40.1)');
      const restore = await cli(['restore', 'latest', '--from', `file://${WORK}/cli-backups`, '--target', `sqlite:${WORK}/cli-restored.db`, '--no-progress']);
      expect(restore.code, restore.stderr).toBe(0);
      expect(await sqliteFingerprints(join(work, 'cli-restored.db'))).toEqual(await sqliteFingerprints(join(work, 'cli-source.db')));
    });
  });

  describe('the build', () => {
    it('is reproducible: a second build from the same lock gives the same zip, byte for byte', async () => {
      const again = await buildLayer(join(work, 'second-build'));
      expect(again.zipSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(again.zipSha256).toBe(layer.zipSha256);
      expect(readFileSync(join(again.optDir, 'vaultra', 'SHA256SUMS'), 'utf8')).toBe(readFileSync(join(layer.optDir, 'vaultra', 'SHA256SUMS'), 'utf8'));
    }, SETUP_TIMEOUT_MS);
  });
});
