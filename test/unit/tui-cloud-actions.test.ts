/**
 * The pure parts of the console's cloud actions: where the api function is, the CLI equivalent
 * each cloud's users would type, how a dry run's answer is read back from a runner's log, and
 * the launched run id a runner records its verify or restore under.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, type Environment } from '../../core/config/load-config.js';
import { ConfigError } from '../../core/errors.js';
import { launchedRunId } from '../../runner/launched-run-id.js';
import { cliFor } from '../../runner/tui/cli-equivalent.js';
import { dryRunFromLog } from '../../runner/tui/cloud-actions.js';
import { apiEndpointOf, cloudRunLogOf, onDemandApiOf } from '../../runner/tui/cloud-endpoints.js';
import type { ConsoleSources } from '../../runner/tui/console-data.js';
import { recordedRun } from '../../core/usecases/record-run.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';

function environment(yaml: string): Environment {
  const config = resolveConfig({ version: 1, environments: { prod: { ...JSON.parse(yaml), jobs: { shop: { source: 'env://SHOP_DATABASE_URL', schedule: { cron: '0 3 * * *' } } } } } });
  return config.environments.get('prod')!;
}

const aws = environment('{"cloud":"aws","region":"eu-west-1"}');
const gcp = environment('{"cloud":"gcp","region":"europe-west1","gcp":{"project":"shop-prod"}}');
const azure = environment('{"cloud":"azure","region":"westeurope","azure":{"resourceGroup":"rg-shop","storageAccount":"shopbackups"}}');
const sourcesOf = (env: Environment) => ({ configPath: 'vaultra.config.yaml', environment: env, storageUrl: 's3://b/backups' }) as unknown as ConsoleSources;

describe("a cloud environment's api function and logs, as the console finds them", () => {
  it('derives the function from the names the stack and the modules give it, unless api: names it', () => {
    expect(apiEndpointOf(aws)).toBe('vaultra-prod-api');
    expect(apiEndpointOf(gcp)).toBe('https://europe-west1-shop-prod.cloudfunctions.net/vaultra-prod-api');
    expect(apiEndpointOf(azure)).toBe('https://vaultra-prod-functions.azurewebsites.net/api/api');
    expect(apiEndpointOf(environment('{"cloud":"azure","region":"westeurope","api":"https://vaultra-prod-functions-h2b4.westeurope-01.azurewebsites.net/api/api","azure":{"resourceGroup":"rg","storageAccount":"shopbackups"}}'))).toBe(
      'https://vaultra-prod-functions-h2b4.westeurope-01.azurewebsites.net/api/api',
    );
  });

  it('asks for the Azure function key only when an action is sent, and says where to find it', async () => {
    const api = await onDemandApiOf(azure, {});
    await expect(api.send({ action: 'list' })).rejects.toThrow(new ConfigError('calling https://vaultra-prod-functions.azurewebsites.net/api/api needs the function\'s key in VAULTRA_API_KEY (az functionapp function keys list), or VAULTRA_API_SCOPE for an Entra ID token'));
  });

  it("reads Azure runs' logs only with the workspace named, and says so otherwise", async () => {
    expect(await cloudRunLogOf(azure)).toEqual({ unavailable: 'set azure.logWorkspace (the Log Analytics workspace id) in environment prod to read runner logs' });
    expect('reader' in (await cloudRunLogOf(environment('{"cloud":"azure","region":"westeurope","azure":{"resourceGroup":"rg","storageAccount":"shopbackups","logWorkspace":"6d3f4a8e-1b2c-4d5e-8f90-a1b2c3d4e5f6"}}')))).toBe(true);
    expect(() => environment('{"cloud":"azure","region":"westeurope","azure":{"resourceGroup":"rg","storageAccount":"shopbackups","logWorkspace":"vaultra-prod-logs"}}')).toThrow(/logWorkspace: the workspace id, a GUID/);
  });
});

describe("the CLI equivalent of a cloud action: the cloud's own command with the same request", () => {
  const request = { action: 'verify' as const, job: 'shop', runId: '20261206T214406.057Z-715576' };

  it('is aws lambda invoke, or curl with an identity token or the function key read from the variable', () => {
    expect(cliFor.api(sourcesOf(aws), request)).toBe(
      `aws lambda invoke --function-name vaultra-prod-api --region eu-west-1 --cli-binary-format raw-in-base64-out --payload '{"action":"verify","job":"shop","runId":"20261206T214406.057Z-715576"}' /dev/stdout`,
    );
    expect(cliFor.api(sourcesOf(gcp), request)).toBe(
      `curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" -H 'content-type: application/json' -d '{"action":"verify","job":"shop","runId":"20261206T214406.057Z-715576"}' https://europe-west1-shop-prod.cloudfunctions.net/vaultra-prod-api`,
    );
    expect(cliFor.api(sourcesOf(azure), request)).toBe(
      `curl -H "x-functions-key: $VAULTRA_API_KEY" -H 'content-type: application/json' -d '{"action":"verify","job":"shop","runId":"20261206T214406.057Z-715576"}' https://vaultra-prod-functions.azurewebsites.net/api/api`,
    );
  });

  it('never shows a password typed into a restore target, nor the Azure key', () => {
    const line = cliFor.api(sourcesOf(azure), { action: 'restore', job: 'shop', target: 'postgres://app:canary-hunter2@db/shop_copy', dryRun: true, force: true });
    expect(line).not.toContain('canary-hunter2');
    expect(line).toContain('postgres://app:***@db/shop_copy');
  });
});

describe("a cloud dry run's answer, read back from the runner's log", () => {
  const answer = JSON.stringify(
    { runId: 'R', job: 'shop', engine: 'sqlite', target: 'sqlite:/srv/copy.db', dryRun: true, status: 'checked', bytesRaw: 4096, restored: [{ kind: 'table', name: 'items' }], replaced: ['items'], signature: { verified: true, keyId: 'aws-kms:k', trustedAs: 'the deployment' } },
    null,
    2,
  ).split('\n');

  it("is the runner's --json block, found among other lines, or its error line", () => {
    const lines = ['vaultra: warning: something', ...answer, 'trailing'].map((text) => ({ text }));
    expect(dryRunFromLog(lines)).toEqual({ result: { target: 'sqlite:/srv/copy.db', restored: [{ kind: 'table', name: 'items' }], replaced: ['items'], bytesRaw: 4096, signature: 'aws-kms:k (trusted as the deployment)' } });
    expect(dryRunFromLog([{ text: 'vaultra: error: backup R holds nothing named nope' }])).toEqual({ error: 'backup R holds nothing named nope' });
  });

  it('is not there yet while the log holds no complete answer', () => {
    expect(dryRunFromLog([])).toBeUndefined();
    expect(dryRunFromLog(answer.slice(0, 4).map((text) => ({ text })))).toBeUndefined();
    expect(dryRunFromLog(['{', '  "dryRun": false', '}'].map((text) => ({ text })))).toBeUndefined();
  });
});

describe('a launched verify or restore, recorded under the run id its launcher gave it', () => {
  it('reads VAULTRA_RUN_ID when a launcher set it, and refuses one that is not a run id', () => {
    expect(launchedRunId({})).toBeUndefined();
    expect(launchedRunId({ VAULTRA_RUN_ID: '20261206T214406.057Z-715576' })).toBe('20261206T214406.057Z-715576');
    expect(() => launchedRunId({ VAULTRA_RUN_ID: 'nope' })).toThrow(ConfigError);
  });

  it('records the run under that id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultra-launched-run-'));
    try {
      const catalog = new LocalCatalog(dir);
      const { run } = await recordedRun(catalog, { kind: 'verify', job: 'shop', runId: '20261206T214406.057Z-715576' }, () => Promise.resolve('ok'));
      expect(run.runId).toBe('20261206T214406.057Z-715576');
      expect(await catalog.get('shop', '20261206T214406.057Z-715576')).toMatchObject({ kind: 'verify', status: 'succeeded' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
