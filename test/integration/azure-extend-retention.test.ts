/**
 * AzureBlobStorageBackend.extendRetention on Azurite (docs/chunked-snapshots.md, "Retention and
 * deletion"). Azurite implements no immutability policies (it neither keeps nor reports them), so
 * a small proxy in front of it plays that part of the service: it answers Set Blob Immutability
 * Policy itself, remembers the policy per blob, and adds it to Get Blob Properties answers the way
 * the service does (`x-ms-immutability-policy-until-date`, `-mode`). Everything else is Azurite.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { AzureBlobStorageBackend } from '../../core/adapters/storage/azure/azure-blob-storage.js';
import { canExtendRetention } from '../../core/ports/storage-backend.js';
import { NotFoundError } from '../../core/errors.js';
import { AZURITE_ACCOUNT, azuriteEndpoints, uniqueAzureName } from '../support/azurite-server.js';
import { requireAzurite } from '../support/requirements.js';

const DAY_MS = 86_400_000;
const FAST = { retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 } } as const;

interface Policy {
  until: string;
  mode: string;
}

interface ImmutabilityProxy {
  readonly endpoint: string;
  /** Policies by blob path (`/<account>/<container>/<blob>`), as the service would keep them. */
  readonly policies: Map<string, Policy>;
  /** Every Set Blob Immutability Policy request: its blob path and headers. */
  readonly sets: { path: string; until: string; mode: string }[];
  close(): Promise<void>;
}

async function startImmutabilityProxy(target: string): Promise<ImmutabilityProxy> {
  const upstream = new URL(target);
  const policies = new Map<string, Policy>();
  const sets: ImmutabilityProxy['sets'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const path = decodeURIComponent(url.pathname);
    if (req.method === 'PUT' && url.searchParams.get('comp') === 'immutabilityPolicies') {
      req.resume();
      const policy = { until: String(req.headers['x-ms-immutability-policy-until-date']), mode: String(req.headers['x-ms-immutability-policy-mode']) };
      sets.push({ path, ...policy });
      policies.set(path, policy);
      res.writeHead(200, { 'x-ms-immutability-policy-until-date': policy.until, 'x-ms-immutability-policy-mode': policy.mode, 'x-ms-version': '2025-01-05' });
      return void res.end();
    }
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      const headers = { ...answer.headers };
      const policy = policies.get(path);
      if (req.method === 'HEAD' && policy && answer.statusCode === 200) {
        headers['x-ms-immutability-policy-until-date'] = policy.until;
        headers['x-ms-immutability-policy-mode'] = policy.mode.toLowerCase();
      }
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/$/, '')}`,
    policies,
    sets,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('AzureBlobStorageBackend.extendRetention (Azurite, immutability played by a proxy)', () => {
  const azurite = requireAzurite();
  if (!azurite) return;
  const env = { ...azurite.env };
  const service = BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING!);
  let proxy: ImmutabilityProxy;
  beforeAll(async () => {
    proxy = await startImmutabilityProxy(azuriteEndpoints(azurite).blob);
  });
  afterAll(() => proxy?.close());

  const newContainer = async () => {
    const container = uniqueAzureName('extend');
    await service.createContainer(container);
    return container;
  };
  const backend = (container: string, query = '') => AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}/p?endpoint=${proxy.endpoint}${query}`, { env, ...FAST });
  const pathOf = (container: string, key: string) => `/${AZURITE_ACCOUNT}/${container}/p/${key}`;

  it('sets the policy to immutabilityDays from now when it expires earlier, and never earlier', async () => {
    const container = await newContainer();
    await backend(container).put('pack', Readable.from([Buffer.from('pack')]));
    // As if the full had written it with a 1-day policy a while ago.
    proxy.policies.set(pathOf(container, 'pack'), { until: new Date(Date.now() + DAY_MS).toUTCString(), mode: 'Unlocked' });

    const before = Date.now();
    const threeDays = backend(container, '&immutabilityDays=3');
    expect(canExtendRetention(threeDays)).toBe(true);
    await threeDays.extendRetention('pack');
    expect(proxy.sets.filter((set) => set.path === pathOf(container, 'pack'))).toHaveLength(1);
    const policy = proxy.policies.get(pathOf(container, 'pack'))!;
    expect(policy.mode).toBe('Unlocked');
    expect(Date.parse(policy.until)).toBeGreaterThanOrEqual(before + 3 * DAY_MS - 1_000);

    // Held long enough already: a store with a shorter policy changes nothing.
    await backend(container, '&immutabilityDays=1&immutabilityMode=locked').extendRetention('pack');
    await threeDays.extendRetention('pack');
    expect(proxy.sets.filter((set) => set.path === pathOf(container, 'pack'))).toHaveLength(1);
  });

  it('keeps a locked policy Locked; does nothing without immutabilityDays; a missing blob is NotFoundError', async () => {
    const container = await newContainer();
    await backend(container).put('pack', Readable.from([Buffer.from('x')]));
    proxy.policies.set(pathOf(container, 'pack'), { until: new Date(Date.now() + DAY_MS).toUTCString(), mode: 'Locked' });
    await backend(container, '&immutabilityDays=2&immutabilityMode=unlocked').extendRetention('pack');
    expect(proxy.policies.get(pathOf(container, 'pack'))!.mode).toBe('Locked');

    const setsBefore = proxy.sets.length;
    await backend(container, '&legalHold=true').extendRetention('pack');
    await backend(container).extendRetention('pack');
    expect(proxy.sets).toHaveLength(setsBefore);
    await expect(backend(container, '&immutabilityDays=1').extendRetention('missing')).rejects.toBeInstanceOf(NotFoundError);
  });
});
