import type { Environment } from '../config/environments.js';
import type { DeployedScheduleReader } from '../ports/deployed-schedules.js';
import { ConfigError } from '../errors.js';

/**
 * The reader of an environment's deployed schedules, for its cloud; `undefined` for a local
 * environment (nothing is deployed: `vaultra run` fires its jobs). Each cloud's SDK is imported
 * here on first use, so `vaultra schedule` on a laptop loads none. Throws a one-line
 * `ConfigError` when the environment lacks what its cloud's reader needs.
 */
export async function deployedScheduleReaderFor(environment: Environment, env: NodeJS.ProcessEnv = process.env): Promise<DeployedScheduleReader | undefined> {
  const { cloud, name, region } = environment;
  switch (cloud) {
    case 'local':
      return undefined;
    case 'aws': {
      const { EventBridgeScheduleReader } = await import('./aws/eventbridge-schedule-reader.js');
      return new EventBridgeScheduleReader({ groupName: `vaultra-${name}`, region: region! });
    }
    case 'gcp': {
      const { CloudSchedulerReader } = await import('./gcp/cloud-scheduler-reader.js');
      return new CloudSchedulerReader({ project: environment.gcp!.project, region: region!, environment: name });
    }
    case 'azure': {
      // The config names the resource group, not the subscription: take the one the Azure CLI and Terraform are pointed at.
      const subscriptionId = env.AZURE_SUBSCRIPTION_ID || env.ARM_SUBSCRIPTION_ID;
      if (!subscriptionId) throw new ConfigError('not comparable without a subscription: set AZURE_SUBSCRIPTION_ID to read the function app config');
      const { FunctionAppScheduleReader } = await import('./azure/function-app-schedule-reader.js');
      return new FunctionAppScheduleReader({ subscriptionId, resourceGroup: environment.azure!.resourceGroup, environment: name });
    }
  }
}
