/** Defaults the CLI shares. Storage and catalogs are opened through core's registries. */
export const DEFAULT_STORAGE = 'file://./vaultra-backups';
