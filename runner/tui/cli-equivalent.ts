import type { ConsoleSources } from './console-data.js';
import type { OnDemandRequest } from '../../core/ports/on-demand-api.js';
import { redactTarget } from '../commands/restore-command.js';
import { apiEndpointOf } from './cloud-endpoints.js';

/**
 * The command line that does what a screen shows or an action does: every screen names it, so
 * what was learnt in the console can be scripted. Quoting is for a POSIX shell.
 */

function quote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

function storeFlags(sources: ConsoleSources): string {
  return [`--from ${quote(sources.storageUrl)}`, ...(sources.catalogSpec ? [`--catalog ${quote(sources.catalogSpec)}`] : [])].join(' ');
}

function configFlags(sources: ConsoleSources): string {
  return `--config ${quote(sources.configPath)} --env ${sources.environment.name}`;
}

/**
 * A cloud environment's on-demand request as its own CLI sends it: `aws lambda invoke` on AWS
 * (IAM signs it), curl with an identity token on GCP, curl with the function key on Azure (read
 * from the variable, never written out).
 */
function apiCall(sources: ConsoleSources, request: OnDemandRequest): string {
  const { environment } = sources;
  const shown = request.action === 'restore' ? { ...request, target: redactTarget(request.target) } : request;
  const payload = quote(JSON.stringify(shown));
  const endpoint = quote(apiEndpointOf(environment));
  switch (environment.cloud) {
    case 'aws':
      return `aws lambda invoke --function-name ${endpoint} --region ${environment.region} --cli-binary-format raw-in-base64-out --payload ${payload} /dev/stdout`;
    case 'gcp':
      return `curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" -H 'content-type: application/json' -d ${payload} ${endpoint}`;
    default:
      return `curl -H "x-functions-key: $VAULTRA_API_KEY" -H 'content-type: application/json' -d ${payload} ${endpoint}`;
  }
}

export const cliFor = {
  api: apiCall,
  status: (sources: ConsoleSources) => `vaultra status ${configFlags(sources)}${sources.catalogSpec ? ` --catalog ${quote(sources.catalogSpec)}` : ''}`,
  history: (sources: ConsoleSources, job: string) => `vaultra list --all --job ${quote(job)} ${storeFlags(sources)}`,
  show: (sources: ConsoleSources, job: string, runId: string) => `vaultra show ${runId} --job ${quote(job)} --from ${quote(sources.storageUrl)}`,
  runLog: (sources: ConsoleSources, job: string, runId: string) => `vaultra show ${runId} --job ${quote(job)} --log ${storeFlags(sources)}`,
  verify: (sources: ConsoleSources, job: string, runId: string) => `vaultra verify ${runId} --job ${quote(job)} ${storeFlags(sources)}`,
  backup: (sources: ConsoleSources, job: string) => `vaultra run ${quote(job)} ${configFlags(sources)}`,
  restore: (sources: ConsoleSources, choice: { job: string; runId: string; target: string; tables: readonly string[]; selectBy: 'tables' | 'paths'; force: boolean; dryRun: boolean }) =>
    [
      `vaultra restore ${choice.runId} --job ${quote(choice.job)} ${storeFlags(sources)} --target ${quote(redactTarget(choice.target))}`,
      ...(choice.tables.length ? [`--${choice.selectBy} ${quote(choice.tables.join(','))}`] : []),
      ...(choice.dryRun ? ['--dry-run'] : choice.force ? ['--force'] : []),
    ].join(' '),
  validate: (configPath: string) => `vaultra config validate --config ${quote(configPath)}`,
};
