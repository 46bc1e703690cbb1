/**
 * The dedup key of chunked snapshots in the Terraform modules, evaluated by terraform itself
 * (`terraform console`, no provider): the value each module writes is 64 hex digits, the form the
 * runner takes as the raw 32-byte key (docs/chunked-snapshots.md), and a fresh one on every
 * evaluation; and infra/azure refuses a config whose secret would take the dedup key's name.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unmet } from '../support/requirements.js';
import { evaluateLocals, findTerraform, loadModule, resource } from './support/terraform-module.js';

/** `${expr}` as hcl2json gives an attribute → `expr`, what terraform console evaluates. */
const expressionOf = (attribute: unknown) => String(attribute).replace(/^\$\{([\s\S]*)\}$/, '$1');

describe('the generated dedup key, evaluated by terraform', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  it.each([
    ['gcp', 'gcp-example', 'google_secret_manager_secret_version', 'secret_data_wo'],
    ['azure', 'azure-example', 'azurerm_key_vault_secret', 'value_wo'],
  ])('infra/%s writes 64 hex digits, different on each evaluation', async (cloud, environment, type, attribute) => {
    // Prepare: the exact expression the module writes.
    const expression = expressionOf(resource(await loadModule(`infra/${cloud}`), type, 'dedup_key')[attribute]);
    // Act
    const values = await evaluateLocals(terraform, `infra/${cloud}`, { environment }, { first: expression, second: expression });
    // Assess
    expect(values.first).toMatch(/^[0-9a-f]{64}$/);
    expect(values.second).toMatch(/^[0-9a-f]{64}$/);
    expect(values.first).not.toBe(values.second);
  });
});

describe('infra/azure: the dedup key’s name in the environment’s vault', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'vaultra-azure-dedup-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const configNaming = (secret: string) => `
version: 1
environments:
  taken:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-backups, storageAccount: acmebackups01 }
    jobs:
      crm:
        source: "secret+azure://kvacmebackups01/${secret}"
        schedule: { cron: "0 3 * * *" }
`;

  it('is free in the shipped azure-example', async () => {
    const values = await evaluateLocals(terraform, 'infra/azure', { environment: 'azure-example' }, { taken: 'local.dedup_key_name_taken' });
    expect(values.taken).toBe(false);
  });

  it.each([
    ['a connection secret of another name', 'crm-db', false],
    ['a connection secret named vaultra-dedup-key, in any case', 'Vaultra-Dedup-Key', true],
  ])('with %s (%s): taken = %s (true fails the plan, by the precondition on the dedup key)', async (_case, secret, taken) => {
    const configPath = path.join(work, `${secret}.yaml`);
    writeFileSync(configPath, configNaming(secret));
    const values = await evaluateLocals(terraform, 'infra/azure', { environment: 'taken', configPath }, { taken: 'local.dedup_key_name_taken', own: 'keys(local.own_vault_secrets)' });
    expect(values.own).toHaveLength(1);
    expect(values.taken).toBe(taken);
  });
});
