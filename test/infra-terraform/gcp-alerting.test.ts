/**
 * infra/gcp/alerting.tf: the function-errors and failed-execution policies' filters, evaluated by terraform itself.
 * The functions' `service_config[0].service` is what the Cloud Functions v2 API returns,
 * `projects/<p>/locations/<r>/services/<name>` (ServiceConfig.service), while Cloud Monitoring
 * labels Cloud Run revisions with the short `service_name`: a filter built from the full path
 * never matches. The test takes the filter and the local it reads as written in alerting.tf,
 * gives them functions shaped as the API returns them, and reads what terraform makes of it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unmet } from '../support/requirements.js';
import { evaluateLocals, findTerraform, REPO_ROOT } from './support/terraform-module.js';

const ALERTING = readFileSync(path.join(REPO_ROOT, 'infra/gcp/alerting.tf'), 'utf8');

/** The raw HCL of attribute `name` inside `resource "<type>" "<label>"` (or a locals block when no resource is named). */
function attributeSource(name: string, block?: string): string {
  const start = block ? ALERTING.indexOf(block) : 0;
  if (start < 0) throw new Error(`alerting.tf has no ${block}`);
  const match = new RegExp(`^\\s*${name}\\s*=\\s*(.+)$`, 'm').exec(ALERTING.slice(start));
  if (!match) throw new Error(`alerting.tf has no ${name}${block ? ` in ${block}` : ''}`);
  return match[1]!.trim();
}

const SERVICES = ['scheduled-backup', 'reconcile', 'watchdog', 'api'].map((name) => `vaultra-gcp-example-${name}`);
/** google_cloudfunctions2_function.vaultra as the provider fills it in from the API. */
const FUNCTIONS = `{ ${['scheduledBackup', 'reconcile', 'watchdog', 'api']
  .map((key, index) => `${key} = { service_config = [{ service = "projects/vaultra-example/locations/europe-west1/services/${SERVICES[index]}" }] }`)
  .join(', ')} }`;

describe('the function-errors alert policy', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  it('filters on the short Cloud Run service names Cloud Monitoring labels the functions with', async () => {
    const filterSource = attributeSource('filter', 'resource "google_monitoring_alert_policy" "function_errors"');
    // Whatever the filter reads the functions through: the local, or the resource directly.
    const names = ALERTING.includes('function_service_names') ? attributeSource('function_service_names') : 'local.function_service_names';
    const expression = filterSource
      .replaceAll('local.function_service_names', `(${names})`)
      .replaceAll('google_cloudfunctions2_function.vaultra', `(${FUNCTIONS})`);
    const { filter } = (await evaluateLocals(terraform, 'infra/gcp', { environment: 'gcp-example' }, { filter: expression })) as { filter: string };
    expect(filter).toContain('resource.type = "cloud_run_revision"');
    expect(filter).toContain('metric.labels.response_code_class = "5xx"');
    const serviceNames = /resource\.labels\.service_name = one_of\(([^)]*)\)/.exec(filter)?.[1];
    expect(serviceNames?.split(', ').sort()).toEqual(SERVICES.map((name) => `"${name}"`).sort());
    expect(filter).not.toContain('projects/');
  });

  it('keeps a service name that is already short', async () => {
    const names = attributeSource('function_service_names').replaceAll('google_cloudfunctions2_function.vaultra', '({ api = { service_config = [{ service = "vaultra-gcp-example-api" }] } })');
    const result = await evaluateLocals(terraform, 'infra/gcp', { environment: 'gcp-example' }, { names });
    expect(result.names).toEqual(['vaultra-gcp-example-api']);
  });
});

describe('the failed-runner-execution alert policy', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  it('mails a failed execution of the runner job (backups, log pushes) and of the restore job (on-demand restores and verifies)', async () => {
    const expression = attributeSource('filter', 'resource "google_monitoring_alert_policy" "runner_failures"')
      .replaceAll('google_cloud_run_v2_job.runner_jobs', '({ runner = { name = "vaultra-gcp-example-runner" }, restore = { name = "vaultra-gcp-example-restore" } })');
    const { filter } = (await evaluateLocals(terraform, 'infra/gcp', { environment: 'gcp-example' }, { filter: expression })) as { filter: string };
    expect(filter).toBe(
      'resource.type = "cloud_run_job" AND metric.type = "run.googleapis.com/job/completed_execution_count" AND metric.labels.result = "failed" AND resource.labels.job_name = one_of("vaultra-gcp-example-restore", "vaultra-gcp-example-runner")',
    );
  });
});
