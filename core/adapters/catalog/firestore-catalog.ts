import type { Catalog } from '../../ports/catalog.js';
import { ConfigError } from '../../errors.js';

/** Placeholder while the adapter is being built. */
export const FirestoreCatalog = {
  fromUrl(url: string): Catalog {
    void url;
    throw new ConfigError('the firestore:// catalog is not built yet');
  },
};
