import { EnvSecretResolver } from '../../core/adapters/secrets/env-secret-resolver.js';
import { secretResolverContract } from './secret-resolver.contract.js';

secretResolverContract('EnvSecretResolver', async () => {
  const env: NodeJS.ProcessEnv = {};
  return {
    resolver: new EnvSecretResolver(env),
    async put(name, value) {
      const variable = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
      env[variable] = value;
      return `env://${variable}`;
    },
    missingReference: 'env://VAULTRA_NOT_SET',
    malformedReference: 'env://not a name',
  };
});
