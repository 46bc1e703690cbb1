/**
 * vitest globalSetup: one throwaway server per engine for the whole run (PostgreSQL, MariaDB,
 * a MongoDB-compatible server, the cloud emulators), started in parallel and handed to test
 * files through `inject('pg' | 'mariadb' | 'mongodb' | 'moto' | …)`. Under `CI=true` a server that cannot start fails the
 * run; locally the reason is provided as `<name>Unavailable` and suites skip with it (see
 * requirements.ts).
 *
 * `VAULTRA_TEST_PG=off`, `VAULTRA_TEST_MARIADB=off`, `VAULTRA_TEST_MONGODB=off`,
 * `VAULTRA_TEST_MOTO=off`, `VAULTRA_TEST_LOCALSTACK=off`, `VAULTRA_TEST_PUBSUB=off` … skip a server (for quick runs).
 */
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.js';
import { startMariadb } from './mariadb-server.js';
import { startMongo } from './mongo-server.js';
import { startMoto } from './moto-server.js';
import { startLocalStack } from './localstack-server.js';
import { startFakeGcs } from './fake-gcs-server.js';
import { startFirestore } from './firestore-emulator.js';
import { startAzurite } from './azurite-server.js';
import { startPubsub } from './pubsub-emulator.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

interface Started<Info> {
  readonly info: Info;
  stop(): Promise<void>;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide('repoRoot', repoRoot);
  const stops: (() => Promise<void>)[] = [];

  /** Starts one server; provides its info, or the reason it is unavailable. */
  async function serve<Info>(label: string, envSwitch: string, start: () => Promise<Started<Info>>, provide: (info: Info) => void, unavailable: (reason: string) => void): Promise<void> {
    if (process.env[envSwitch] === 'off') return unavailable(`${label} disabled by ${envSwitch}=off`);
    try {
      const server = await start();
      stops.push(() => server.stop());
      provide(server.info);
    } catch (error) {
      const reason = oneLine(error);
      if (process.env.CI === 'true') throw new Error(`CI=true and the test ${label} server could not start: ${reason}`, { cause: error });
      unavailable(`${label} unavailable: ${reason}`);
    }
  }

  const started = await Promise.allSettled([
    serve(
      'PostgreSQL',
      'VAULTRA_TEST_PG',
      async () => {
        const server = await startPostgres();
        const { url, host, port, user, password, binDir, serverVersion } = server;
        return { info: { url, host, port, user, password, binDir, serverVersion }, stop: () => server.stop() };
      },
      (info) => project.provide('pg', info),
      (reason) => project.provide('pgUnavailable', reason),
    ),
    serve(
      'MariaDB',
      'VAULTRA_TEST_MARIADB',
      async () => {
        const server = await startMariadb();
        const { url, host, port, user, password, socket, serverVersion } = server;
        return { info: { url, host, port, user, password, socket, serverVersion }, stop: () => server.stop() };
      },
      (info) => project.provide('mariadb', info),
      (reason) => project.provide('mariadbUnavailable', reason),
    ),
    serve(
      'MongoDB',
      'VAULTRA_TEST_MONGODB',
      async () => {
        const server = await startMongo();
        const { url, server: name } = server;
        return { info: { url, server: name }, stop: () => server.stop() };
      },
      (info) => project.provide('mongodb', info),
      (reason) => project.provide('mongodbUnavailable', reason),
    ),
    serve(
      'moto (AWS emulator)',
      'VAULTRA_TEST_MOTO',
      async () => {
        const server = await startMoto();
        const { endpoint, region, env } = server;
        return { info: { endpoint, region, env }, stop: () => server.stop() };
      },
      (info) => project.provide('moto', info),
      (reason) => project.provide('motoUnavailable', reason),
    ),
    serve(
      'LocalStack (AWS emulator: S3, KMS, Secrets Manager, SNS)',
      'VAULTRA_TEST_LOCALSTACK',
      async () => {
        const server = await startLocalStack();
        const { endpoint, region, env } = server;
        return { info: { endpoint, region, env }, stop: () => server.stop() };
      },
      (info) => project.provide('localstack', info),
      (reason) => project.provide('localstackUnavailable', reason),
    ),
    serve(
      'fake-gcs-server (GCS emulator)',
      'VAULTRA_TEST_GCS',
      async () => {
        const server = await startFakeGcs();
        const { endpoint, env } = server;
        return { info: { endpoint, env }, stop: () => server.stop() };
      },
      (info) => project.provide('fakeGcs', info),
      (reason) => project.provide('fakeGcsUnavailable', reason),
    ),
    serve(
      'Firestore emulator',
      'VAULTRA_TEST_FIRESTORE',
      async () => {
        const server = await startFirestore();
        const { endpoint, env } = server;
        return { info: { endpoint, env }, stop: () => server.stop() };
      },
      (info) => project.provide('firestore', info),
      (reason) => project.provide('firestoreUnavailable', reason),
    ),
    serve(
      'Azurite (Azure emulator)',
      'VAULTRA_TEST_AZURITE',
      async () => {
        const server = await startAzurite();
        const { endpoint, env } = server;
        return { info: { endpoint, env }, stop: () => server.stop() };
      },
      (info) => project.provide('azurite', info),
      (reason) => project.provide('azuriteUnavailable', reason),
    ),
    serve(
      'Pub/Sub emulator',
      'VAULTRA_TEST_PUBSUB',
      async () => {
        const server = await startPubsub();
        const { endpoint, env } = server;
        return { info: { endpoint, env }, stop: () => server.stop() };
      },
      (info) => project.provide('pubsub', info),
      (reason) => project.provide('pubsubUnavailable', reason),
    ),
  ]);
  const stopAll = async () => {
    await Promise.allSettled(stops.map((stop) => stop()));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  return stopAll;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').trim().slice(0, 300);
}
