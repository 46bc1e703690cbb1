import { createHash } from 'node:crypto';

/** Container Apps job names: lower-case letters, digits and hyphens (never two in a row), a letter first, at most 32 characters. */
const JOB_NAME = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const MAX_JOB_NAME_LENGTH = 32;
/** The suffix infra/azure gives the runner's job (`<short name>-runner`). */
const RUNNER_SUFFIX = '-runner';

/**
 * The Container Apps job that runs a config job's scheduled drills, named from the runner's job
 * by the convention infra/azure/drill-jobs.tf follows (test/infra-terraform/azure-drill.test.ts
 * holds the two together): `<short name>-drill-<job>` when that is a valid job name, otherwise —
 * a job name with `.` or `_`, or one too long — `<short name>-d<6 hex of sha1(job)>`, which can
 * never be mistaken for a readable one (`r` is no hex digit).
 *
 * @example containerAppsDrillJobName('vaultra-prod-runner', 'shop') // 'vaultra-prod-drill-shop'
 */
export function containerAppsDrillJobName(runnerJobName: string, job: string): string {
  const shortName = runnerJobName.endsWith(RUNNER_SUFFIX) ? runnerJobName.slice(0, -RUNNER_SUFFIX.length) : runnerJobName;
  const readable = `${shortName}-drill-${job}`;
  if (readable.length <= MAX_JOB_NAME_LENGTH && JOB_NAME.test(readable) && !readable.includes('--')) return readable;
  return `${shortName}-d${createHash('sha1').update(job).digest('hex').slice(0, 6)}`;
}
