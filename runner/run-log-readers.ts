import type { RunLogReader } from '../core/ports/run-log.js';
import { LocalRunLogReader } from '../core/adapters/run-log/local-run-log-reader.js';

/**
 * Where the log of a store's runs is read: beside a local catalog, the logs the runner wrote
 * there. A catalog in the cloud has its runs' logs in the platform's log service instead (read by
 * that platform's reader); without one, runs show no log.
 */
export function runLogReaderFor(store: { readonly localCatalogDir?: string }): RunLogReader | undefined {
  return store.localCatalogDir ? new LocalRunLogReader(store.localCatalogDir) : undefined;
}
