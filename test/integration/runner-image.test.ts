/**
 * The runner image (runner/Dockerfile), built the way scripts/build-runner-image.sh builds it on
 * these machines, running as the Fargate task runs it (test/support/runner-container.ts): real
 * backups and restores of the run's PostgreSQL and MariaDB servers THROUGH the container, into a
 * local folder store mounted in, the restored databases compared with the sources table by table
 * (row counts and checksums of the rows, from real queries). Also what the image carries:
 * `vaultra doctor` inside it.
 *
 * One build per run (Docker's layer cache makes an unchanged tree's rebuild take seconds);
 * VAULTRA_RUNNER_IMAGE=<tag> uses a prebuilt image instead. Skipped locally when no Docker daemon
 * answers; fails under CI=true.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupJson, RestoreJson } from '../support/cli-json.js';
import { createMysqlDatabase, dropMysqlDatabase, loadMysqlFixture, mysqlFingerprints, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { requireMariadb, requirePostgres } from '../support/requirements.js';
import { CONTAINER_WORKSPACE, RUNNER_UID, requireDocker, runInRunner, runnerImage, runnerRunArgs, shareWithRunner, type RunnerRunOptions } from '../support/runner-container.js';

interface DoctorJson {
  ok: boolean;
  engines: { id: string; ready: boolean; tools: { anyOf: string[]; found: string | null; version: string | null; optional: boolean }[] }[];
}

/** Where Vaultra keeps its identity, signing key and state inside the container: the mounted workspace, so a restore finds what the backup made. */
const WORKSPACE_ENV = {
  XDG_CONFIG_HOME: `${CONTAINER_WORKSPACE}/config`,
  XDG_STATE_HOME: `${CONTAINER_WORKSPACE}/state`,
  VAULTRA_IDENTITY: `${CONTAINER_WORKSPACE}/config/vaultra/identity.txt`,
  NO_COLOR: '1',
};
const STORE_URL = `file://${CONTAINER_WORKSPACE}/store`;

describe('runner image', () => {
  const docker = requireDocker();
  const pg = requirePostgres();
  const mariadb = requireMariadb();
  if (!docker || !pg || !mariadb) return;

  let image = '';
  let root = '';
  const pgDatabases: string[] = [];
  const mysqlDatabases: string[] = [];

  /** A folder of its own for one test, mounted into the container; the runner's uid writes in it. */
  const workspace = (name: string): string => {
    const dir = join(root, name);
    mkdirSync(dir);
    shareWithRunner(dir);
    return dir;
  };

  const vaultraInRunner = async <T>(args: string[], options: Omit<RunnerRunOptions, 'env'>): Promise<T> => {
    const result = await runInRunner(image, [...args, '--json'], { ...options, env: WORKSPACE_ENV });
    expect(result.code, `vaultra ${args[0]} in the runner image: ${result.stderr}`).toBe(0);
    for (const secret of Object.values(options.secrets ?? {})) {
      expect(result.stdout + result.stderr).not.toContain(secret);
      expect(runnerRunArgs(image, args, options).join(' ')).not.toContain(secret);
    }
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-runner-image-'));
    image = await runnerImage();
  }, 50 * 60_000);

  afterAll(async () => {
    for (const name of pgDatabases) await dropDatabase(pg, name);
    for (const name of mysqlDatabases) await dropMysqlDatabase(mariadb, name);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('carries every engine\'s tools: vaultra doctor inside the image reports all ready', async () => {
    const report = await vaultraInRunner<DoctorJson>(['doctor'], { workspace: workspace('doctor') });
    const engines = Object.fromEntries(report.engines.map((engine) => [engine.id, engine]));
    expect(report.ok).toBe(true);
    expect(Object.fromEntries(report.engines.map((engine) => [engine.id, engine.ready]))).toEqual({ pipeline: true, postgres: true, mysql: true, mongodb: true, sqlite: true, directory: true, volume: true });
    // `found` is the path a tool was found at when it is not the bare name on PATH (pg_dump behind Debian's pg_wrapper).
    const version = (engine: string, tool: string): string | null | undefined => engines[engine]?.tools.find((t) => t.found !== null && t.anyOf.includes(tool))?.version;
    expect(version('postgres', 'pg_dump')).toMatch(/PostgreSQL\) 1[5-9]\./);
    expect(version('mysql', 'mariadb-dump')).toMatch(/MariaDB/);
    expect(version('mongodb', 'mongodump')).toMatch(/100\.12\.2/);
    // What a reader of the CI log wants to see: the versions this image was built with.
    console.info(`runner image ${image}: ${report.engines.flatMap((e) => e.tools.filter((t) => t.found).map((t) => `${t.found} ${t.version}`)).join('; ')}`);
  });

  it('backs up PostgreSQL and restores it into a new database through the container, content-equal', async () => {
    const source = uniqueDatabaseName('img_src');
    const copy = uniqueDatabaseName('img_copy');
    pgDatabases.push(source, copy);
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    const dir = workspace('postgres');
    const secrets = { PGPASSWORD: pg.password };
    const url = (database: string): string => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;

    const taken = await vaultraInRunner<BackupJson>(['backup', url(source), '--to', STORE_URL], { workspace: dir, secrets });
    expect(taken).toMatchObject({ job: source, status: 'succeeded', engine: 'postgres' });
    const restored = await vaultraInRunner<RestoreJson>(['restore', taken.runId, '--from', STORE_URL, '--target', url(copy)], { workspace: dir, secrets });
    expect(restored).toMatchObject({ runId: taken.runId, status: 'restored' });

    expect(await tableFingerprints(pg, copy)).toEqual(await tableFingerprints(pg, source));
    // Written by the runner's user, not root: the store and the identity it made on the first run.
    expect(statSync(join(dir, 'config', 'vaultra', 'identity.txt')).uid).toBe(RUNNER_UID);
  });

  it('backs up MariaDB and restores it into a new database through the container, content-equal', async () => {
    const source = uniqueMysqlName('img_src');
    const copy = uniqueMysqlName('img_copy');
    mysqlDatabases.push(source, copy);
    await createMysqlDatabase(mariadb, source);
    await loadMysqlFixture(mariadb, source);
    const dir = workspace('mariadb');
    const secrets = { MYSQL_PWD: mariadb.password };
    const url = (database: string): string => `mariadb://${mariadb.user}@${mariadb.host}:${mariadb.port}/${database}`;

    const taken = await vaultraInRunner<BackupJson>(['backup', url(source), '--to', STORE_URL], { workspace: dir, secrets });
    expect(taken).toMatchObject({ job: source, status: 'succeeded', engine: 'mysql' });
    const restored = await vaultraInRunner<RestoreJson>(['restore', taken.runId, '--from', STORE_URL, '--target', url(copy)], { workspace: dir, secrets });
    expect(restored).toMatchObject({ runId: taken.runId, status: 'restored' });

    expect(await mysqlFingerprints(mariadb, copy)).toEqual(await mysqlFingerprints(mariadb, source));
  });
});
