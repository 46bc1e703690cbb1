/**
 * Log catch-up schedules in the Terraform modules. GCP: one Cloud Scheduler job per enabled job
 * with `logs`, posting {"job", "kind": "log"} to scheduledBackup every `logs.every` (a UTC cron
 * that `terraform console` computes from the config as core does). Azure: no resource of its own
 * (the dispatcher starts due pushes), but a push size Container Apps would refuse fails the plan,
 * as core refuses it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerAppsSizeProblem } from '../../core/config/container-apps-sizes.js';
import { environmentOf, parseConfig } from '../../core/config/load-config.js';
import { logScheduleCron } from '../../core/config/log-schedule.js';
import { unmet } from '../support/requirements.js';
import { evaluateLocals, findTerraform, loadModule, nested, resource } from './support/terraform-module.js';

const GCP_CONFIG = `
version: 1
environments:
  pitr:
    cloud: gcp
    region: europe-west1
    gcp: { project: acme-backups-pitr }
    defaults: { encryption: { kms: true } }
    jobs:
      orders:
        source: "secret+gcp://projects/acme-db/secrets/orders"
        schedule: { cron: "0 1 * * *", timeZone: Europe/Paris }
        logs: { every: 5m }
      ledger:
        source: "secret+gcp://projects/acme-db/secrets/ledger"
        schedule: { cron: "0 2 * * *" }
        logs: { every: 1m, rpo: 10m }
      hourly:
        source: "secret+gcp://projects/acme-db/secrets/hourly"
        schedule: { cron: "0 3 * * *" }
        logs: { every: 6h, rpo: 1d }
      daily:
        source: "secret+gcp://projects/acme-db/secrets/daily"
        schedule: { cron: "0 4 * * *" }
        logs: { every: 1d, timeout: 3h }
      plain:
        source: "secret+gcp://projects/acme-db/secrets/plain"
        schedule: { cron: "0 5 * * *" }
      paused:
        source: "secret+gcp://projects/acme-db/secrets/paused"
        schedule: { cron: "0 6 * * *" }
        logs: { every: 5m }
        enabled: false
`;

describe('log catch-up schedules in infra/gcp', () => {
  it('posts {"job", "kind": "log"} to scheduledBackup, in UTC, on the log schedule\'s cron, with the backup schedules\' OIDC identity', async () => {
    const gcp = await loadModule('infra/gcp');
    const push = resource(gcp, 'google_cloud_scheduler_job', 'log_push');
    expect(push.for_each).toBe('${local.log_schedules}');
    expect(push.name).toBe('${local.name}-Logs-${each.key}');
    expect(push.schedule).toBe('${each.value.cron}');
    expect(push.time_zone).toBe('UTC');
    const target = nested(push, 'http_target');
    const backupTarget = nested(resource(gcp, 'google_cloud_scheduler_job', 'backup'), 'http_target');
    expect(target.uri).toBe(backupTarget.uri);
    expect(target.body).toBe('${base64encode(each.value.body)}');
    expect(nested(target, 'oidc_token')).toEqual(nested(backupTarget, 'oidc_token'));
  });

  describe('evaluated by terraform', () => {
    const terraform = findTerraform();
    if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');
    let work: string;
    let schedules: Record<string, { cron: string; body: string }>;
    let runnerTimeoutSeconds: number;

    beforeAll(async () => {
      work = mkdtempSync(path.join(tmpdir(), 'vaultra-log-schedules-'));
      writeFileSync(path.join(work, 'vaultra.config.yaml'), GCP_CONFIG);
      ({ schedules, runnerTimeoutSeconds } = (await evaluateLocals(terraform, 'infra/gcp', { environment: 'pitr', configPath: path.join(work, 'vaultra.config.yaml') }, { schedules: 'local.log_schedules', runnerTimeoutSeconds: 'local.runner_timeout_seconds' })) as {
        schedules: Record<string, { cron: string; body: string }>;
        runnerTimeoutSeconds: number;
      });
    });

    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('schedules every enabled job with logs at its interval as core computes it, and no other', () => {
      const environment = environmentOf(parseConfig(GCP_CONFIG), 'pitr');
      const expected = environment.jobs.filter((job) => job.enabled && job.logs).map((job) => [job.name, { cron: logScheduleCron(job.logs!.everyMs), body: JSON.stringify({ job: job.name, kind: 'log' }) }]);
      expect(schedules).toEqual(Object.fromEntries(expected));
      expect(Object.fromEntries(Object.entries(schedules).map(([name, schedule]) => [name, schedule.cron]))).toEqual({ orders: '*/5 * * * *', ledger: '* * * * *', hourly: '0 */6 * * *', daily: '0 0 * * *' });
    });

    it('gives the runner job time for the longest log push too', () => {
      // Every backup has the default 2h; daily's pushes may take 3h.
      const environment = environmentOf(parseConfig(GCP_CONFIG), 'pitr');
      expect(Math.max(...environment.jobs.map((job) => job.timeoutMs), ...environment.jobs.map((job) => job.logs?.timeoutMs ?? 0)) / 1000).toBe(3 * 3600);
      expect(runnerTimeoutSeconds).toBe(3 * 3600 + 600);
    });
  });
});

describe('log push sizes in infra/azure', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'vaultra-log-sizes-'));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('refuses in the runner job\'s precondition the push sizes core refuses', async () => {
    const runtimes: Record<string, Record<string, number> | undefined> = {
      'default-size': undefined,
      'pair-half': { cpu: 512, memoryMiB: 1024 },
      'fargate-only': { cpu: 256, memoryMiB: 2048 },
      'above-consumption': { cpu: 4096, memoryMiB: 8192 },
    };
    const jobs = Object.entries(runtimes)
      .map(([name, runtime]) => `      ${name}:\n        source: "secret+azure://kv/${name}"\n        schedule: { cron: "0 3 * * *" }\n        logs: { every: 5m${runtime ? `, runtime: ${JSON.stringify(runtime)}` : ''} }\n`)
      .join('');
    const file = path.join(work, 'sizes.yaml');
    writeFileSync(file, `version: 1\nenvironments:\n  sizes:\n    cloud: azure\n    region: westeurope\n    azure: { resourceGroup: rg, storageAccount: sizes }\n    jobs:\n${jobs}`);
    const { problems } = (await evaluateLocals(terraform, 'infra/azure', { environment: 'sizes', configPath: file }, { problems: 'local.runtime_size_problems' })) as { problems: string[] };
    const refusedByCore = Object.entries(runtimes).filter(([, runtime]) => runtime !== undefined && containerAppsSizeProblem(runtime) !== undefined).map(([name]) => name);
    expect(refusedByCore.sort()).toEqual(['above-consumption', 'fargate-only']);
    expect(problems.map((problem) => /^jobs\.([\w-]+)\.logs\.runtime: /.exec(problem)?.[1]).sort()).toEqual(refusedByCore);
  });
});
