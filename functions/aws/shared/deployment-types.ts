import type { FunctionDeployment } from '../../shared/deployment-types.js';

export type { FinishingDeployment, LaunchingDeployment, WatchingDeployment } from '../../shared/deployment-types.js';

/** What the AWS functions use of a deployment: completion arrives as an event, so no tracker. */
export type AwsDeployment = Omit<FunctionDeployment, 'tracker'>;
