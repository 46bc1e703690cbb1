/**
 * A store that accepts connections and never answers (a hung endpoint): with the default
 * request timeouts and retries, `vaultra backup` to S3, GCS and Azure Blob prints one line per
 * retry (what, attempt n of 6, the wait) and gives up within 90 s with one error line saying it
 * gave up after 6 attempts. No emulator is needed: the proxy answers nothing, so nothing is
 * forwarded. The three stores run at once (each waits ~1 minute).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { makeWorkspace } from '../support/workspace.js';
import { always, startFaultyHttpProxy, type FaultyHttpProxy } from '../support/faulty-http-proxy.js';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../support/azurite-server.js';
import { requireTools } from '../support/requirements.js';

/** What a user would accept before a dead store is reported. */
const GIVE_UP_WITHIN_MS = 90_000;

describe('a hung storage endpoint (accepts, never answers)', () => {
  const tools = requireTools('tar', 'zstd');
  if (!tools) return;

  let root = '';
  let proxy: FaultyHttpProxy;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-hung-'));
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'a.txt'), 'hello\n');
    // Nothing is ever forwarded: the upstream is never contacted.
    proxy = await startFaultyHttpProxy('http://127.0.0.1:9', always(() => true, { kind: 'hang' }));
  });

  afterAll(async () => {
    await proxy?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const cases = () => [
    {
      store: 's3',
      url: `s3://vaultra-hung/p?endpoint=${proxy.endpoint}&region=us-east-1`,
      env: { AWS_ACCESS_KEY_ID: 'AKIAHUNGTEST', AWS_SECRET_ACCESS_KEY: 'hung-test-secret', AWS_ENDPOINT_URL: undefined, AWS_ENDPOINT_URL_S3: undefined, AWS_PROFILE: undefined },
    },
    { store: 'gcs', url: `gs://vaultra-hung/p?endpoint=${proxy.endpoint}`, env: { STORAGE_EMULATOR_HOST: undefined } },
    {
      store: 'azure',
      url: `azblob://${AZURITE_ACCOUNT}/hung/p?endpoint=${proxy.endpoint}/${AZURITE_ACCOUNT}`,
      env: { AZURE_STORAGE_CONNECTION_STRING: undefined, AZURE_STORAGE_KEY: AZURITE_KEY, AZURE_STORAGE_ACCOUNT: undefined },
    },
  ];

  it.concurrent.each(['s3', 'gcs', 'azure'])(
    '%s: one line per retry, then one error line, within 90 s',
    async (store) => {
      const { url, env } = cases().find((c) => c.store === store)!;
      const startedAt = Date.now();
      const result = await runVaultra(['backup', `dir:${join(root, 'src')}`, '--to', url, '--job', `hung-${store}`, '--no-progress'], {
        env: { ...makeWorkspace(root, store).env, ...env },
        timeoutMs: 150_000,
      });
      const tookMs = Date.now() - startedAt;

      expect(result.code, result.stderr).toBe(1);
      expect(tookMs).toBeLessThan(GIVE_UP_WITHIN_MS);
      const lines = result.stderr.trimEnd().split('\n');
      // The upload's retries; a cleanup of what it may have left (Azure's staged blocks) has its own short deadline.
      const retries = lines.filter((line) => /; attempt \d of 6, retrying in \d+\.\d s$/.test(line) && !/^vaultra: (discarding|aborting) /.test(line));
      expect(retries.map((line) => /attempt (\d) of 6/.exec(line)![1]), result.stderr).toEqual(['1', '2', '3', '4', '5']);
      for (const line of retries) expect(line).toMatch(/^vaultra: \S.* failed: .*no answer within 10 s; attempt/);
      const errors = lines.filter((line) => line.startsWith('vaultra: error: '));
      expect(errors, result.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(/no answer within 10 s.*\(gave up after 6 attempts\)($|; left behind: .*: the next backup of this job or 'vaultra catalog repair' )/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    },
    150_000,
  );
});
