import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, RestoreFailedError, ToolMissingError } from '../../../errors.js';
import { spawnTool, type ToolProcess } from '../../process/child-process.js';
import { exitIfStopped, findServerBinary, pollWhileRunning, startInFolder, type ThrowawayServer } from '../throwaway-server.js';
import { serverFacts, withClient } from './mongodb-client.js';
import { parseMongoUrl } from './mongodb-connection.js';

const SERVER_HINT = "install MongoDB's mongod, or FerretDB 1.x (this repository: scripts/setup-mongo.sh), or drill into a server you name with --scratch mongodb://…/<new database>";
const START_TIMEOUT_MS = 60_000;

/** A running throwaway MongoDB-compatible server, reachable only on a Unix socket in its own temp folder. */
export interface MongoScratchServer extends ThrowawayServer {
  /** `mongod 7.0.14`, or `FerretDB v1.24.0` (which answers as the MongoDB version it emulates). */
  readonly version: string;
  readonly socket: string;
  /** The driver/tools URL of the socket, no database, no credentials. */
  readonly url: string;
}

/** How one server binary is started on a data folder and a socket, with no TCP port. */
interface ServerKind {
  readonly binary: string;
  args(dataDir: string, socket: string, base: string): string[];
}

/**
 * A real `mongod` when one is installed (the server a production backup came from), else FerretDB
 * 1.x on SQLite files: no `mongod` is packaged where the project builds (docs/drills.md).
 * `mongod` binds a Unix socket path given as `--bind_ip` and no IP address, so it opens no TCP
 * port (its default socket goes to the private folder too, `--unixSocketPrefix`); FerretDB takes
 * `--listen-unix` with an empty `--listen-addr`.
 */
const SERVER_KINDS: readonly ServerKind[] = [
  {
    binary: 'mongod',
    args: (dataDir, socket, base) => ['--dbpath', dataDir, '--bind_ip', socket, '--unixSocketPrefix', base, '--quiet', '--setParameter', 'diagnosticDataCollectionEnabled=false'],
  },
  {
    binary: 'ferretdb',
    args: (dataDir, socket, base) => ['--handler=sqlite', `--sqlite-url=file:${dataDir}/`, '--listen-addr=', `--listen-unix=${socket}`, '--debug-addr=-', '--telemetry=disable', `--state-dir=${base}`, '--log-level=warn', '--log-format=text'],
  },
];

/**
 * Starts a throwaway server from the first binary of {@link SERVER_KINDS} on PATH, its data and
 * socket in a private (0700) temp folder, without authentication: only this machine's users who
 * can enter that folder (this one) reach the socket. The folder is removed however the start ends.
 */
export async function startMongoScratchServer(signal?: AbortSignal): Promise<MongoScratchServer> {
  const [kind, binary] = findServer();
  const base = await privateFolder();
  const dataDir = join(base, 'data');
  const socket = join(base, `${kind.binary}.sock`);
  return startInFolder(base, async (keep) => {
    await mkdir(dataDir);
    const server = keep(await spawnTool(binary, kind.args(dataDir, socket, base), { cwd: base, stdout: 'ignore', installHint: SERVER_HINT }));
    const url = `mongodb://${encodeURIComponent(socket)}/`;
    const version = await waitUntilReady(url, server, signal);
    return { version: kind.binary === 'ferretdb' ? version.replace(/^.*\(FerretDB (.*)\)$/, 'FerretDB $1') : `mongod ${version}`, socket, url };
  });
}

/** Asks the server for its version every 100 ms until it answers; rejects with its stderr's last line if it stops first. */
async function waitUntilReady(url: string, server: ToolProcess, signal?: AbortSignal): Promise<string> {
  const connection = parseMongoUrl(`${url}?serverSelectionTimeoutMS=500`);
  const probe = () => withClient(connection, serverFacts, (reason) => new Error(reason), signal).then((facts) => facts.version, () => undefined);
  const version = await pollWhileRunning(server, probe, { intervalMs: 100, timeoutMs: START_TIMEOUT_MS, signal });
  if (version !== undefined) return version;
  if (signal?.aborted) throw new AbortedError("interrupted while the drill's throwaway MongoDB server started");
  const exited = await exitIfStopped(server);
  const last = exited?.stderrTail.split('\n').findLast(Boolean) ?? `not ready after ${START_TIMEOUT_MS / 1000} s`;
  throw new RestoreFailedError(`the drill's throwaway MongoDB server did not start: ${last.trim()}`, exited?.stderrTail ?? '');
}

/**
 * A new 0700 folder whose path is all lower case: mongo-tools lower-case the host of a URL, a
 * socket path included (`/tmp/vaultra-drill-mongo-AbC` would be dialled as `…-abc`), so
 * mkdtemp's mixed-case names cannot hold the socket. A temp folder with capitals falls back to /tmp.
 */
async function privateFolder(): Promise<string> {
  const parent = tmpdir() === tmpdir().toLowerCase() ? tmpdir() : '/tmp';
  const base = join(parent, `vaultra-drill-mongo-${randomBytes(6).toString('hex')}`);
  await mkdir(base, { mode: 0o700 });
  return base;
}

function findServer(): [ServerKind, string] {
  for (const kind of SERVER_KINDS) {
    const binary = findServerBinary([kind.binary], ['/usr/bin', '/usr/local/bin']);
    if (binary) return [kind, binary];
  }
  throw new ToolMissingError('mongod', SERVER_HINT);
}
