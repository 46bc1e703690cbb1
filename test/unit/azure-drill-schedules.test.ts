/**
 * `vaultra schedule`'s DEPLOYED column for Azure drills (issue 20): the dispatcher fires a drill
 * from the config the function app carries, so the deployed form of a job's `drill.schedule` is
 * `Drill-<job>` (AWS's name) on its five-field cron and time zone, read back through a local HTTP
 * stub of Azure Resource Manager's `appsettings/list` (no emulator serves ARM).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FunctionAppScheduleReader } from '../../core/adapters/azure/function-app-schedule-reader.js';
import { deployedFormOf } from '../../core/config/deployed-schedule-forms.js';
import { environmentOf, parseConfig } from '../../core/config/load-config.js';
import { compareDeployedSchedules } from '../../core/usecases/deployed-schedule-check.js';

const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';

function rawConfig(drillCron: string) {
  return {
    version: 1,
    environments: {
      prod: {
        cloud: 'azure',
        region: 'westeurope',
        azure: { resourceGroup: 'rg', storageAccount: 'vaultraprod' },
        defaults: { encryption: { kms: false, recipients: [RECIPIENT] } },
        jobs: {
          shop: { source: 'secret+azure://kvprod/shop', schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: drillCron, timeZone: 'Europe/Paris' }, server: 'postgres:17' } },
          paused: { source: 'secret+azure://kvprod/paused', schedule: { cron: '0 4 * * *' }, enabled: false, drill: { schedule: { cron: '0 6 * * 0' } } },
          adhoc: { source: 'secret+azure://kvprod/adhoc', schedule: { cron: '0 5 * * *' }, drill: { rto: '30m' } },
        },
      },
    },
  };
}
const environment = (drillCron = '0 5 * * 0') => environmentOf(parseConfig(JSON.stringify(rawConfig(drillCron))), 'prod');

describe('Azure drills in vaultra schedule', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('are deployed as Drill-<job> on the drill cron and time zone, a disabled job\'s as disabled, none without drill.schedule', () => {
    expect(deployedFormOf(environment())).toEqual([
      { name: 'shop', expression: '0 3 * * *', timeZone: 'UTC', enabled: true },
      { name: 'Drill-shop', expression: '0 5 * * 0', timeZone: 'Europe/Paris', enabled: true },
      { name: 'paused', expression: '0 4 * * *', timeZone: 'UTC', enabled: false },
      { name: 'Drill-paused', expression: '0 6 * * 0', timeZone: 'UTC', enabled: false },
      { name: 'adhoc', expression: '0 5 * * *', timeZone: 'UTC', enabled: true },
    ]);
  });

  it('compare with the config the function app carries (ARM stub): a changed drill cron differs, the same one matches', async () => {
    // Prepare: the function app was deployed with the drill at 04:00 on Sundays.
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ properties: { VAULTRA_CONFIG_JSON: JSON.stringify(rawConfig('0 4 * * 0')) } }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const credential = { getToken: () => Promise.resolve({ token: 'stub-token', expiresOnTimestamp: Number.MAX_SAFE_INTEGER }) };
    const reader = new FunctionAppScheduleReader({ subscriptionId: 'sub-1', resourceGroup: 'rg', environment: 'prod', credential, managementEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });

    // Act
    const deployed = await reader.list(new AbortController().signal);

    // Assess
    expect(compareDeployedSchedules(environment('0 5 * * 0'), deployed).byJob.get('shop')).toEqual({ state: 'differs', detail: 'Drill-shop deployed 0 4 * * 0 (Europe/Paris), the file gives 0 5 * * 0 (Europe/Paris)' });
    const same = compareDeployedSchedules(environment('0 4 * * 0'), deployed);
    expect([...same.byJob.values()].every((check) => check.state === 'matches')).toBe(true);
    expect(same.unexpected).toEqual([]);
  });
});
