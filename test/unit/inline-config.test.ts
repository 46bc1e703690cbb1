import { describe, expect, it } from 'vitest';
import { environmentOf, jobOf } from '../../core/config/environments.js';
import { parseConfig } from '../../core/config/load-config.js';
import { validateConfigText } from '../../core/config/validate-config.js';
import { jobProvenance } from '../../core/config/config-provenance.js';
import { readYaml } from '../../core/config/read-yaml.js';
import { inlineDurationBudgetMs, runsInline } from '../../core/config/inline-runtime.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';

const OPTIONS = { now: new Date('2026-03-01T12:00:00Z'), checkSource: checkDatabaseUrl, engineOf: engineIdForUrl };

function config(job: string, cloud = 'aws'): string {
  const where = cloud === 'gcp' ? 'gcp: { project: my-project-1 }' : cloud === 'azure' ? 'azure: { resourceGroup: rg, storageAccount: acct1 }' : '';
  return `
version: 1
environments:
  prod:
    cloud: ${cloud}
    region: europe-west1
    ${where}
    jobs:
      shop:
        source: "secret+${cloud}://prod/shop"
        schedule: { cron: "0 3 * * *" }
        rpo: 26h
        ${job}
`;
}

describe('runtime: inline in the config', () => {
  it('reads runtime: inline as the runtime platform, with the default share of 15 minutes, and keeps the Fargate size beside it', () => {
    const job = jobOf(environmentOf(parseConfig(config('runtime: inline\n        timeout: 10m')), 'prod'), 'shop');
    expect(job.runtime).toEqual({ platform: 'inline' });
    expect(runsInline(job)).toBe(true);
    expect(inlineDurationBudgetMs(job)).toBe(450_000);

    const sized = jobOf(environmentOf(parseConfig(config('runtime: { platform: inline, cpu: 512, memoryMiB: 1024 }\n        timeout: 14m\n        inline: { maxShare: 0.25 }')), 'prod'), 'shop');
    expect(sized.runtime).toEqual({ platform: 'inline', cpu: 512, memoryMiB: 1024 });
    expect(inlineDurationBudgetMs(sized)).toBe(225_000);
    expect(runsInline(jobOf(environmentOf(parseConfig(config('')), 'prod'), 'shop'))).toBe(false);
  });

  it('refuses an inline job whose timeout does not fit in Lambda\'s 15 minutes, saying what to set', () => {
    expect(() => parseConfig(config('runtime: inline'))).toThrow(/jobs\.shop\.timeout: an inline run must end within Lambda's 15 minutes, 1m of which finish the run: set timeout: 14m or less \(got 2h\), or run the job on Fargate/);
  });

  it('refuses runtime: inline outside AWS, in the loader and in config validate', () => {
    expect(() => parseConfig(config('runtime: inline\n        timeout: 10m', 'gcp'))).toThrow(/jobs\.shop\.runtime: inline runs happen inside an AWS Lambda function with the tools layer, and this is a gcp environment: remove runtime: inline/);
    const report = validateConfigText(config('runtime: inline\n        timeout: 30m', 'azure'), 'vaultra.config.yaml', OPTIONS);
    expect(report.errors).toEqual([
      expect.objectContaining({ path: 'environments.prod.jobs.shop.runtime', message: expect.stringContaining('this is a azure environment') }),
      expect.objectContaining({ path: 'environments.prod.jobs.shop.timeout', message: expect.stringContaining('set timeout: 14m or less (got 30m)') }),
    ]);
  });

  it('config validate refuses an engine the layer has no tools for, and warns of inline settings on a Fargate job', () => {
    const report = validateConfigText(config('runtime: inline\n        timeout: 10m').replace('secret+aws://prod/shop', 'dir:/srv/data'), 'vaultra.config.yaml', OPTIONS);
    expect(report.errors).toContainEqual(expect.objectContaining({ path: 'environments.prod.jobs.shop.source', message: expect.stringContaining('a directory source cannot run inline: the Lambda layer carries the tools of postgres, mysql, mongodb, sqlite') }));
    const warned = validateConfigText(config('inline: { maxShare: 0.3 }'), 'vaultra.config.yaml', OPTIONS);
    expect(warned.errors).toEqual([]);
    expect(warned.warnings).toContainEqual({ path: 'environments.prod.jobs.shop.inline', message: 'inline settings apply to runtime: inline only: this job runs on Fargate, so they do nothing' });
  });

  it('refuses an unknown platform and a share outside (0, 1]', () => {
    expect(() => parseConfig(config('runtime: lambda'))).toThrow(/jobs\.shop\.runtime\.platform/);
    expect(() => parseConfig(config('runtime: inline\n        timeout: 10m\n        inline: { maxShare: 1.5 }'))).toThrow(/jobs\.shop\.inline\.maxShare/);
  });
});

describe('config show of an inline job', () => {
  it('says runtime.platform came from the job when the job wrote the shorthand runtime: inline', () => {
    const text = config('runtime: inline\n        timeout: 10m');
    const raw = (readYaml(text, 'vaultra.config.yaml') as { environments: { prod: unknown } }).environments.prod;
    const fields = jobProvenance(jobOf(environmentOf(parseConfig(text), 'prod'), 'shop'), raw, OPTIONS.now).fields;
    expect(fields).toContainEqual({ field: 'runtime.platform', value: 'inline', source: 'job' });
  });
});
