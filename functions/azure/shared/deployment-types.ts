export type { FunctionDeployment as AzureDeployment, LaunchingDeployment, ReconcilingDeployment, WatchingDeployment } from '../../shared/deployment-types.js';
