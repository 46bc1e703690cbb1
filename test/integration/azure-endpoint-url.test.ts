/**
 * An `azblob://` URL with `?endpoint=` (how Azurite and sovereign clouds are named) through the
 * built CLI: the run folder URL it prints and records keeps the query at the end
 * (`azblob://…/p/<job>/…/<run>?endpoint=…`), never with the run folder inside the endpoint, and
 * `list` and `list --all` of the same URL find the run by that location.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { requireAzurite, requireTools } from '../support/requirements.js';
import { makeWorkspace } from '../support/workspace.js';
import { AZURITE_ACCOUNT, uniqueAzureName } from '../support/azurite-server.js';
import { runFolder } from '../../core/domain/object-layout.js';

describe('azblob:// URL with ?endpoint= through the CLI (Azurite)', () => {
  const tools = requireTools('tar', 'zstd');
  const azurite = requireAzurite();
  if (!tools || !azurite) return;

  const service = BlobServiceClient.fromConnectionString(azurite.env.AZURE_STORAGE_CONNECTION_STRING!);
  const container = uniqueAzureName('endpoint');
  const storeUrl = `azblob://${AZURITE_ACCOUNT}/${container}/p?endpoint=${azurite.endpoint}`;
  let root = '';
  const vaultra = (args: string[]): Promise<VaultraResult> => runVaultra(args, { env: { ...makeWorkspace(root, 'ws').env, ...azurite.env }, timeoutMs: 120_000 });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-az-endpoint-'));
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'a.txt'), 'hello\n');
    await service.createContainer(container);
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('prints, records and lists azblob://…/p/<run folder>?endpoint=…', async () => {
    const backup = await vaultra(['backup', `dir:${join(root, 'src')}`, '--to', storeUrl, '--job', 'app', '--json', '--no-progress']);
    expect(backup.code, backup.stderr).toBe(0);
    const taken = JSON.parse(backup.stdout) as { runId: string; location: string };
    const expected = `azblob://${AZURITE_ACCOUNT}/${container}/p/${runFolder('app', taken.runId)}?endpoint=${azurite.endpoint}`;
    expect(taken.location).toBe(expected);

    // The objects themselves sit under p/<run folder>/.
    const names: string[] = [];
    for await (const blob of service.getContainerClient(container).listBlobsFlat()) names.push(blob.name);
    expect(names.sort()).toEqual([`p/${runFolder('app', taken.runId)}/data.tar.zst.age`, `p/${runFolder('app', taken.runId)}/manifest.json`, `p/${runFolder('app', taken.runId)}/manifest.json.sig`]);

    const listed = await vaultra(['list', '--from', storeUrl, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { location: string }[]).map((run) => run.location)).toEqual([expected]);

    // --all matches the catalog's record (written by the backup) to this location.
    const all = await vaultra(['list', '--from', storeUrl, '--all', '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect((JSON.parse(all.stdout) as { runId: string; location: string }[]).filter((run) => run.runId === taken.runId).map((run) => run.location)).toEqual([expected]);
  });
});
