import type { SecretResolver } from '../../ports/secret-resolver.js';
import { ConfigError, NotFoundError } from '../../errors.js';

/** `env://VAR`: the value of an environment variable of the runner (e.g. injected by ECS from Secrets Manager). */
export class EnvSecretResolver implements SecretResolver {
  readonly scheme = 'env';

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async resolve(reference: string): Promise<string> {
    const name = /^env:\/\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(reference)?.[1];
    if (!name) throw new ConfigError(`malformed secret reference ${reference}: expected env://VARIABLE_NAME`);
    const value = this.env[name];
    if (value === undefined || value === '') throw new NotFoundError(`environment variable ${name} (named by env://${name}) is not set`);
    return value;
  }
}
