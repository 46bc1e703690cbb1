/**
 * What `vaultra schedule` expects each cloud to hold (`deployedFormOf`), how it compares that with
 * what is deployed (`compareDeployedSchedules`), and the GCP and Azure readers. No emulator serves
 * Cloud Scheduler or Azure Resource Manager: the GCP reader gets a fake listing client and the
 * Azure reader a local HTTP stub of ARM, and their test names say so. (The AWS reader runs
 * against moto: test/integration/schedule-deployed-aws.test.ts.)
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { environmentOf, parseConfig } from '../../core/config/load-config.js';
import { deployedFormOf } from '../../core/config/deployed-schedule-forms.js';
import { checkDeployedSchedules, compareDeployedSchedules } from '../../core/usecases/deployed-schedule-check.js';
import { CloudSchedulerReader, type CloudSchedulerListing } from '../../core/adapters/gcp/cloud-scheduler-reader.js';
import { FunctionAppScheduleReader } from '../../core/adapters/azure/function-app-schedule-reader.js';
import { ConfigError } from '../../core/errors.js';
import type { DeployedSchedule } from '../../core/domain/deployed-schedule.js';

const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';
const NEVER = new AbortController().signal;

/** The same three jobs in an environment of `cloud`: one in Paris time, one with log catch-ups every 15 minutes, one disabled. */
function rawEnvironment(cloud: 'aws' | 'gcp' | 'azure') {
  const secret = (name: string) => `secret+${cloud}://${cloud === 'gcp' ? `projects/vaultra-prod/secrets/${name}` : cloud === 'azure' ? `kvprod/${name}` : `prod/${name}`}`;
  return {
    cloud,
    region: 'europe-west1',
    ...(cloud === 'gcp' ? { gcp: { project: 'vaultra-prod' } } : {}),
    ...(cloud === 'azure' ? { azure: { resourceGroup: 'rg', storageAccount: 'vaultraprod' } } : {}),
    defaults: { encryption: { kms: false, recipients: [RECIPIENT] } },
    jobs: {
      paris: { source: secret('paris'), schedule: { cron: '30 2 * * *', timeZone: 'Europe/Paris' } },
      weekdays: { source: secret('weekdays'), schedule: { cron: '30 1 * * 1-5', timeZone: 'America/New_York' }, logs: { every: '15m' } },
      off: { source: secret('off'), schedule: { cron: '0 * * * *' }, enabled: false },
    },
  };
}
const environmentIn = (cloud: 'aws' | 'gcp' | 'azure') => environmentOf(parseConfig(JSON.stringify({ version: 1, environments: { prod: rawEnvironment(cloud) } })), 'prod');

describe('deployedFormOf: what each cloud deploys from the file', () => {
  it('AWS: an EventBridge cron per enabled job in its time zone, a rate schedule Logs-<job> for log catch-ups', () => {
    expect(deployedFormOf(environmentIn('aws'))).toEqual([
      { name: 'paris', expression: 'cron(30 2 * * ? *)', timeZone: 'Europe/Paris', enabled: true },
      { name: 'weekdays', expression: 'cron(30 1 ? * MON,TUE,WED,THU,FRI *)', timeZone: 'America/New_York', enabled: true },
      { name: 'Logs-weekdays', expression: 'rate(15 minutes)', timeZone: 'UTC', enabled: true },
    ]);
  });

  it('GCP: the five-field cron as written, the log catch-up as a cron in UTC (as infra/gcp/locals.tf computes it)', () => {
    expect(deployedFormOf(environmentIn('gcp'))).toEqual([
      { name: 'paris', expression: '30 2 * * *', timeZone: 'Europe/Paris', enabled: true },
      { name: 'weekdays', expression: '30 1 * * 1-5', timeZone: 'America/New_York', enabled: true },
      { name: 'Logs-weekdays', expression: '*/15 * * * *', timeZone: 'UTC', enabled: true },
    ]);
  });

  it('GCP: a drill schedule Drill-<job> on the drill\'s five-field cron in its time zone (infra/gcp/drill.tf)', () => {
    const raw = rawEnvironment('gcp');
    const jobs = { ...raw.jobs, paris: { ...raw.jobs.paris, drill: { schedule: { cron: '0 5 * * 0', timeZone: 'Europe/Paris' } } } };
    const environment = environmentOf(parseConfig(JSON.stringify({ version: 1, environments: { prod: { ...raw, jobs } } })), 'prod');

    expect(deployedFormOf(environment).filter((schedule) => schedule.name.startsWith('Drill-'))).toEqual([{ name: 'Drill-paris', expression: '0 5 * * 0', timeZone: 'Europe/Paris', enabled: true }]);
  });

  it('Azure: every job of the config the dispatcher walks, disabled ones included', () => {
    expect(deployedFormOf(environmentIn('azure'))).toEqual([
      { name: 'paris', expression: '30 2 * * *', timeZone: 'Europe/Paris', enabled: true },
      { name: 'weekdays', expression: '30 1 * * 1-5', timeZone: 'America/New_York', enabled: true },
      { name: 'Logs-weekdays', expression: 'every 15m', timeZone: 'UTC', enabled: true },
      { name: 'off', expression: '0 * * * *', timeZone: 'UTC', enabled: false },
    ]);
  });
});

describe('compareDeployedSchedules', () => {
  const aws = environmentIn('aws');
  const deployed = deployedFormOf(aws);

  it('matches when the deployment holds exactly the expected schedules', () => {
    const check = compareDeployedSchedules(aws, deployed);

    expect(Object.fromEntries(check.byJob)).toEqual({ paris: { state: 'matches' }, weekdays: { state: 'matches' }, off: { state: 'matches' } });
    expect(check.unexpected).toEqual([]);
  });

  it('names every difference of a job on one line: its log schedule included', () => {
    const drifted: DeployedSchedule[] = [
      { name: 'paris', expression: 'cron(30 2 * * ? *)', timeZone: 'UTC', enabled: true },
      { name: 'weekdays', expression: 'cron(30 1 ? * MON,TUE,WED,THU,FRI *)', timeZone: 'America/New_York', enabled: true },
      { name: 'off', expression: 'cron(0 * * * ? *)', timeZone: 'UTC', enabled: true },
      { name: 'gone-job', expression: 'cron(0 4 * * ? *)', timeZone: 'UTC', enabled: true },
    ];

    const check = compareDeployedSchedules(aws, drifted);

    expect(check.byJob.get('paris')).toEqual({ state: 'differs', detail: 'paris deployed cron(30 2 * * ? *) (UTC), the file gives cron(30 2 * * ? *) (Europe/Paris)' });
    expect(check.byJob.get('weekdays')).toEqual({ state: 'differs', detail: 'Logs-weekdays not deployed' });
    expect(check.byJob.get('off')).toEqual({ state: 'differs', detail: 'off deployed (cron(0 * * * ? *) (UTC)) but the file schedules none (disabled or removed)' });
    expect(check.unexpected).toEqual(['gone-job']);
  });

  it('a disabled job whose schedule is deployed paused matches: nothing fires', () => {
    const check = compareDeployedSchedules(aws, [...deployed, { name: 'off', expression: 'cron(0 * * * ? *)', timeZone: 'UTC', enabled: false }]);

    expect(check.byJob.get('off')).toEqual({ state: 'matches' });
  });

  it('checkDeployedSchedules: a reader that fails makes every job unknown with its one-line reason', async () => {
    const failing = { list: () => Promise.reject(new ConfigError('reading x failed: no AWS credentials found\n(set AWS_PROFILE)')) };

    const check = await checkDeployedSchedules(aws, failing, NEVER);

    expect([...check.byJob.values()]).toEqual(Array(3).fill({ state: 'unknown', reason: 'reading x failed: no AWS credentials found | (set AWS_PROFILE)' }));
  });
});

describe('CloudSchedulerReader (fake Cloud Scheduler client: no emulator serves Cloud Scheduler)', () => {
  /** A listing client answering with `jobs`, recording the parent it was asked for. */
  function fakeListing(jobs: object[] | Error): CloudSchedulerListing & { parents: string[] } {
    const parents: string[] = [];
    return {
      parents,
      listJobs: ((request: { parent: string }) => {
        parents.push(request.parent);
        return jobs instanceof Error ? Promise.reject(jobs) : Promise.resolve([jobs, null, null]);
      }) as never,
    };
  }

  it("keeps this environment's backup, log and drill jobs, by their Terraform names and descriptions, and reads paused as not enabled", async () => {
    const client = fakeListing([
      { name: 'projects/p/locations/europe-west1/jobs/vaultra-prod-paris', description: 'Vaultra prod: back up paris', schedule: '30 2 * * *', timeZone: 'Europe/Paris', state: 'ENABLED' },
      { name: 'projects/p/locations/europe-west1/jobs/vaultra-prod-Logs-weekdays', description: "Vaultra prod: archive weekdays's change log", schedule: '*/15 * * * *', timeZone: 'UTC', state: 'PAUSED' },
      { name: 'projects/p/locations/europe-west1/jobs/vaultra-prod-Drill-paris', description: 'Vaultra prod: drill paris (restore its newest backup and check it)', schedule: '0 5 * * 0', timeZone: 'Europe/Paris', state: 'ENABLED' },
      { name: 'projects/p/locations/europe-west1/jobs/vaultra-prod-watchdog', description: 'Vaultra prod: RPO and stuck-run check', schedule: '0 * * * *', timeZone: 'UTC', state: 'ENABLED' },
      { name: 'projects/p/locations/europe-west1/jobs/vaultra-prod-eu-paris', description: 'Vaultra prod-eu: back up paris', schedule: '0 3 * * *', timeZone: 'UTC', state: 'ENABLED' },
    ]);

    const schedules = await new CloudSchedulerReader({ project: 'p', region: 'europe-west1', environment: 'prod', client }).list(NEVER);

    expect(client.parents).toEqual(['projects/p/locations/europe-west1']);
    expect(schedules).toEqual([
      { name: 'paris', expression: '30 2 * * *', timeZone: 'Europe/Paris', enabled: true },
      { name: 'Logs-weekdays', expression: '*/15 * * * *', timeZone: 'UTC', enabled: false },
      { name: 'Drill-paris', expression: '0 5 * * 0', timeZone: 'Europe/Paris', enabled: true },
    ]);
  });

  it('turns PERMISSION_DENIED into a one-line ConfigError naming the role to grant', async () => {
    const denied = Object.assign(new Error('7 PERMISSION_DENIED: The caller does not have permission'), { code: 7, details: 'The caller does not have permission' });

    const reading = new CloudSchedulerReader({ project: 'p', region: 'europe-west1', environment: 'prod', client: fakeListing(denied) }).list(NEVER);

    await expect(reading).rejects.toThrow(new ConfigError('listing the Cloud Scheduler jobs of projects/p/locations/europe-west1 failed: permission denied (grant roles/cloudscheduler.viewer on p)'));
  });
});

describe('FunctionAppScheduleReader (local HTTP stub of Azure Resource Manager: no emulator serves it)', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** An ARM stub answering `appsettings/list` with `status` and `body`; records each request's method, path and authorization. */
  async function stubArm(status: number, body: unknown): Promise<{ endpoint: string; requests: { method?: string; url?: string; authorization?: string }[] }> {
    const requests: { method?: string; url?: string; authorization?: string }[] = [];
    server = createServer((request: IncomingMessage, response) => {
      requests.push({ method: request.method, url: request.url, authorization: request.headers.authorization });
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
  }
  const credential = { getToken: () => Promise.resolve({ token: 'stub-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const reader = (endpoint: string) => new FunctionAppScheduleReader({ subscriptionId: 'sub-1', resourceGroup: 'rg', environment: 'prod', credential, managementEndpoint: endpoint });

  it("reads the config the function app was deployed with, keeps only VAULTRA_CONFIG_JSON, and gives its schedules in the file's form", async () => {
    const deployedConfig = { version: 1, environments: { prod: { ...rawEnvironment('azure'), jobs: { ...rawEnvironment('azure').jobs, paris: { ...rawEnvironment('azure').jobs.paris, schedule: { cron: '0 3 * * *', timeZone: 'Europe/Paris' } } } } } };
    const { endpoint, requests } = await stubArm(200, { properties: { VAULTRA_CONFIG_JSON: JSON.stringify(deployedConfig), OTHER_SECRET: 'canary-not-read' } });

    const deployed = await reader(endpoint).list(NEVER);
    const check = compareDeployedSchedules(environmentIn('azure'), deployed);

    expect(requests).toEqual([{ method: 'POST', url: '/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Web/sites/vaultra-prod-functions/config/appsettings/list?api-version=2023-12-01', authorization: 'Bearer stub-token' }]);
    expect(JSON.stringify(deployed)).not.toContain('canary');
    expect(check.byJob.get('paris')).toEqual({ state: 'differs', detail: 'paris deployed 0 3 * * * (Europe/Paris), the file gives 30 2 * * * (Europe/Paris)' });
    expect(check.byJob.get('weekdays')).toEqual({ state: 'matches' });
    expect(check.byJob.get('off')).toEqual({ state: 'matches' });
  });

  it('an app that does not exist lists nothing (every job: not deployed); one without the setting is not comparable', async () => {
    const missing = await stubArm(404, { error: { code: 'ResourceNotFound' } });
    expect(await reader(missing.endpoint).list(NEVER)).toEqual([]);
    await new Promise<void>((resolve) => server!.close(() => resolve()));

    const bare = await stubArm(200, { properties: { FUNCTIONS_WORKER_RUNTIME: 'node' } });
    await expect(reader(bare.endpoint).list(NEVER)).rejects.toThrow(/^not comparable: function app vaultra-prod-functions has no VAULTRA_CONFIG_JSON setting/);
  });

  it('a refused read says which permission it needs, in one line', async () => {
    const { endpoint } = await stubArm(403, { error: { code: 'AuthorizationFailed', message: 'secret-ish details' } });

    await expect(reader(endpoint).list(NEVER)).rejects.toThrow(new ConfigError('reading the settings of function app vaultra-prod-functions failed: HTTP 403 (grant Microsoft.Web/sites/config/list/action on vaultra-prod-functions, e.g. Website Contributor)'));
  });
});
