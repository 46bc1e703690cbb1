/**
 * mongo-java-server (de.bwaldvogel, Maven Central; memory backend with its oplog on) as a
 * single-node replica set, for the oplog tests: the one MongoDB-compatible server that runs
 * here and keeps `local.oplog.rs` (FerretDB keeps none; no real `mongod` is reachable).
 *
 * scripts/setup-mongo-java-server.sh fetches the jars; each start compiles
 * mongo-java-server/OplogServer.java (a small main with test-only shims: a wire version Node
 * driver 7 accepts, `hello` with a replica set name, and `applyOps` for mongorestore
 * --oplogReplay, see the file) into a temp folder and runs it on a free port of 127.0.0.1,
 * without authentication (the library has none). Stopped by PID.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killTree, run, spawnTracked, tail, waitForExit, which } from './exec.js';

export const MONGO_JAVA_SERVER_VERSION = '1.47.0';
const SOURCE = fileURLToPath(new URL('./mongo-java-server/OplogServer.java', import.meta.url));

export interface MongoJavaServer {
  /** `mongodb://127.0.0.1:<port>/?directConnection=true` (no database, no credentials). */
  readonly url: string;
  /** The replica set name the server reports. */
  readonly replicaSet: string;
  readonly server: string;
  stop(): Promise<void>;
}

/** Where setup-mongo-java-server.sh put the jars. */
export function mongoJavaServerLib(): string {
  const dir = process.env.VAULTRA_MONGO_JAVA_SERVER_DIR ?? join(homedir(), '.cache', 'vaultra', `mongo-java-server-${MONGO_JAVA_SERVER_VERSION}`);
  return join(dir, 'lib');
}

/** Why the server cannot start here, or undefined when it can. */
export function mongoJavaServerUnavailable(): string | undefined {
  if (!which('java') || !which('javac')) return 'java/javac not found: run scripts/setup-mongo-java-server.sh (it installs openjdk-17-jdk-headless)';
  if (!existsSync(join(mongoJavaServerLib(), `mongo-java-server-memory-backend-${MONGO_JAVA_SERVER_VERSION}.jar`))) {
    return `mongo-java-server ${MONGO_JAVA_SERVER_VERSION} jars not in ${mongoJavaServerLib()}: run scripts/setup-mongo-java-server.sh`;
  }
  return undefined;
}

export async function startMongoJavaServer(): Promise<MongoJavaServer> {
  const why = mongoJavaServerUnavailable();
  if (why) throw new Error(why);
  const classes = mkdtempSync(join(tmpdir(), 'vaultra-mjs-'));
  const classpath = `${mongoJavaServerLib()}/*`;
  const compiled = await run('javac', ['-d', classes, '-cp', classpath, SOURCE], { timeoutMs: 60_000 });
  if (compiled.code !== 0) {
    rmSync(classes, { recursive: true, force: true });
    throw new Error(`javac OplogServer.java failed: ${tail(compiled.stderr, 5)}`);
  }
  const child = spawnTracked('java', ['-Xmx256m', '-cp', `${classpath}:${classes}`, 'OplogServer', '0']);
  const log: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));
  const exited = waitForExit(child);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killTree(child, 'SIGTERM');
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(classes, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`mongo-java-server did not listen within 30 s: ${tail(Buffer.concat(log).toString('utf8'), 5)}`)), 30_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const match = /listening (\d+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      void exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`mongo-java-server exited at start (${exit.code ?? exit.signal}): ${tail(Buffer.concat(log).toString('utf8'), 5)}`));
      });
    });
    return { url: `mongodb://127.0.0.1:${port}/?directConnection=true`, replicaSet: 'rs0', server: `mongo-java-server ${MONGO_JAVA_SERVER_VERSION} (memory backend, oplog)`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
