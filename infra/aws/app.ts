/**
 * The CDK app (cdk.json: `npx tsx infra/aws/app.ts`): one stack, `Vaultra-<env>`, for the
 * environment `-c env=<name>` names in the config (`-c config=<path>`, default
 * vaultra.config.yaml), checked by cdk-nag's AwsSolutions pack on every synth.
 *
 *   npx cdk synth -c env=example
 *   npx cdk deploy -c env=prod
 *
 * Switches for emulators, off by default (deploy-switches.ts): `-c runnerImage=<uri>` runs a
 * prebuilt runner image, `-c flowLogs=false` leaves the VPC flow log out.
 */
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { VaultraError } from '../../core/errors.js';
import { DEFAULT_CONFIG_PATH } from '../../core/config/load-config.js';
import { readDeploymentConfig } from './deployment-config.js';
import { deploySwitchesOf } from './deploy-switches.js';
import { addNagChecks } from './nag.js';
import { REPO_ROOT } from './repo-root.js';
import { VaultraStack, vaultraStackName } from './vaultra-stack.js';

const app = new App();
const contextString = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value !== '' ? value : undefined;
};

try {
  // -c config=<path> is relative to where cdk runs; the default is the repository's own file.
  const configPath = path.resolve(contextString('config') ?? path.join(REPO_ROOT, DEFAULT_CONFIG_PATH));
  const deployment = readDeploymentConfig(configPath, contextString('env'));
  const switches = deploySwitchesOf((key) => app.node.tryGetContext(key));
  new VaultraStack(app, vaultraStackName(deployment.environment.name), { deployment, ...switches });
  addNagChecks(app);
  app.synth();
} catch (error) {
  // A config mistake is one line naming the field, not a stack trace.
  if (!(error instanceof VaultraError)) throw error;
  console.error(`vaultra: ${error.message}`);
  process.exitCode = 1;
}
