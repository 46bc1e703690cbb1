/**
 * Declaring what a suite needs. Call at the top of a `describe` body:
 *
 * @example
 * describe('postgres round trip', () => {
 *   const pg = requirePostgres();
 *   const tools = requireTools('zstd', 'age');
 *   if (!pg || !tools) return;
 *   beforeAll(async () => { await createDatabase(pg, 'rt'); });
 *   it('restores what it backed up', async () => { ... });
 * });
 *
 * When something is missing, the helper registers one placeholder test in the current
 * suite and returns `undefined` (so the `return` above registers nothing else):
 * - locally the placeholder is skipped with a one-line reason;
 * - under `CI=true` it fails, because CI must never skip a suite silently.
 */
import { inject, it } from 'vitest';
import { which } from './exec.js';
import type { PgConnection } from './psql.js';
import type { MariadbConnection } from './mariadb-server.js';
import type { MongoConnection } from './mongo-server.js';
import type { MotoConnection } from './moto-server.js';
import type { LocalStackConnection } from './localstack-server.js';
import type { FakeGcsConnection } from './fake-gcs-server.js';
import type { FirestoreConnection } from './firestore-emulator.js';
import type { AzuriteConnection } from './azurite-server.js';
import type { PubsubConnection } from './pubsub-emulator.js';

export const isCI = process.env.CI === 'true';

const announced = new Set<string>();

/** Register the skipped (locally) or failing (CI) placeholder for a missing requirement. */
export function unmet(what: string, reason: string): undefined {
  if (isCI) {
    it(`requires ${what}`, () => {
      throw new Error(`CI=true and ${what} is unavailable: ${reason}`);
    });
  } else {
    // The default reporter lists skipped tests only in verbose mode: say it once per file.
    if (!announced.has(reason)) {
      announced.add(reason);
      console.warn(`skipping tests that need ${what}: ${reason}`);
    }
    it(`requires ${what}`, (ctx) => {
      ctx.skip(reason);
    });
  }
  return undefined;
}

/** The run's shared PostgreSQL server (from global setup), or `undefined` after registering the skip/failure. */
export function requirePostgres(): PgConnection | undefined {
  const pg = inject('pg');
  if (pg) return pg;
  return unmet('PostgreSQL', inject('pgUnavailable') ?? 'global setup provided no PostgreSQL server');
}

/** Absolute path of a command on PATH, or `undefined` after registering the skip/failure. */
export function requireTool(name: string): string | undefined {
  const path = which(name);
  if (path) return path;
  return unmet(name, `${name} not found on PATH; run scripts/setup-system.sh`);
}

/** Several commands at once: `{ name: absolutePath }`, or `undefined` (one placeholder naming all that are missing). */
export function requireTools<const Name extends string>(...names: Name[]): Record<Name, string> | undefined {
  const found = {} as Record<Name, string>;
  const missing: string[] = [];
  for (const name of names) {
    const path = which(name);
    if (path) found[name] = path;
    else missing.push(name);
  }
  if (missing.length === 0) return found;
  return unmet(missing.join(', '), `not found on PATH: ${missing.join(', ')}; run scripts/setup-system.sh`);
}

/** The run's shared MariaDB server (from global setup), or `undefined` after registering the skip/failure. */
export function requireMariadb(): MariadbConnection | undefined {
  const server = inject('mariadb');
  if (server) return server;
  return unmet('MariaDB', inject('mariadbUnavailable') ?? 'global setup provided no MariaDB server');
}

/** The run's MongoDB-compatible server (from global setup), or `undefined` after registering the skip/failure. */
export function requireMongo(): MongoConnection | undefined {
  const server = inject('mongodb');
  if (server) return server;
  return unmet('MongoDB', inject('mongodbUnavailable') ?? 'global setup provided no MongoDB server');
}

/** The run's moto server (from global setup), or `undefined` after registering the skip/failure. */
export function requireMoto(): MotoConnection | undefined {
  const server = inject('moto');
  if (server) return server;
  return unmet('moto (AWS emulator)', inject('motoUnavailable') ?? 'global setup provided no moto server');
}

/** The run's LocalStack (from global setup), or `undefined` after registering the skip/failure. */
export function requireLocalStack(): LocalStackConnection | undefined {
  const server = inject('localstack');
  if (server) return server;
  return unmet('LocalStack (AWS emulator)', inject('localstackUnavailable') ?? 'global setup provided no LocalStack');
}

/** The run's fake-gcs-server (GCS emulator) (from global setup), or `undefined` after registering the skip/failure. */
export function requireFakeGcs(): FakeGcsConnection | undefined {
  const server = inject('fakeGcs');
  if (server) return server;
  return unmet('fake-gcs-server (GCS emulator)', inject('fakeGcsUnavailable') ?? 'global setup provided no fake-gcs-server (GCS emulator)');
}

/** The run's the Firestore emulator (from global setup), or `undefined` after registering the skip/failure. */
export function requireFirestore(): FirestoreConnection | undefined {
  const server = inject('firestore');
  if (server) return server;
  return unmet('the Firestore emulator', inject('firestoreUnavailable') ?? 'global setup provided no the Firestore emulator');
}

/** The run's Azurite (Azure emulator) (from global setup), or `undefined` after registering the skip/failure. */
export function requireAzurite(): AzuriteConnection | undefined {
  const server = inject('azurite');
  if (server) return server;
  return unmet('Azurite (Azure emulator)', inject('azuriteUnavailable') ?? 'global setup provided no Azurite (Azure emulator)');
}

/** The run's Cloud Pub/Sub emulator (from global setup), or `undefined` after registering the skip/failure. */
export function requirePubsub(): PubsubConnection | undefined {
  const server = inject('pubsub');
  if (server) return server;
  return unmet('the Pub/Sub emulator', inject('pubsubUnavailable') ?? 'global setup provided no Pub/Sub emulator');
}
