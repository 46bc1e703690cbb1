/**
 * The runner and restore jobs became one `for_each` block (runner.tf), and the functions' grants on
 * them followed: an existing deployment must see its jobs and grants moved to the new addresses,
 * not destroyed and recreated. `terraform test` checks it for real, with mock providers (no
 * credentials, no cloud): moved-jobs/<cloud>/before is a deployment at the old addresses, applied
 * into a state; moved-jobs.tftest.hcl plans a copy of the module against that state and asserts
 * each old object kept its id and name. Providers as in terraform-cli.test.ts (dev_overrides).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, tail } from '../support/exec.js';
import { unmet } from '../support/requirements.js';
import { CONFIG_PATH, devOverridesConfig, findProviders, findTerraform, REPO_ROOT, terraformEnv } from './support/terraform-module.js';

const FIXTURES = path.join(REPO_ROOT, 'test/infra-terraform/moved-jobs');

/**
 * The module manifest `terraform init` would write for the test's `before` module. init cannot run
 * here (it asks the registry for the providers dev_overrides replace), and a local module needs
 * nothing else.
 */
function writeModuleManifest(moduleDir: string): void {
  const manifest = { Modules: [{ Key: '', Source: '', Dir: '.' }, { Key: 'test.tests.moved-jobs.before', Source: './tests/before', Dir: 'tests/before' }] };
  mkdirSync(path.join(moduleDir, '.terraform', 'modules'), { recursive: true });
  writeFileSync(path.join(moduleDir, '.terraform', 'modules', 'modules.json'), JSON.stringify(manifest));
}

describe('an apply over a deployment made while the runner and restore jobs were two blocks', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');
  const providers = findProviders();
  if ('missing' in providers) return unmet('a provider set for terraform test', providers.missing);

  const cliConfig = devOverridesConfig(providers.dir);
  const work = mkdtempSync(path.join(tmpdir(), 'vaultra-tf-moved-'));
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(path.dirname(cliConfig), { recursive: true, force: true });
  });

  it.each(['gcp', 'azure'])('infra/%s moves the jobs and the functions’ grants on them, replacing none', async (cloud) => {
    const copy = path.join(work, cloud);
    cpSync(path.join(REPO_ROOT, 'infra', cloud), copy, { recursive: true, filter: (source) => !source.includes(`${path.sep}.terraform`) });
    cpSync(path.join(FIXTURES, cloud), path.join(copy, 'tests'), { recursive: true });
    writeModuleManifest(copy);

    const result = await run(terraform, ['test', '-no-color', '-var', `environment=${cloud}-example`, '-var', 'runner_image=example.invalid/vaultra/runner:test', '-var', `config_path=${CONFIG_PATH}`], {
      cwd: copy,
      env: terraformEnv(cliConfig),
      timeoutMs: 180_000,
    });

    // Terraform lists every resource it planned: the verdict and the errors are what matter.
    const verdict = result.stdout.split('\n').filter((line) => !line.startsWith('  - '));
    expect(result.code, tail(`${verdict.join('\n')}\n${result.stderr}`, 40)).toBe(0);
    expect(result.stdout).toContain('run "before"... pass');
    expect(result.stdout).toContain('run "after"... pass');
  });
});
