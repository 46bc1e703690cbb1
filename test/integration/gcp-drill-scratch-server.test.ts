/**
 * The scratch server of a GCP drill job stops itself (infra/gcp/scripts/drill-scratch-server.sh,
 * issue 20): Cloud Run's documentation does not say that a task ends while a second container
 * still runs, so the server must not outlive the runner. The script is run as drill.tf runs it
 * (`sh -c <script> scratch-server <the sidecar's arguments>`) and starts a real PostgreSQL: the
 * official image's `docker-entrypoint.sh` is stood in for by one that does what it does here
 * (initdb on an empty $PGDATA, then exec the server, as `postgres` when root). Each test gives the
 * server a free port and a socket folder of its own on top of the sidecar's arguments.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { drillSidecarOf } from '../../core/config/drill-sidecar.js';
import { repoRoot } from '../support/cli.js';
import { findPostgresBinDir, freePort } from '../support/postgres-server.js';
import { sleep } from '../support/processes.js';
import { requireTools } from '../support/requirements.js';

const SCRIPT = readFileSync(join(repoRoot, 'infra/gcp/scripts/drill-scratch-server.sh'), 'utf8');

/** What the official image's entrypoint does before the server runs, for this machine. */
const ENTRYPOINT_STAND_IN = `#!/bin/sh
set -e
as_postgres=
[ "$(id -u)" != 0 ] || as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups --"
[ -s "$PGDATA/PG_VERSION" ] || $as_postgres initdb -D "$PGDATA" -U postgres --auth=trust >/dev/null
exec $as_postgres "$@"
`;

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  readonly doneFile: string;
  readonly dataDir: string;
  readonly startedAt: number;
  readonly exited: Promise<{ code: number | null; stdout: string; atMs: number }>;
}

describe('the GCP drill scratch server stop script, with a real PostgreSQL', () => {
  const tools = requireTools('pg_isready', 'setpriv');
  if (!tools) return;

  const folders: string[] = [];
  const children: Started[] = [];

  afterEach(() => {
    // A failed test must not leave its server running: stop it by the PID in its own postmaster.pid.
    for (const started of children.splice(0)) {
      started.child.kill('SIGKILL');
      const pidFile = join(started.dataDir, 'postmaster.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  async function startScript(waitSeconds: number): Promise<Started> {
    const base = mkdtempSync(join(tmpdir(), 'vaultra-gcp-drill-server-'));
    folders.push(base);
    chmodSync(base, 0o755);
    const bin = join(base, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'docker-entrypoint.sh'), ENTRYPOINT_STAND_IN, { mode: 0o755 });
    const dataDir = join(base, 'data');
    const sockets = join(base, 'sockets');
    const shared = join(base, 'vaultra-drill');
    for (const dir of [dataDir, sockets]) {
      mkdirSync(dir, { mode: 0o700 });
      if (process.getuid?.() === 0) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout));
    }
    mkdirSync(shared);
    const port = await freePort();
    const sidecar = drillSidecarOf({ server: 'postgres:17' })!;
    const doneFile = join(shared, 'runner-done');
    const startedAt = performance.now();
    const child = spawn('sh', ['-c', SCRIPT, 'scratch-server', ...sidecar.command, '-c', `port=${port}`, '-c', `unix_socket_directories=${sockets}`], {
      env: { PATH: `${bin}:${findPostgresBinDir()}:${process.env.PATH ?? ''}`, PGDATA: dataDir, ...sidecar.environment, VAULTRA_DRILL_DONE_FILE: doneFile, VAULTRA_DRILL_WAIT_SECONDS: String(waitSeconds) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.resume();
    const exited = new Promise<{ code: number | null; stdout: string; atMs: number }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, atMs: performance.now() })));
    const started = { child, port, doneFile, dataDir, startedAt, exited };
    children.push(started);
    return started;
  }

  const accepting = (port: number) => spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-t', '2'], { encoding: 'utf8' }).status === 0;

  async function untilAccepting(started: Started): Promise<void> {
    for (let tries = 0; tries < 120; tries += 1) {
      if (accepting(started.port)) return;
      await sleep(250);
    }
    throw new Error(`the scratch server on port ${started.port} never accepted connections`);
  }

  it('stops the server within 3 s once the runner wrote its done file, and exits 0', async () => {
    // Prepare
    const started = await startScript(300);
    await untilAccepting(started);

    // Act: the runner exits (a failed drill, say) and writes its exit code.
    writeFileSync(started.doneFile, '3\n');
    const wroteAt = performance.now();
    const { code, stdout, atMs } = await started.exited;

    // Assess
    expect(code).toBe(0);
    expect(atMs - wroteAt).toBeLessThan(3000);
    expect(accepting(started.port)).toBe(false);
    expect(existsSync(join(started.dataDir, 'postmaster.pid'))).toBe(false);
    expect(stdout).toContain('vaultra: the runner is done (3); stopping the scratch server');
  });

  it('keeps the server up while no done file appears, and stops it at the bound', async () => {
    // The bound counts from the container's start, initdb included (some 6 s on a loaded machine here).
    const started = await startScript(20);
    await untilAccepting(started);

    // Still serving well into the wait: nothing told it the runner is done.
    await sleep(Math.max(0, started.startedAt + 14_000 - performance.now()));
    expect(accepting(started.port)).toBe(true);

    const { code, stdout, atMs } = await started.exited;
    expect(code).toBe(0);
    expect(atMs - started.startedAt).toBeGreaterThanOrEqual(20_000);
    expect(atMs - started.startedAt).toBeLessThan(30_000);
    expect(accepting(started.port)).toBe(false);
    expect(stdout).toContain('vaultra: no word from the runner in 20 s; stopping the scratch server');
  });

  it('stops the server and exits 0 when the platform sends SIGTERM', async () => {
    const started = await startScript(300);
    await untilAccepting(started);

    started.child.kill('SIGTERM');
    const sentAt = performance.now();
    const { code, stdout, atMs } = await started.exited;

    expect(code).toBe(0);
    expect(atMs - sentAt).toBeLessThan(3000);
    expect(accepting(started.port)).toBe(false);
    expect(stdout).toContain('vaultra: asked to stop; stopping the scratch server');
  });
});
