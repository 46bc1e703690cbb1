/**
 * Secrets never leak from a MySQL/MariaDB backup or restore: not the database password (the
 * harness's MariaDB password starts with `canary-`), not a wrong password, not an age
 * passphrase given with `--passphrase-env`. Every command runs under a {@link CanaryWitness}
 * (test/support/canary.ts): shims for the MySQL tools, zstd and pigz log the argv and
 * environment they were started with, and a sampler reads the argv and environment of every
 * process vaultra starts. Then stdout, stderr, every byte of every file in the store (manifests,
 * catalog records, data objects), both witnesses and vaultra's TMPDIR are searched for each
 * canary. The password reaches the tools in a 0600 option file named by their first argument;
 * the test also checks that file is gone once vaultra has exited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plantCanaries, watchCanaries } from '../support/canary.js';
import { mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import { createMysqlDatabase, dropMysqlDatabase, loadMysqlFixture, mysqlFingerprints, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { PASSWORD_CANARY_PREFIX } from '../support/postgres-server.js';
import { requireMariadb, requireTools } from '../support/requirements.js';

const SHIMMED_TOOLS = ['mariadb-dump', 'mysqldump', 'mariadb', 'mysql', 'zstd', 'pigz'] as const;

describe('mysql: canary secrets never leak', () => {
  const server = requireMariadb();
  const tools = requireTools('mariadb', 'mariadb-dump', 'zstd');
  if (!server || !tools) return;

  const canaries = plantCanaries(server.password);
  const { password, wrongPassword, passphrase, wrongPassphrase } = canaries;

  const sourceDb = uniqueMysqlName('mycanary');
  const droppable = [sourceDb];
  const witness = watchCanaries({ prefix: 'vaultra-mysql-canary-', canaries, tools: SHIMMED_TOOLS, dropVariables: ['MYSQL_'], telemetry: true });
  const { vaultra } = witness;

  beforeAll(async () => {
    expect(password.startsWith(PASSWORD_CANARY_PREFIX)).toBe(true);
    await createMysqlDatabase(server, sourceDb);
    await loadMysqlFixture(server, sourceDb);
    await mysqlQuery(server, sourceDb, 'CREATE TABLE bulk (i INT PRIMARY KEY, a CHAR(32)) ENGINE=InnoDB; INSERT INTO bulk SELECT seq, MD5(seq) FROM seq_1_to_200000;');
  });

  afterAll(async () => {
    for (const db of droppable) await dropMysqlDatabase(server, db).catch(() => undefined);
  });

  it('backup, verify and restore with the password inline, and the backup encrypted with a passphrase (--passphrase-env)', async () => {
    const pass = { VAULTRA_CANARY_PASSPHRASE: passphrase };
    const made = await vaultra(['backup', mysqlUrl(server, sourceDb), '--to', witness.storeUrl, '--job', 'passphrase', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], pass);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ status: 'succeeded', engine: 'mysql', encryption: { recipients: [{ type: 'scrypt', workFactor: 12 }] } });
    const runId = (JSON.parse(made.stdout) as { runId: string }).runId;
    // The witnesses really watched the dump.
    expect([...made.argvSeen].join('\n')).toMatch(/mariadb-dump: \S*mariadb-dump --defaults-file=\S+ --single-transaction/);
    expect(made.environSeen.size).toBeGreaterThan(0);

    await witness.expectListsClean();
    const verified = await vaultra(['verify', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], pass);
    expect(verified.code, verified.stderr).toBe(0);

    const target = uniqueMysqlName('mycanary_to');
    droppable.push(target);
    const restored = await vaultra(['restore', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', mysqlUrl(server, target), '--json'], pass);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ status: 'restored', target: expect.stringContaining(':***@') });
    expect([...restored.argvSeen].join('\n')).toMatch(/mariadb: \S*mariadb --defaults-file=\S+ --batch --binary-mode/);
    expect(await mysqlFingerprints(server, target)).toEqual(await mysqlFingerprints(server, sourceDb));

    const other = uniqueMysqlName('mycanary_wrong');
    droppable.push(other);
    const refused = await vaultra(['restore', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', mysqlUrl(server, other)], { VAULTRA_CANARY_PASSPHRASE: wrongPassphrase });
    expect(refused.code).toBe(4);
    const dry = await vaultra(['restore', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', mysqlUrl(server, target), '--dry-run'], pass);
    expect(dry.code, dry.stderr).toBe(0);
    await witness.expectStoreClean();
  });

  it('failures: a wrong password, a non-empty target, a login refused on restore', async () => {
    const wrong = new URL(mysqlUrl(server, sourceDb));
    wrong.password = wrongPassword;
    const refused = await vaultra(['backup', wrong.toString(), '--to', witness.storeUrl, '--job', 'wrong-password', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE'], { VAULTRA_CANARY_PASSPHRASE: passphrase });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^vaultra: error: cannot read MySQL\/MariaDB database .*Access denied/);

    const made = await vaultra(['backup', mysqlUrl(server, sourceDb), '--to', witness.storeUrl, '--job', 'inline', '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--json'], { VAULTRA_CANARY_PASSPHRASE: passphrase });
    expect(made.code, made.stderr).toBe(0);
    const runId = (JSON.parse(made.stdout) as { runId: string }).runId;
    const conflict = await vaultra(['restore', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', mysqlUrl(server, sourceDb)], { VAULTRA_CANARY_PASSPHRASE: passphrase });
    expect(conflict.code).toBe(6);
    const badLogin = await vaultra(['restore', runId, '--from', witness.storeUrl, '--passphrase-env', 'VAULTRA_CANARY_PASSPHRASE', '--target', wrong.toString().replace(sourceDb, 'mycanary_never')], { VAULTRA_CANARY_PASSPHRASE: passphrase });
    expect(badLogin.code).toBe(1);
    expect(badLogin.stderr).toMatch(/Access denied/);
    await witness.expectStoreClean();
  });

  it('the final sweep: store, outputs, the argv and environment every tool was started with; the option files are gone', async () => {
    await witness.expectFinalSweepClean({ dataObject: /\/data\.sql\.zst\.age$/, tools: ['mariadb-dump', 'mariadb', 'zstd'] });
    // Every MySQL tool got its credentials as an option file, first argument, and that file is gone.
    const optionFile = (argv: readonly string[]) => /^--defaults(?:-extra)?-file=(.*)$/.exec(argv[1] ?? '')?.[1];
    const checked = await witness.expectCredentialsFilesGone(['mariadb-dump', 'mariadb', 'mysqldump', 'mysql'], optionFile, /\/vaultra-mysql-[^/]+\/client\.cnf$/);
    expect(checked).toBeGreaterThan(5);
    expect(witness.argvSeen.size).toBeGreaterThan(3);
  });
});
