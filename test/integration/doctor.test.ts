/**
 * `vaultra doctor` with a PATH holding only some tools: each engine is reported ready or not,
 * with an install hint for what is missing; `--engine` turns a missing engine into exit 1.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';

interface DoctorJson {
  ok: boolean;
  engines: { id: string; ready: boolean; tools: { anyOf: string[]; found: string | null; version: string | null; optional: boolean }[] }[];
}

describe('vaultra doctor', () => {
  const tools = requireTools('zstd', 'sqlite3', 'tar', 'mysqldump');
  if (!tools) return;
  let bin = '';

  beforeAll(() => {
    // zstd, sqlite3 and tar; MySQL through the `mysqldump` name only (no client): half ready.
    bin = mkdtempSync(join(tmpdir(), 'vaultra-doctor-'));
    for (const name of ['zstd', 'sqlite3', 'tar', 'mysqldump'] as const) symlinkSync(tools[name], join(bin, name));
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  // No PostgreSQL folders either: the engine also looks for its tools off PATH (pg-tools.ts).
  const doctor = (args: string[]) => runVaultra(['doctor', ...args], { env: { PATH: bin, VAULTRA_PG_SEARCH_ROOT: bin } });

  it('reports each engine ready or not and exits 0 while the pipeline can run', async () => {
    const result = await doctor(['--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorJson;
    const ready = Object.fromEntries(report.engines.map((e) => [e.id, e.ready]));
    expect(ready).toEqual({ pipeline: true, postgres: false, mysql: false, mongodb: false, sqlite: true, directory: true, volume: true });
    const mysql = report.engines.find((e) => e.id === 'mysql')!;
    expect(mysql.tools.map((t) => t.found)).toEqual(['mysqldump', null, null]);
    // The binary-log tool is for point-in-time recovery only: absent, it is optional.
    expect(mysql.tools.map((t) => t.optional)).toEqual([false, false, true]);
    expect(report.engines.find((e) => e.id === 'pipeline')!.tools.filter((t) => !t.found).every((t) => t.optional)).toBe(true);

    const human = await doctor([]);
    expect(human.stdout).toMatch(/MongoDB: NOT READY\n\s+MISSING mongodump\s+backups: install the MongoDB Database Tools/);
    expect(human.stdout).toMatch(/SQLite: ready/);
  });

  it('--engine names engines that must be ready: exit 1 when one is not, 2 for an unknown id', async () => {
    expect((await doctor(['--engine', 'sqlite,directory'])).code).toBe(0);
    const missing = await doctor(['--engine', 'sqlite,postgres']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/not ready: PostgreSQL\n$/);
    expect((await doctor(['--engine', 'all'])).code).toBe(1);
    const unknown = await doctor(['--engine', 'oracle']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^vaultra: error: unknown engine oracle for --engine/);
  });

  it("reads each tool's version as its engine descriptor's probe says: a tar that is not GNU tar does not count", async () => {
    // A stand-in for macOS's bsdtar: a program named tar whose version line is not GNU tar's.
    const other = join(bin, 'bsd');
    mkdirSync(other);
    writeFileSync(join(other, 'tar'), '#!/bin/sh\necho "bsdtar 3.5.3 - libarchive 3.5.3"\n', { mode: 0o755 });
    symlinkSync(tools.zstd, join(other, 'zstd'));
    const report = JSON.parse((await runVaultra(['doctor', '--json'], { env: { PATH: other } })).stdout) as DoctorJson;
    expect(report.engines.find((e) => e.id === 'directory')).toMatchObject({ ready: false, tools: [{ anyOf: ['tar', 'gtar'], found: null }] });
    // What to install, and what answered instead.
    const human = await runVaultra(['doctor'], { env: { PATH: other } });
    expect(human.stdout).toMatch(/MISSING tar\|gtar\s+tar streams of directories \(GNU tar\): apt-get install tar; macOS: brew install gnu-tar, which installs gtar \(tar is bsdtar 3\.5\.3 - libarchive 3\.5\.3, not that\)$/m);

    // Homebrew's gnu-tar beside it, as gtar: the directory engine is ready with it.
    symlinkSync(tools.tar, join(other, 'gtar'));
    const withGtar = JSON.parse((await runVaultra(['doctor', '--json'], { env: { PATH: other } })).stdout) as DoctorJson;
    expect(withGtar.engines.find((e) => e.id === 'directory')).toMatchObject({ ready: true, tools: [{ anyOf: ['tar', 'gtar'], found: 'gtar' }] });
  });

  it('exits 1 when the pipeline itself cannot run (no zstd)', async () => {
    const result = await runVaultra(['doctor'], { env: { PATH: join(bin, 'nowhere') } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/pipeline: NOT READY/);
  });
});
