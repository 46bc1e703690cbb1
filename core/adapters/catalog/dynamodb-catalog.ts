import type { Catalog } from '../../ports/catalog.js';
import { ConfigError } from '../../errors.js';

/** Placeholder while the adapter is being built. */
export const DynamoDbCatalog = {
  fromUrl(url: string): Catalog {
    void url;
    throw new ConfigError('the dynamodb:// catalog is not built yet');
  },
};
