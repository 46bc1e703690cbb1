/**
 * The shell steps infra/azure runs through terraform_data (local-exec), run for real against a
 * stand-in `az` on PATH that records its arguments and fails on demand: what they ask the Azure
 * CLI to do, in which order, and how they retry while new role assignments propagate.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../support/exec.js';
import { REPO_ROOT } from './support/terraform-module.js';

const SCRIPTS = path.join(REPO_ROOT, 'infra/azure/scripts');

/**
 * An `az` that appends its arguments to calls.log and fails the first N calls whose arguments
 * contain a given word (FAIL_<word>=N), the way a 403 fails them while a grant propagates.
 */
const FAKE_AZ = `#!/bin/sh
printf '%s\\n' "$*" >> "$AZ_STATE/calls.log"
for word in $AZ_FAIL_WORDS; do
  case " $* " in
    *" $word "*)
      count=$(cat "$AZ_STATE/$word.count" 2>/dev/null || echo 0)
      count=$((count + 1))
      echo "$count" > "$AZ_STATE/$word.count"
      limit=$(eval echo "\\$FAIL_$(echo "$word" | tr -c 'A-Za-z0-9\\n' '_')")
      if [ "$count" -le "\${limit:-0}" ]; then echo "ERROR: (Forbidden) 403 on $word" >&2; exit 1; fi
      ;;
  esac
done
exit 0
`;

/** What every script asks first: a missing sign-in fails at once instead of being retried. */
const signedIn = 'account show --output none';

let work: string;
let bin: string;

beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'vaultra-az-scripts-'));
  bin = path.join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'az'), FAKE_AZ);
  chmodSync(path.join(bin, 'az'), 0o755);
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

async function runScript(script: string, env: Record<string, string>, withAz = true) {
  const result = await run(path.join(SCRIPTS, script), [], {
    env: { PATH: `${withAz ? `${bin}:` : ''}/usr/bin:/bin`, AZ_STATE: work, VAULTRA_RETRY_DELAY_SECONDS: '0', ...env },
    timeoutMs: 30_000,
  });
  let calls: string[] = [];
  try {
    calls = readFileSync(path.join(work, 'calls.log'), 'utf8').trim().split('\n');
  } catch {
    // no call at all
  }
  return { ...result, calls };
}

describe('publish-functions.sh (terraform_data.publish_functions)', () => {
  const app = { SUBSCRIPTION: '00000000-0000-0000-0000-000000000001', RESOURCE_GROUP: 'vaultra-example', FUNCTION_APP: 'vaultra-azure-example-functions', PACKAGE: '/tmp/vaultra functions.zip' };
  const target = `--subscription ${app.SUBSCRIPTION} --resource-group ${app.RESOURCE_GROUP} --name ${app.FUNCTION_APP}`;
  const deleteSetting = `functionapp config appsettings delete ${target} --setting-names AzureWebJobsStorage --output none`;
  const configZip = `functionapp deployment source config-zip ${target} --src ${app.PACKAGE} --output none`;

  it('deletes the key-less AzureWebJobsStorage the provider writes, then publishes with config-zip (OneDeploy for a Flex app)', async () => {
    const result = await runScript('publish-functions.sh', app);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // In this order: the host the publish starts and health-checks must find only the identity-based settings.
    expect(result.calls).toEqual([signedIn, deleteSetting, configZip]);
  });

  it('tries again while the app’s new storage grant propagates, then succeeds', async () => {
    const result = await runScript('publish-functions.sh', { ...app, AZ_FAIL_WORDS: 'config-zip', FAIL_config_zip: '2' });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([signedIn, deleteSetting, configZip, deleteSetting, configZip, deleteSetting, configZip]);
    expect(result.stderr).toContain('attempt 2 of 10 failed');
  });

  it('never publishes while AzureWebJobsStorage could not be deleted', async () => {
    const result = await runScript('publish-functions.sh', { ...app, AZ_FAIL_WORDS: 'delete', FAIL_delete: '1' });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([signedIn, deleteSetting, deleteSetting, configZip]);
  });

  it('gives up after VAULTRA_PUBLISH_ATTEMPTS, failing the apply', async () => {
    const result = await runScript('publish-functions.sh', { ...app, AZ_FAIL_WORDS: 'config-zip', FAIL_config_zip: '99', VAULTRA_PUBLISH_ATTEMPTS: '3' });
    expect(result.code).toBe(1);
    expect(result.calls.filter((call) => call === configZip)).toHaveLength(3);
    expect(result.stderr).toContain(`publishing to ${app.FUNCTION_APP} failed 3 times`);
  });

  it('says what is missing without the Azure CLI, or when it is not signed in, without retrying', async () => {
    const missing = await runScript('publish-functions.sh', app, false);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the Azure CLI (az) is needed');
    const signedOut = await runScript('publish-functions.sh', { ...app, AZ_FAIL_WORDS: 'account', FAIL_account: '1' });
    expect(signedOut.code).toBe(1);
    expect(signedOut.calls).toEqual([signedIn]);
    expect(signedOut.stderr).toContain('not signed in: run az login');
  });
});

describe('wait-for-vault-access.sh (terraform_data.deployer_vault_access)', () => {
  const keys = 'keyvault key list --vault-name kvvaultraexample --maxresults 1 --output none';
  const secrets = 'keyvault secret list --vault-name kvvaultraexample --maxresults 1 --output none';

  it('returns at once when the identity can already list the keys and the secrets', async () => {
    const result = await runScript('wait-for-vault-access.sh', { VAULT: 'kvvaultraexample' });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([signedIn, keys, secrets]);
  });

  it('asks again while the new role assignments have not reached the vault', async () => {
    const result = await runScript('wait-for-vault-access.sh', { VAULT: 'kvvaultraexample', VAULTRA_POLL_SECONDS: '0', AZ_FAIL_WORDS: 'secret', FAIL_secret: '2' });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([signedIn, keys, secrets, keys, secrets, keys, secrets]);
    expect(result.stderr).toContain('kvvaultraexample refuses this identity for now');
  });

  it('fails the apply with what to check when access never comes', async () => {
    const result = await runScript('wait-for-vault-access.sh', { VAULT: 'kvvaultraexample', VAULTRA_WAIT_SECONDS: '0', AZ_FAIL_WORDS: 'key', FAIL_key: '99' });
    expect(result.code).toBe(1);
    expect(result.calls).toEqual([signedIn, keys]);
    expect(result.stderr).toContain('holds Key Vault Crypto Officer and Key Vault Secrets Officer');
  });

  it('fails at once when the Azure CLI is not signed in', async () => {
    const result = await runScript('wait-for-vault-access.sh', { VAULT: 'kvvaultraexample', AZ_FAIL_WORDS: 'account', FAIL_account: '1' });
    expect(result.code).toBe(1);
    expect(result.calls).toEqual([signedIn]);
  });
});

describe('create-catalog-table.sh (terraform_data.catalog_table)', () => {
  const table = { TABLE_ID: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/vaultra-example/providers/Microsoft.Storage/storageAccounts/vaultraexample/tableServices/default/tables/vaultraruns' };
  // Resource Manager, not the table service: no account key, no storage data role. A host-less URL is a resource id to az rest.
  const put = `rest --method put --url ${table.TABLE_ID}?api-version=2023-05-01 --body {} --output none`;

  it('creates (or finds) the table with one Resource Manager PUT', async () => {
    const result = await runScript('create-catalog-table.sh', table);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([signedIn, put]);
    expect(result.stdout).toContain(`${table.TABLE_ID} exists`);
  });

  it('tries again while Resource Manager refuses the write, then succeeds', async () => {
    const result = await runScript('create-catalog-table.sh', { ...table, AZ_FAIL_WORDS: 'rest', FAIL_rest: '2' });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([signedIn, put, put, put]);
    expect(result.stderr).toContain('attempt 2 of 5 failed');
  });

  it('gives up after VAULTRA_TABLE_ATTEMPTS, failing the apply with the permission to check', async () => {
    const result = await runScript('create-catalog-table.sh', { ...table, AZ_FAIL_WORDS: 'rest', FAIL_rest: '99', VAULTRA_TABLE_ATTEMPTS: '3' });
    expect(result.code).toBe(1);
    expect(result.calls).toEqual([signedIn, put, put, put]);
    expect(result.stderr).toContain('tableServices/tables/write');
  });

  it('says what is missing without the Azure CLI, or when it is not signed in, without retrying', async () => {
    const missing = await runScript('create-catalog-table.sh', table, false);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the Azure CLI (az) is needed');
    const signedOut = await runScript('create-catalog-table.sh', { ...table, AZ_FAIL_WORDS: 'account', FAIL_account: '1' });
    expect(signedOut.code).toBe(1);
    expect(signedOut.calls).toEqual([signedIn]);
    expect(signedOut.stderr).toContain('not signed in: run az login');
  });
});
