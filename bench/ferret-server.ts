/**
 * A throwaway FerretDB 1.x (MongoDB wire protocol, SQLite files in `<parent>/ferret`) for the
 * benchmark, started as test/support/mongo-server.ts starts it (bench/ may not import test/):
 * a random free port on 127.0.0.1, authentication on, one admin user whose password reaches
 * FerretDB through its environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort, sleep } from './support.js';

export interface FerretServer {
  /** `mongodb://user:password@127.0.0.1:port/` (no database) … `?authSource=admin`. */
  url(database?: string): string;
  readonly port: number;
  readonly dataDir: string;
  /** `version` of buildInfo, e.g. `7.0.77 (FerretDB 1.24.0)`… */
  readonly serverVersion: string;
  /** YAML config file (`uri: …`, 0600) for mongodump/mongorestore, as Vaultra writes it. */
  readonly toolConfig: string;
  readonly pid: number;
  stop(): Promise<void>;
  /** Leave it running when this process exits (`--keep`). */
  keep(): void;
}

const USER = 'bench';

export async function startFerretServer(parentDir: string): Promise<FerretServer> {
  const baseDir = join(parentDir, 'ferret');
  const dataDir = join(baseDir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const password = `bench-${randomBytes(12).toString('hex')}`;
  const port = await freePort();
  const logFile = join(baseDir, 'ferretdb.log');
  const logFd = openSync(logFile, 'w');
  const child: ChildProcess = spawn(
    'ferretdb',
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      `--state-dir=${baseDir}`,
      '--log-level=warn',
      '--log-format=text',
      '--test-enable-new-auth',
      '--setup-database=admin',
      `--setup-username=${USER}`,
    ],
    // Its log goes to a file, not a pipe: a server kept running (--keep) must not write into a closed pipe.
    { env: { ...process.env, FERRETDB_SETUP_PASSWORD: password }, stdio: ['ignore', 'ignore', logFd], detached: true },
  );
  closeSync(logFd);
  const logTail = () => readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killNow = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.once('exit', killNow);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killNow);
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid!, 'SIGTERM');
    const timer = setTimeout(killNow, 10_000);
    await exited;
    clearTimeout(timer);
  };
  const url = (database = '') => `mongodb://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}?authSource=admin`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`ferretdb exited at start (${child.exitCode ?? child.signalCode}): ${logTail()}`);
    }
    const client = new MongoClient(url(), { serverSelectionTimeoutMS: 2_000 });
    try {
      const info = await client.db('admin').command({ buildInfo: 1 });
      const toolConfig = join(parentDir, 'mongo-tools.yaml');
      writeFileSync(toolConfig, `uri: "${url()}"\n`, { mode: 0o600 });
      const keep = () => {
        process.off('exit', killNow);
        child.unref();
      };
      return { url, port, dataDir, serverVersion: String(info.version), toolConfig, pid: child.pid!, stop, keep };
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`ferretdb did not answer within 30 s: ${String(error)}; log: ${logTail()}`);
      }
    } finally {
      await client.close();
    }
    await sleep(100);
  }
}
