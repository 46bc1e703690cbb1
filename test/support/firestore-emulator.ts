/**
 * A throwaway Cloud Firestore emulator (Google's own, from the Debian package
 * google-cloud-cli-firestore-emulator; scripts/setup-gcp.sh checks for it) on 127.0.0.1 and a
 * free port. Started with `java` directly: the gcloud wrapper would need a configured gcloud,
 * and the jar has no Main-Class, so it is `java -cp <jar> <main class>`, as the package's own
 * `cloud_firestore_emulator` script does. Clients reach it with `FIRESTORE_EMULATOR_HOST` (in `env`).
 *
 * The emulator keeps data per project id in memory, enforces no composite indexes and no
 * security rules for server clients; transactions behave as in Firestore (the tests' lock races
 * run against it).
 */
import { existsSync } from 'node:fs';
import { which } from './exec.js';
import { answersHttp, startEmulator } from './emulator-process.js';
import { freePort } from './postgres-server.js';

const DEFAULT_JAR = '/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar';
const MAIN_CLASS = 'com.google.cloud.datastore.emulator.firestore.CloudFirestore';

export interface FirestoreConnection {
  /** The emulator's endpoint URL (http://127.0.0.1:<port>). */
  readonly endpoint: string;
  /** Environment a client (or the vaultra CLI) needs to reach it: `FIRESTORE_EMULATOR_HOST`. */
  readonly env: Readonly<Record<string, string>>;
}

export interface FirestoreServer extends FirestoreConnection {
  stop(): Promise<void>;
}

export async function startFirestore(): Promise<FirestoreServer> {
  const jar = process.env.VAULTRA_FIRESTORE_JAR || DEFAULT_JAR;
  if (!existsSync(jar)) throw new Error(`the Firestore emulator jar ${jar} is missing; run scripts/setup-system.sh (scripts/setup-gcp.sh installs google-cloud-cli-firestore-emulator)`);
  const java = which('java');
  if (!java) throw new Error('java not found on PATH; the Firestore emulator needs Java 11+ (scripts/setup-gcp.sh installs default-jre-headless)');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const emulator = await startEmulator({
    name: 'firestore',
    command: java,
    // A small heap: the tests keep a few hundred documents. English messages, as gcloud's wrapper sets.
    args: () => ['-Xmx256m', '-Duser.language=en', '-cp', jar, MAIN_CLASS, 'start', '--host=127.0.0.1', `--port=${port}`],
    ready: answersHttp(`http://${host}/`),
    timeoutMs: 90_000,
  });
  return { endpoint: `http://${host}`, env: { FIRESTORE_EMULATOR_HOST: host }, stop: () => emulator.stop() };
}
