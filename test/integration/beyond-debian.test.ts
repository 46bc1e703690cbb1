/**
 * The CLI where Linux's conveniences are missing or tools go by other names (issue 21, point 5),
 * through the built CLI (`npm run build` first) on this Linux machine:
 *
 * - progress without `/proc/<pid>/io` (`VAULTRA_PROC_PROGRESS=0`, as on macOS and Windows): the
 *   zstd stage reports 0 dumped bytes until its exact count, and backups are the same;
 * - GNU tar found as `gtar` when `tar` is another tar (macOS: bsdtar; Homebrew's gnu-tar installs
 *   `gtar`): shims first on PATH, a `tar` that answers like bsdtar (and fails if run for real)
 *   and a `gtar` that runs GNU tar and logs each call;
 * - PostgreSQL tools only in a Homebrew-like keg (`opt/homebrew/opt/postgresql@<major>/bin`)
 *   under `VAULTRA_PG_SEARCH_ROOT`, none on PATH.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZstdCliCompressor } from '../../core/adapters/compression/zstd-cli-compressor.js';
import { dumpProgress } from '../../runner/progress.js';
import { runVaultra } from '../support/cli.js';
import type { BackupJson, RestoreJson } from '../support/cli-json.js';
import { makeWorkspace } from '../support/workspace.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { createDatabase, dropDatabase } from '../support/pg-fixtures.js';
import { pgEnv, psqlRows } from '../support/psql.js';

const MIB = 1024 * 1024;

describe('progress without /proc (VAULTRA_PROC_PROGRESS=0)', () => {
  const tools = requireTools('zstd');
  if (!tools) return;

  /** Compresses a producer that writes 1 MiB, pauses, then writes 1 MiB more; `during` is read in the pause. */
  async function compressWithPause(env: NodeJS.ProcessEnv): Promise<{ during: number; after: number }> {
    const saved = process.env.VAULTRA_PROC_PROGRESS;
    if (env.VAULTRA_PROC_PROGRESS === undefined) delete process.env.VAULTRA_PROC_PROGRESS;
    else process.env.VAULTRA_PROC_PROGRESS = env.VAULTRA_PROC_PROGRESS;
    try {
      const compression = await new ZstdCliCompressor(3, 'test').open();
      const script = `const b = Buffer.alloc(${MIB}, 7); process.stdout.write(b, () => setTimeout(() => process.stdout.write(b), 1500));`;
      const producer = spawn(process.execPath, ['-e', script], { stdio: ['ignore', compression.direct!.pipe, 'inherit'] });
      const exited = new Promise<Error | undefined>((resolve) => producer.once('exit', (code) => resolve(code === 0 ? undefined : new Error(`producer exit ${code}`))));
      compression.direct!.producerDone(exited, producer.pid);
      compression.output.resume();
      await new Promise((resolve) => setTimeout(resolve, 900));
      const during = compression.plaintextBytes();
      await finished(compression.output);
      return { during, after: compression.plaintextBytes() };
    } finally {
      if (saved === undefined) delete process.env.VAULTRA_PROC_PROGRESS;
      else process.env.VAULTRA_PROC_PROGRESS = saved;
    }
  }

  it("counts a direct producer's bytes from /proc on Linux, and nothing before zstd's exact count without it", async () => {
    const withProc = await compressWithPause({});
    const withoutProc = await compressWithPause({ VAULTRA_PROC_PROGRESS: '0' });

    expect(withProc.during).toBeGreaterThanOrEqual(MIB);
    expect(withProc.during).toBeLessThan(2 * MIB);
    expect(withoutProc.during).toBe(0);
    expect([withProc.after, withoutProc.after]).toEqual([2 * MIB, 2 * MIB]);
  });

  it('the progress line shows the stored bytes until the dump size is known', () => {
    expect(dumpProgress({ bytesRaw: 0, bytesStored: 3 * MIB })).toEqual({ bytes: 3 * MIB, detail: 'stored; dump size at the end' });
    expect(dumpProgress({ bytesRaw: 9 * MIB, bytesStored: 3 * MIB })).toEqual({ bytes: 9 * MIB, detail: '3.0 MiB stored' });
  });
});

describe('GNU tar as gtar, tar being another tar, and no /proc progress (directory round trip)', () => {
  const tools = requireTools('tar', 'zstd');
  if (!tools) return;
  let root = '';
  let shims = '';

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-beyond-debian-'));
    shims = join(root, 'bin');
    mkdirSync(shims);
    writeFileSync(join(shims, 'tar'), '#!/bin/sh\nif [ "$1" = --version ]; then echo "bsdtar 3.5.3 - libarchive 3.5.3 zlib/1.2.11"; exit 0; fi\necho "bsdtar shim run for real: $*" >&2\nexit 64\n', { mode: 0o755 });
    writeFileSync(join(shims, 'gtar'), `#!/bin/sh\necho "$1" >> ${join(root, 'gtar-calls.log')}\nexec ${tools.tar} "$@"\n`, { mode: 0o755 });
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up, verifies and restores through gtar, never the other tar, byte for byte', async () => {
    const source = join(root, 'source');
    mkdirSync(join(source, 'sub'), { recursive: true });
    const files = { 'a.txt': randomBytes(200_000), 'sub/b.bin': randomBytes(3 * MIB), 'sub/empty': Buffer.alloc(0) };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(source, name), bytes);
    const ws = makeWorkspace(root, 'ws', { PATH: `${shims}:${process.env.PATH}`, VAULTRA_PROC_PROGRESS: '0' });
    const vaultra = (args: string[]) => runVaultra(args, { env: ws.env });

    const backup = await vaultra(['backup', `dir:${source}`, '--to', ws.storeUrl, '--json']);
    const verify = await vaultra(['verify', 'latest', '--from', ws.storeUrl, '--json']);
    const target = join(root, 'restored');
    const restore = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--target', `dir:${target}`, '--json']);

    expect(backup.code, backup.stderr).toBe(0);
    const taken = JSON.parse(backup.stdout) as BackupJson;
    expect(taken.bytesRaw).toBeGreaterThan(3 * MIB);
    expect(verify.code, verify.stderr).toBe(0);
    expect(restore.code, restore.stderr).toBe(0);
    expect(JSON.parse(restore.stdout) as RestoreJson).toMatchObject({ status: 'restored', bytesRaw: taken.bytesRaw });
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    for (const [name, bytes] of Object.entries(files)) expect(sha(readFileSync(join(target, name))), name).toBe(sha(bytes));
    // Every tar run was gtar's: backup (--create), verify and restore (--list, --extract).
    const calls = readFileSync(join(root, 'gtar-calls.log'), 'utf8').trim().split('\n');
    expect(calls).toContain('--create');
    expect(calls.filter((call) => call !== '--version').length).toBeGreaterThanOrEqual(3);
  });

  it('without gtar, a backup stops at once with one line naming what tar is and what to install', async () => {
    const onlyBsdtar = join(root, 'only-bsdtar');
    mkdirSync(onlyBsdtar);
    symlinkSync(join(shims, 'tar'), join(onlyBsdtar, 'tar'));
    symlinkSync(tools.zstd, join(onlyBsdtar, 'zstd'));
    const source = join(root, 'small');
    mkdirSync(source);
    writeFileSync(join(source, 'f'), 'x');
    const ws = makeWorkspace(root, 'no-gtar', { PATH: onlyBsdtar });

    const { code, stdout, stderr } = await runVaultra(['backup', `dir:${source}`, '--to', ws.storeUrl], { env: ws.env });

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^vaultra: error: .*the tar on PATH is not GNU tar \(bsdtar 3\.5\.3 - libarchive 3\.5\.3 zlib\/1\.2\.11\) and there is no gtar: install GNU tar \(Debian\/Ubuntu: apt-get install tar; macOS: brew install gnu-tar, which installs gtar\)$/m);
    expect(stderr).not.toContain('bsdtar shim run for real');
  });
});

describe('PostgreSQL tools only in a Homebrew keg (postgresql@<major>), none on PATH', () => {
  const pg = requirePostgres();
  const tools = requireTools('zstd');
  if (!pg || !tools) return;
  let root = '';
  const database = `beyond_debian_${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-brew-pg-'));
    // The keg: the server's own client tools, linked under the Homebrew layout of an Apple silicon Mac.
    const major = basename(dirname(pg.binDir)).replace(/\D/g, '') || '16';
    const keg = join(root, 'opt', 'homebrew', 'opt', `postgresql@${major}`, 'bin');
    mkdirSync(keg, { recursive: true });
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) symlinkSync(join(pg.binDir, tool), join(keg, tool));
    // PATH: zstd only.
    mkdirSync(join(root, 'bin'));
    symlinkSync(tools.zstd, join(root, 'bin', 'zstd'));
    await createDatabase(pg, database);
    await psqlRows(pg, database, 'CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g');
  });
  afterAll(async () => {
    if (pg) await dropDatabase(pg, database);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('doctor finds them there, and a backup and its verify run them', async () => {
    const env = { ...pgEnv(pg, database), PATH: join(root, 'bin'), VAULTRA_PG_SEARCH_ROOT: root };
    const ws = makeWorkspace(root, 'ws', env);

    const doctor = await runVaultra(['doctor', '--engine', 'postgres', '--json'], { env: ws.env });
    const backup = await runVaultra(['backup', `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`, '--to', ws.storeUrl, '--json'], { env: ws.env });
    const verify = await runVaultra(['verify', 'latest', '--from', ws.storeUrl, '--json'], { env: ws.env });

    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    const postgres = (JSON.parse(doctor.stdout) as { engines: { id: string; tools: { found: string | null }[] }[] }).engines.find((e) => e.id === 'postgres')!;
    expect(postgres.tools[0]!.found).toMatch(new RegExp(`^${root}/opt/homebrew/opt/postgresql@\\d+/bin/pg_dump$`));
    expect(backup.code, backup.stderr).toBe(0);
    expect(verify.code, verify.stderr).toBe(0);
    expect((JSON.parse(backup.stdout) as BackupJson).bytesRaw).toBeGreaterThan(100_000);
  });
});
