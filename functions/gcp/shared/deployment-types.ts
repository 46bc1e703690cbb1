export type { FunctionDeployment as GcpDeployment, LaunchingDeployment, ReconcilingDeployment, WatchingDeployment } from '../../shared/deployment-types.js';
