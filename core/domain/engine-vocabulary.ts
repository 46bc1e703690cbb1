/**
 * The engine ids and content kinds backups are saved with (manifests, run records): the words
 * of the format, so they live here, in the innermost ring. Each engine's descriptor
 * (core/adapters/engines/<engine>/<engine>-descriptor.ts) says which it uses; the registry there
 * is typed against these lists, so an engine whose id or kinds are missing here does not compile.
 * Never rename or remove a value, only add: old backups keep their words.
 */
export const ENGINE_IDS = ['postgres', 'mysql', 'mongodb', 'sqlite', 'directory', 'volume'] as const;
export type EngineId = (typeof ENGINE_IDS)[number];

export const CONTENT_KINDS = ['table', 'view', 'materialized-view', 'sequence', 'collection', 'routine', 'event', 'directory', 'file', 'symlink'] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];
