/**
 * A throwaway Cloud Pub/Sub emulator (Google's own, from the Debian package
 * google-cloud-cli-pubsub-emulator; scripts/setup-gcp.sh checks for it) on 127.0.0.1 and a free
 * port, started with `java -jar` directly, as the package's `cloud-pubsub-emulator` script does
 * (the gcloud wrapper would need a configured gcloud). Clients reach it with
 * `PUBSUB_EMULATOR_HOST` (in `env`).
 *
 * The emulator keeps topics and subscriptions in memory, accepts any project id, and checks no
 * IAM: a publish to a topic that does not exist fails with NOT_FOUND, as on Pub/Sub.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { which } from './exec.js';
import { answersHttp, startEmulator } from './emulator-process.js';
import { freePort } from './postgres-server.js';

const DEFAULT_LIB = '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/lib';

export interface PubsubConnection {
  /** The emulator's endpoint URL (http://127.0.0.1:<port>); it also answers Pub/Sub's REST API. */
  readonly endpoint: string;
  /** Environment a client (or a function) needs to reach it: `PUBSUB_EMULATOR_HOST`. */
  readonly env: Readonly<Record<string, string>>;
}

export interface PubsubServer extends PubsubConnection {
  stop(): Promise<void>;
}

/** The emulator's jar: `VAULTRA_PUBSUB_JAR`, else the one jar of the Debian package (its name carries the version). */
export function pubsubEmulatorJar(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.VAULTRA_PUBSUB_JAR) return existsSync(env.VAULTRA_PUBSUB_JAR) ? env.VAULTRA_PUBSUB_JAR : undefined;
  if (!existsSync(DEFAULT_LIB)) return undefined;
  const jar = readdirSync(DEFAULT_LIB).find((name) => /^cloud-pubsub-emulator-.*-all\.jar$/.test(name));
  return jar ? join(DEFAULT_LIB, jar) : undefined;
}

export async function startPubsub(): Promise<PubsubServer> {
  const jar = pubsubEmulatorJar();
  if (!jar) throw new Error(`the Pub/Sub emulator jar is missing (${process.env.VAULTRA_PUBSUB_JAR ?? `${DEFAULT_LIB}/cloud-pubsub-emulator-*-all.jar`}); run scripts/setup-system.sh (scripts/setup-gcp.sh installs google-cloud-cli-pubsub-emulator)`);
  const java = which('java');
  if (!java) throw new Error('java not found on PATH; the Pub/Sub emulator needs Java 11+ (scripts/setup-gcp.sh installs default-jre-headless)');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const emulator = await startEmulator({
    name: 'pubsub',
    command: java,
    args: () => ['-Xmx256m', '-Duser.language=en', '-jar', jar, '--host=127.0.0.1', `--port=${port}`],
    // GET / answers "Ok" once the server is up.
    ready: answersHttp(`http://${host}/`),
    timeoutMs: 90_000,
  });
  return { endpoint: `http://${host}`, env: { PUBSUB_EMULATOR_HOST: host }, stop: () => emulator.stop() };
}

/** Pub/Sub's REST API on the emulator: create a topic and a subscription to read what was published. */
export async function createTopicWithSubscription(endpoint: string, topic: string, subscription: string): Promise<void> {
  const put = async (path: string, body: unknown) => {
    const response = await fetch(`${endpoint}/v1/${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`PUT ${path} failed: HTTP ${response.status} ${await response.text()}`);
  };
  await put(topic, {});
  await put(subscription, { topic, ackDeadlineSeconds: 10 });
}

export interface PulledMessage {
  readonly data: string;
  readonly attributes: Record<string, string>;
}

/** Pulls (and acknowledges) what the subscription holds, waiting up to `waitMs` for at least `atLeast` messages. */
export async function pullMessages(endpoint: string, subscription: string, atLeast = 1, waitMs = 5_000): Promise<PulledMessage[]> {
  const messages: PulledMessage[] = [];
  const deadline = Date.now() + waitMs;
  do {
    const response = await fetch(`${endpoint}/v1/${subscription}:pull`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ maxMessages: 100, returnImmediately: true }) });
    if (!response.ok) throw new Error(`pull from ${subscription} failed: HTTP ${response.status} ${await response.text()}`);
    const { receivedMessages = [] } = (await response.json()) as { receivedMessages?: { ackId: string; message: { data?: string; attributes?: Record<string, string> } }[] };
    if (receivedMessages.length > 0) {
      const ack = await fetch(`${endpoint}/v1/${subscription}:acknowledge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ackIds: receivedMessages.map((m) => m.ackId) }) });
      if (!ack.ok) throw new Error(`acknowledge on ${subscription} failed: HTTP ${ack.status}`);
      messages.push(...receivedMessages.map(({ message }) => ({ data: Buffer.from(message.data ?? '', 'base64').toString('utf8'), attributes: message.attributes ?? {} })));
    }
    if (messages.length >= atLeast) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  } while (Date.now() < deadline);
  return messages;
}
