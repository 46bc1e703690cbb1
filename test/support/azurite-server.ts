/**
 * A throwaway Azurite (Azure Blob and Table emulator, the npm devDependency `azurite@3.37.0`):
 * in memory, on 127.0.0.1 and free ports, telemetry off, stopped by PID. Azurite serves the
 * well-known development account `devstoreaccount1` with path-style URLs
 * (`http://127.0.0.1:<port>/devstoreaccount1`).
 *
 * Azurite 3.37.0 declares `engines.node >= 22`, but runs on this project's Node 20 (checked:
 * blob, table, the contract suites); it is started with the running Node, not a shebang.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startEmulator } from './emulator-process.js';
import { freePort } from './postgres-server.js';

export interface AzuriteConnection {
  /** The emulator's blob endpoint URL (http://127.0.0.1:<port>/devstoreaccount1). */
  readonly endpoint: string;
  /**
   * Environment a client (or the vaultra CLI) needs to reach it:
   * `AZURE_STORAGE_CONNECTION_STRING` with the development account's key, `BlobEndpoint` and
   * `TableEndpoint` (read it with `parseConnectionString` for the table endpoint).
   */
  readonly env: Readonly<Record<string, string>>;
}

export interface AzuriteServer extends AzuriteConnection {
  stop(): Promise<void>;
}

/** The development account and its key: public, the same in every Azurite. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The azurite entry point from node_modules (its package's `bin`), or a message saying how to get it. */
function azuriteMain(): string {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve('azurite/package.json');
  } catch {
    throw new Error('azurite is not installed: run npm ci (it is a devDependency, pinned to 3.37.0)');
  }
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }).bin.azurite!;
  return join(dirname(manifest), bin);
}

export async function startAzurite(): Promise<AzuriteServer> {
  const main = azuriteMain();
  const [blobPort, tablePort, queuePort] = [await freePort(), await freePort(), await freePort()];
  const blobEndpoint = `http://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT}`;
  const tableEndpoint = `http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT}`;
  const emulator = await startEmulator({
    name: 'azurite',
    command: process.execPath,
    // No --location: Azurite refuses it with --inMemoryPersistence, and writes nothing to disk without it.
    args: () => [
      main,
      '--inMemoryPersistence',
      '--blobHost', '127.0.0.1', '--blobPort', String(blobPort),
      '--tableHost', '127.0.0.1', '--tablePort', String(tablePort),
      // The queue service cannot be left out of the combined binary: keep it local, on a free port.
      '--queueHost', '127.0.0.1', '--queuePort', String(queuePort),
      // Azurite sends telemetry unless told not to; these machines have no such network anyway.
      '--disableTelemetry',
      '--silent',
    ],
    ready: async () => {
      // Any HTTP answer (400 for a bare account URL) means the service listens.
      await fetch(blobEndpoint, { signal: AbortSignal.timeout(1_000) });
      await fetch(tableEndpoint, { signal: AbortSignal.timeout(1_000) });
      return true;
    },
  });
  const connectionString = [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT}`,
    `AccountKey=${AZURITE_KEY}`,
    `BlobEndpoint=${blobEndpoint}`,
    `TableEndpoint=${tableEndpoint}`,
  ].join(';');
  return { endpoint: blobEndpoint, env: { AZURE_STORAGE_CONNECTION_STRING: connectionString }, stop: () => emulator.stop() };
}

/** The fields of the emulator's connection string (`blobendpoint`, `tableendpoint`, … lower-cased). */
export function azuriteEndpoints(azurite: AzuriteConnection): { readonly blob: string; readonly table: string } {
  const fields = new Map(
    (azurite.env.AZURE_STORAGE_CONNECTION_STRING ?? '').split(';').map((part) => [part.slice(0, part.indexOf('=')).toLowerCase(), part.slice(part.indexOf('=') + 1)] as const),
  );
  return { blob: fields.get('blobendpoint') ?? azurite.endpoint, table: fields.get('tableendpoint') ?? '' };
}

let counter = 0;

/** A name no other test of this run uses: `<prefix>-<pid>-<n>-<random>`, within Azure's 3-63 chars, lowercase. */
export function uniqueAzureName(prefix: string, separator = '-'): string {
  counter += 1;
  return [prefix, process.pid.toString(36), counter.toString(36), Math.random().toString(36).slice(2, 8)].join(separator).toLowerCase().slice(0, 63);
}
