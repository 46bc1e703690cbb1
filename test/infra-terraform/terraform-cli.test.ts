/**
 * The modules as the terraform CLI sees them: `terraform fmt -check` over both, and
 * `terraform validate` of each against real provider schemas. The registry is out of reach on
 * the project's machines, so validate runs with the providers scripts/setup-terraform.sh builds
 * from the Go module proxy (google, azurerm) plus a schema-only stand-in for hashicorp/archive,
 * wired in with dev_overrides: no `terraform init`, nothing written into infra/.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, tail } from '../support/exec.js';
import { unmet } from '../support/requirements.js';
import { devOverridesConfig, findProviders, findTerraform, REPO_ROOT, terraformEnv } from './support/terraform-module.js';

describe('terraform fmt', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  it('finds nothing to reformat in infra/gcp and infra/azure', async () => {
    const result = await run(terraform, ['fmt', '-check', '-recursive', '-diff', 'infra/gcp', 'infra/azure'], { cwd: REPO_ROOT, env: terraformEnv(), timeoutMs: 30_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

interface Validation {
  readonly valid: boolean;
  readonly error_count: number;
  readonly warning_count: number;
  readonly diagnostics: { severity: string; summary: string; detail?: string; range?: { filename: string; start: { line: number } } }[];
}

describe('terraform validate', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');
  const providers = findProviders();
  if ('missing' in providers) return unmet('a provider set for terraform validate', providers.missing);

  const cliConfig = devOverridesConfig(providers.dir);
  const work = mkdtempSync(path.join(tmpdir(), 'vaultra-tf-validate-'));
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(path.dirname(cliConfig), { recursive: true, force: true });
  });

  it.each(['gcp', 'azure'])('accepts infra/%s with the provider schemas, without a warning', async (cloud) => {
    const copy = path.join(work, cloud);
    cpSync(path.join(REPO_ROOT, 'infra', cloud), copy, { recursive: true, filter: (source) => !source.includes(`${path.sep}.terraform`) });
    const result = await run(terraform, ['validate', '-json', '-no-color'], { cwd: copy, env: terraformEnv(cliConfig), timeoutMs: 90_000 });
    let validation: Validation;
    try {
      validation = JSON.parse(result.stdout) as Validation;
    } catch {
      throw new Error(`terraform validate printed no JSON (exit ${result.code}): ${tail(result.stderr || result.stdout)}`);
    }
    // The one warning dev_overrides always add is how this test runs, not a finding.
    const findings = validation.diagnostics.filter((d) => d.summary !== 'Provider development overrides are in effect');
    const problems = findings.map((d) => `${d.severity}: ${d.summary}${d.range ? ` (${d.range.filename}:${d.range.start.line})` : ''}${d.detail ? ` — ${d.detail}` : ''}`);
    expect(problems).toEqual([]);
    expect(validation.valid).toBe(true);
  });
});
