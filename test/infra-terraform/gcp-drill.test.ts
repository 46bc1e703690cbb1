/**
 * Scheduled drills in infra/gcp (issue 20; docs/drills.md, "In the cloud"): every .tf file parsed
 * for the wiring — a Cloud Run job per drilled job with the runner and its scratch server, the
 * Drill-<job> schedule, the drill service account's grants — and locals.tf evaluated by
 * `terraform console` against a config with drills, compared with what core makes of the same
 * config (drillSidecarOf, deployedFormOf, the drill's size and timeout).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRILL_RUNNER_CONTAINER_NAME } from '../../core/adapters/launchers/cloud-run-job-launcher.js';
import { drillCommand } from '../../runner/commands/drill-command.js';
import { deployedFormOf, drillScheduleName } from '../../core/config/deployed-schedule-forms.js';
import { DRILL_SERVER_CONTAINER_NAME, drillSidecarOf } from '../../core/config/drill-sidecar.js';
import { environmentOf, parseConfig } from '../../core/config/load-config.js';
import { unmet } from '../support/requirements.js';
import { allResources, dynamicBlocks, evaluateLocals, findTerraform, loadModule, nested, resource, type Block, type TerraformModule } from './support/terraform-module.js';

const LONG_JOB = 'nightly-ledger-of-the-accounts-receivable-department-eu-west';

const DRILL_CONFIG = `
version: 1
environments:
  drills:
    cloud: gcp
    region: europe-west1
    gcp: { project: acme-backups-drills }
    defaults: { timeout: 3h, encryption: { kms: true } }
    jobs:
      shop:
        source: "secret+gcp://projects/acme-db/secrets/shop"
        schedule: { cron: "0 2 * * *" }
        drill:
          schedule: { cron: "0 5 * * 0", timeZone: Europe/Paris }
          rto: 30m
          server: postgres:17
          cpu: 2048
          memoryMiB: 6144
      files:
        source: "secret+gcp://projects/acme-db/secrets/files"
        schedule: { cron: "0 3 * * *" }
        timeout: 1h
        drill: { schedule: { cron: "30 6 1 * *" } }
      ${LONG_JOB}:
        source: "secret+gcp://projects/acme-db/secrets/ledger"
        schedule: { cron: "0 4 * * *" }
        drill: { schedule: { cron: "0 7 * * 0" }, server: postgres:16 }
      on-demand-only:
        source: "secret+gcp://projects/acme-db/secrets/adhoc"
        schedule: { cron: "0 5 * * *" }
        drill: { rto: 1h }
      paused:
        source: "secret+gcp://projects/acme-db/secrets/paused"
        schedule: { cron: "0 6 * * *" }
        enabled: false
        drill: { schedule: { cron: "0 8 * * 0" }, server: postgres:17 }
`;

let gcp: TerraformModule;

beforeAll(async () => {
  gcp = await loadModule('infra/gcp');
});

describe('the drill job of a drilled job', () => {
  const containers = (job: Block) => nested(nested(job, 'template'), 'template');

  it('is one Cloud Run job per drilled job, named as the functions are told, running as the drill account, never retried', () => {
    const job = resource(gcp, 'google_cloud_run_v2_job', 'drill');
    expect(job.for_each).toBe('${local.drilled_jobs}');
    expect(job.name).toBe('${local.drill_job_names[each.key]}');
    const task = containers(job);
    expect(task.service_account).toBe('${google_service_account.drill[0].email}');
    expect(task.timeout).toBe('${local.drill_timeout_seconds[each.key]}s');
    expect(task.max_retries).toBe(0);
    // The functions get each job's drill job by name: VAULTRA_CLOUD_RUN_DRILL_JOBS.
    const environment = nested(resource(gcp, 'google_cloudfunctions2_function', 'vaultra'), 'service_config').environment_variables;
    expect(environment).toBe('${local.function_environment}');
    expect((gcp.locals.function_environment as Record<string, string>).VAULTRA_CLOUD_RUN_DRILL_JOBS).toBe('${jsonencode({ for name, job in google_cloud_run_v2_job.drill : name => job.id })}');
  });

  it('has the runner, named as the launcher addresses it, started after the scratch server when there is one, at the drill size, with the catalog', () => {
    const runner = nested(containers(resource(gcp, 'google_cloud_run_v2_job', 'drill')), 'containers');
    expect(runner.name).toBe(DRILL_RUNNER_CONTAINER_NAME);
    expect(runner.image).toBe('${var.runner_image}');
    expect(runner.depends_on).toBe(`\${contains(keys(local.drill_sidecars), each.key) ? ["${DRILL_SERVER_CONTAINER_NAME}"] : null}`);
    expect(nested(runner, 'resources').limits).toBe('${local.drill_sizes[each.key]}');
    expect(runner.env).toEqual([{ name: 'VAULTRA_CATALOG', value: '${local.catalog_url}' }]);
  });

  it('gives the runner, beside a scratch server only, the done file on the volume the two share: the variable `vaultra drill --done-file` reads', () => {
    const task = containers(resource(gcp, 'google_cloud_run_v2_job', 'drill'));
    const runner = nested(task, 'containers');
    const withServer = '${contains(keys(local.drill_sidecars), each.key) ? [local.drill_done_file] : []}';
    const doneFileOption = drillCommand().options.find((option) => option.long === '--done-file');
    expect(dynamicBlocks(runner, 'env')).toEqual([{ forEach: withServer, content: { name: doneFileOption!.envVar, value: '${env.value}' } }]);
    expect(dynamicBlocks(runner, 'volume_mounts')).toEqual([
      { forEach: '${contains(keys(local.drill_sidecars), each.key) ? [local.drill_done_volume] : []}', content: { name: '${volume_mounts.value}', mount_path: '${local.drill_done_folder}' } },
    ]);
    // The volume: in memory, made only when there is a server to tell.
    expect(dynamicBlocks(task, 'volumes')).toEqual([
      { forEach: '${contains(keys(local.drill_sidecars), each.key) ? [local.drill_done_volume] : []}', content: { name: '${volumes.value}', empty_dir: [{ medium: 'MEMORY', size_limit: '1Mi' }] } },
    ]);
    expect(gcp.locals.drill_done_file).toBe('${local.drill_done_folder}/runner-done');
  });

  it('has the scratch server as a second container: its official image and arguments under the stop script, a TCP startup probe on its port, the same size', () => {
    const [server] = dynamicBlocks(containers(resource(gcp, 'google_cloud_run_v2_job', 'drill')), 'containers');
    expect(server!.forEach).toBe('${contains(keys(local.drill_sidecars), each.key) ? [local.drill_sidecars[each.key]] : []}');
    const content = server!.content;
    expect(content.name).toBe(DRILL_SERVER_CONTAINER_NAME);
    expect(content.image).toBe('${containers.value.image}');
    // The stop script runs the image's entrypoint with the server's arguments ("$@" after $0).
    expect(content.command).toEqual(['sh', '-c', '${local.drill_server_script}', DRILL_SERVER_CONTAINER_NAME]);
    expect(content.args).toBe('${containers.value.args}');
    expect(gcp.locals.drill_server_script).toBe('${file("${path.module}/scripts/drill-scratch-server.sh")}');
    const [env] = dynamicBlocks(content, 'env');
    expect(env!.content).toEqual({ name: '${env.key}', value: '${env.value}' });
    // The image's trust setting, plus where the done file is and how long to wait for it: the job's timeout.
    expect(String(env!.forEach).replace(/\s+/g, ' ')).toMatch(
      /^\$\{merge\(containers\.value\.env, \{ VAULTRA_DRILL_DONE_FILE = local\.drill_done_file (# [^}]*)?VAULTRA_DRILL_WAIT_SECONDS = tostring\(local\.job_timeout_seconds\[each\.key\]\) \}\)\}$/,
    );
    expect(nested(content, 'volume_mounts')).toEqual({ name: '${local.drill_done_volume}', mount_path: '${local.drill_done_folder}' });
    expect(nested(content, 'resources').limits).toBe('${local.drill_sizes[each.key]}');
    const probe = nested(content, 'startup_probe');
    expect(nested(probe, 'tcp_socket').port).toBe('${containers.value.port}');
    // About a minute to start, as the AWS task's start period.
    expect((probe.period_seconds as number) * (probe.failure_threshold as number)).toBe(60);
  });
});

describe('the drill schedule', () => {
  it('posts {"job", "kind": "drill"} to scheduledBackup on the drill cron in its time zone, as the backup schedules do, under the name vaultra schedule reads', () => {
    const drill = resource(gcp, 'google_cloud_scheduler_job', 'drill');
    const backup = resource(gcp, 'google_cloud_scheduler_job', 'backup');
    expect(drill.for_each).toBe('${local.drill_schedules}');
    expect(drill.name).toBe('${local.name}-Drill-${each.key}');
    // CloudSchedulerReader keeps `Vaultra <env>: (back up|archive|drill) …` jobs of the environment.
    expect(drill.description).toMatch(/^Vaultra \$\{var\.environment\}: drill \$\{each\.key\} /);
    expect(drill.schedule).toBe('${each.value.cron}');
    expect(drill.time_zone).toBe('${each.value.time_zone}');
    const target = nested(drill, 'http_target');
    expect(target).toEqual({ ...nested(backup, 'http_target'), body: '${base64encode(each.value.body)}' });
  });
});

describe('the drill alert policy', () => {
  it('mails notifications.email when a drill job\'s execution fails, made only when a job schedules a drill', () => {
    const policy = resource(gcp, 'google_monitoring_alert_policy', 'drill_failures');
    expect(policy.count).toBe('${length(local.drilled_jobs) > 0 ? 1 : 0}');
    expect(policy.notification_channels).toBe(resource(gcp, 'google_monitoring_alert_policy', 'runner_failures').notification_channels);
    const filter = String(nested(nested(policy, 'conditions'), 'condition_threshold').filter);
    expect(filter).toContain('resource.type = "cloud_run_job" AND metric.type = "run.googleapis.com/job/completed_execution_count" AND metric.labels.result = "failed"');
    expect(filter).toMatch(/resource\.labels\.job_name = one_of\(\$\{join\(", ", \[for name in values\(local\.drill_job_names\) : .*\]\)\}\)$/);
  });
});

describe('the drill identity', () => {
  const DRILL_MEMBER = 'serviceAccount:${google_service_account.drill[0].email}';
  const RUNNER_MEMBER = 'serviceAccount:${google_service_account.runner.email}';
  const grantsOf = (member: string) =>
    allResources(gcp)
      .filter(({ type, block }) => type.endsWith('_iam_member') && block.member === member)
      .map(({ type, name, block }) => ({ address: `${type}.${name}`, role: String(block.role), target: String(block.bucket ?? block.crypto_key_id ?? block.project ?? block.name), conditioned: Array.isArray(block.condition) }));

  it('is a service account of its own, made only when a job schedules a drill', () => {
    const account = resource(gcp, 'google_service_account', 'drill');
    expect(account.count).toBe('${length(local.drilled_jobs) > 0 ? 1 : 0}');
    expect(account.account_id).toBe('${local.account_prefix}-drill');
  });

  it('reads backups under the prefix, decrypts with the key (the vaultra-kms stanza), reads the signing public key and records its run: nothing else', () => {
    expect(grantsOf(DRILL_MEMBER).map(({ role, target, conditioned }) => `${role} on ${target}${conditioned ? ' (conditioned)' : ''}`).sort()).toEqual([
      'roles/cloudkms.cryptoKeyDecrypter on ${google_kms_crypto_key.vaultra.id}',
      'roles/cloudkms.publicKeyViewer on ${google_kms_crypto_key.signing.id}',
      'roles/datastore.user on ${local.project} (conditioned)',
      'roles/storage.objectViewer on ${google_storage_bucket.backups.name} (conditioned)',
    ]);
    expect(resource(gcp, 'google_storage_bucket_iam_member', 'drill_objects').condition).toEqual([expect.objectContaining({ expression: '${local.prefix_condition}' })]);
    expect(resource(gcp, 'google_project_iam_member', 'drill_catalog').condition).toEqual([expect.objectContaining({ expression: '${local.catalog_condition}' })]);
  });

  it('can neither write, delete, encrypt, sign nor read a secret', () => {
    const roles = grantsOf(DRILL_MEMBER).map((grant) => grant.role);
    for (const forbidden of ['roles/storage.objectUser', 'roles/storage.objectCreator', 'roles/storage.objectAdmin', 'roles/cloudkms.cryptoKeyEncrypterDecrypter', 'roles/cloudkms.cryptoKeyEncrypter', 'roles/cloudkms.signer', 'roles/secretmanager.secretAccessor']) {
      expect(roles).not.toContain(forbidden);
    }
  });

  it('leaves the runner account as it was: drills grant it nothing (its read and decrypt serve the restores and verifies the api function runs on it)', () => {
    const drillFile = gcp.files.get('drill.tf')!;
    expect(drillFile).not.toContain('google_service_account.runner');
    expect(grantsOf(RUNNER_MEMBER).map((grant) => grant.address).filter((address) => address.includes('drill'))).toEqual([]);
  });

  it('lets the functions execute the drill jobs with overrides and follow their executions, as they do the runner job', () => {
    for (const [name, role] of [
      ['functions_execute_drills', 'roles/run.jobsExecutorWithOverrides'],
      ['functions_observe_drills', 'roles/run.viewer'],
    ] as const) {
      const grant = resource(gcp, 'google_cloud_run_v2_job_iam_member', name);
      expect(grant).toMatchObject({ for_each: '${google_cloud_run_v2_job.drill}', name: '${each.value.name}', role, member: 'serviceAccount:${google_service_account.functions.email}' });
    }
  });
});

describe('the drill locals, evaluated by terraform', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  interface DrillLocals {
    schedules: Record<string, { cron: string; time_zone: string; body: string }>;
    names: Record<string, string>;
    sidecars: Record<string, { image: string; args: string[]; env: Record<string, string>; port: number }>;
    sizes: Record<string, { cpu: string; memory: string }>;
    timeouts: Record<string, number>;
    accountId: string;
    prefix: string;
  }
  let work: string;
  let values: DrillLocals;
  const environment = environmentOf(parseConfig(DRILL_CONFIG), 'drills');
  const job = (name: string) => environment.jobs.find((candidate) => candidate.name === name)!;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vaultra-gcp-drill-'));
    const configPath = path.join(work, 'vaultra.config.yaml');
    writeFileSync(configPath, DRILL_CONFIG);
    values = (await evaluateLocals(terraform, 'infra/gcp', { environment: 'drills', configPath }, {
      schedules: 'local.drill_schedules',
      names: 'local.drill_job_names',
      sidecars: 'local.drill_sidecars',
      sizes: 'local.drill_sizes',
      timeouts: 'local.drill_timeout_seconds',
      accountId: '"${local.account_prefix}-drill"',
      prefix: '"${local.name}-"',
    })) as unknown as DrillLocals;
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('schedules every enabled job with drill.schedule, and no other, posting {"job", "kind": "drill"}', () => {
    const drilled = environment.jobs.filter((candidate) => candidate.enabled && candidate.drill?.schedule);
    expect(values.schedules).toEqual(
      Object.fromEntries(drilled.map((candidate) => [candidate.name, { cron: candidate.drill!.schedule!.cron, time_zone: candidate.drill!.schedule!.timeZone, body: JSON.stringify({ job: candidate.name, kind: 'drill' }) }])),
    );
    expect(Object.keys(values.schedules).sort()).toEqual(['files', LONG_JOB, 'shop'].sort());
  });

  it('deploys the drill schedules vaultra schedule expects (deployedFormOf), named as CloudSchedulerReader reads them back', () => {
    // As Cloud Scheduler holds them: `vaultra-<env>-Drill-<job>`, read back without `vaultra-<env>-`.
    const deployed = Object.entries(values.schedules).map(([name, schedule]) => ({ name: `Drill-${name}`, expression: schedule.cron, timeZone: schedule.time_zone, enabled: true }));
    const expected = deployedFormOf(environment).filter((schedule) => schedule.name.startsWith(drillScheduleName('')));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(deployed.sort(byName)).toEqual(expected.sort(byName));
  });

  it('runs the scratch server drillSidecarOf describes, for the jobs with drill.server only', () => {
    expect(Object.keys(values.sidecars).sort()).toEqual([LONG_JOB, 'shop'].sort());
    for (const name of Object.keys(values.sidecars)) {
      const sidecar = drillSidecarOf(job(name).drill)!;
      expect(values.sidecars[name]).toEqual({ image: sidecar.image, args: [...sidecar.command], env: sidecar.environment, port: sidecar.port });
    }
    // The runner's --scratch (start-drill.ts) reaches the server the probe waits for.
    expect(new URL(drillSidecarOf(job('shop').drill)!.scratchUrl).port).toBe(String(values.sidecars.shop!.port));
  });

  it('sizes each drill job from drill.cpu / drill.memoryMiB (core\'s defaults when absent) on Cloud Run\'s CPU steps', () => {
    expect(job('files').drill).toMatchObject({ cpu: 1024, memoryMiB: 2048 });
    expect(values.sizes).toEqual({ shop: { cpu: '2', memory: '6144Mi' }, files: { cpu: '1', memory: '2048Mi' }, [LONG_JOB]: { cpu: '1', memory: '2048Mi' } });
  });

  it('gives each drill job its job\'s timeout plus ten minutes to record a failure', () => {
    expect(values.timeouts).toEqual(Object.fromEntries(Object.keys(values.schedules).map((name) => [name, job(name).timeoutMs / 1000 + 600])));
    expect(values.timeouts.files).toBe(3600 + 600);
  });

  it('names each drill job <name>-drill-<job>, cut to Cloud Run\'s 63 characters with a hash when longer', () => {
    expect(values.names.shop).toBe(`${values.prefix}drill-shop`);
    const long = values.names[LONG_JOB]!;
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^vaultra-drills-drill-nightly-ledger-[a-z0-9-]+-[0-9a-f]{4}$/);
    for (const name of Object.values(values.names)) expect(name).toMatch(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(values.accountId).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
  });
});
