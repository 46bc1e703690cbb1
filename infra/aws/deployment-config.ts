import { readFileSync } from 'node:fs';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_CONFIG_PATH, environmentOf, parseConfig, type Environment } from '../../core/config/load-config.js';

/** The environment one stack deploys, with the config text it came from (bundled into the functions). */
export interface DeploymentConfig {
  readonly environment: AwsEnvironment;
  /** The whole config file's text: `bundledEnvironmentJson` extracts this environment from it. */
  readonly configText: string;
  /** Where the text came from, for error messages. */
  readonly configOrigin: string;
}

/** An environment whose cloud is AWS, so its region is known. */
export type AwsEnvironment = Environment & { readonly cloud: 'aws'; readonly region: string };

/**
 * Picks the environment `-c env=<name>` names from config text. Refuses a missing or unknown
 * name (listing the ones there are) and an environment that is not on AWS: this app deploys only
 * AWS environments; GCP and Azure have their Terraform modules.
 */
export function awsEnvironmentOf(configText: string, environmentName: string | undefined, configOrigin = DEFAULT_CONFIG_PATH): DeploymentConfig {
  const environment = environmentOf(parseConfig(configText, configOrigin), environmentName);
  if (environment.cloud !== 'aws') {
    const instead = environment.cloud === 'local' ? 'a local environment needs no deployment: run `vaultra backup` on the machine' : `deploy it with the Terraform module in infra/${environment.cloud}/`;
    throw new ConfigError(`environment ${JSON.stringify(environment.name)} in ${configOrigin} is a ${environment.cloud} environment: the CDK app deploys AWS environments only; ${instead}`);
  }
  if (environment.region === undefined) throw new ConfigError(`environment ${JSON.stringify(environment.name)} in ${configOrigin} has no region`);
  return { environment: environment as AwsEnvironment, configText, configOrigin };
}

/** Reads the config file and picks the environment; a missing file is a one-line `ConfigError`. */
export function readDeploymentConfig(configPath: string, environmentName: string | undefined): DeploymentConfig {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${configPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; pass -c config=<path> to use another file`);
  }
  return awsEnvironmentOf(text, environmentName, configPath);
}
