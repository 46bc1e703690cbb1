import type { ContentEntry } from '../ports/database-engine.js';
import type { ObservedEntry, RestoredProbe, SchemaInventory } from '../ports/scratch-target.js';
import type { DrillCheckConfig } from '../config/drill-config.js';
import { oneLine } from '../errors.js';
import { redact } from '../domain/redact.js';
import type { TableChecksums } from '../domain/table-checksums.js';

/** One proof a drill ran against the restored target, as the report and the catalog show it. */
export interface DrillCheck {
  /** `contents`: an entry of the manifest's contents list; `checksum`: a table's checksum the backup recorded; `schema`: the schema objects found; `user`: a check from the job's config. */
  readonly kind: 'contents' | 'checksum' | 'schema' | 'user';
  readonly name: string;
  readonly passed: boolean;
  /** One line: what was found, and against what. */
  readonly detail: string;
}

/** The checks of every entry of a manifest's contents list against what the restore holds (`observed`, in the same order). */
export function contentChecks(contents: readonly ContentEntry[], observed: readonly (ObservedEntry | undefined)[]): DrillCheck[] {
  return contents.map((entry, i) => contentCheck(entry, observed[i]));
}

function contentCheck(entry: ContentEntry, found: ObservedEntry | undefined): DrillCheck {
  const name = `${entry.kind} ${entry.schema ? `${entry.schema}.` : ''}${entry.name}`;
  const check = (passed: boolean, detail: string): DrillCheck => ({ kind: 'contents', name, passed, detail });
  if (!found) return check(false, 'missing from the restore: the backup lists it');
  if (entry.files !== undefined || entry.bytes !== undefined) {
    const same = found.files === entry.files && found.bytes === entry.bytes;
    const restored = `${found.files ?? 0} file(s), ${found.bytes ?? 0} bytes`;
    return check(same, same ? restored : `${restored} restored; the backup recorded ${entry.files ?? 0} file(s), ${entry.bytes ?? 0} bytes`);
  }
  if (entry.rows === undefined) return check(true, found.rows === undefined ? 'present' : `present, ${found.rows} rows`);
  if (found.rows === undefined) return check(false, `present but its rows could not be counted; the backup recorded ${entry.rows}`);
  // Planner estimates are not counts: an estimated table passes with its count shown beside the estimate.
  if (entry.rowsExact === false) return check(true, `${found.rows} rows (the backup estimated ${entry.rows})`);
  // A materialized view's rows are not in the dump: the restore recomputes them from the restored
  // tables (pg_restore's REFRESH), so a view the source had not refreshed since they changed
  // comes back with other rows, and that is the restore being right.
  if (entry.kind === 'materialized-view' && found.rows !== entry.rows) return check(true, `${found.rows} rows, recomputed by the restore (the source's last refresh held ${entry.rows})`);
  return check(found.rows === entry.rows, found.rows === entry.rows ? `${found.rows} rows, as recorded` : `${found.rows} rows restored; the backup counted ${entry.rows}`);
}

/**
 * Each table checksum the backup recorded against the restored table's (`observed`, in the order
 * of `recorded`'s tables). A table the restore lacks is left to its contents check.
 */
export function checksumChecks(recorded: TableChecksums, observed: readonly (string | undefined)[]): DrillCheck[] {
  return Object.entries(recorded).flatMap(([table, expected], i) => {
    const found = observed[i];
    if (found === undefined) return [];
    const algorithm = expected.slice(0, expected.indexOf(':'));
    const passed = found === expected;
    return [{ kind: 'checksum' as const, name: `checksum of table ${table}`, passed, detail: passed ? `${algorithm} as recorded` : `${algorithm} of the restored rows differs from the backup's: their values are not the ones backed up` }];
  });
}

/**
 * The schema objects the restore holds, by kind. Every view, sequence, routine and event the
 * manifest lists is already proven by its own contents check; this one counts what the manifest
 * does not list (triggers, indexes, and for PostgreSQL routines) so a report shows them.
 */
export function schemaCheck(inventory: SchemaInventory): DrillCheck {
  const parts = (
    [
      ['views', inventory.views],
      ['materialized views', inventory.materializedViews],
      ['sequences', inventory.sequences],
      ['routines', inventory.routines],
      ['triggers', inventory.triggers],
      ['indexes', inventory.indexes],
      ['events', inventory.events],
    ] as const
  )
    .filter(([, names]) => names.length > 0)
    .map(([label, names]) => `${names.length} ${label}`);
  return { kind: 'schema', name: 'schema objects', passed: true, detail: parts.length ? `${parts.join(', ')} restored` : 'none besides the tables' };
}

/** Facts a user check may name in its query: `{{backupStartedAt}}` (ISO 8601, UTC) and `{{backupRunId}}`. */
export interface CheckFacts {
  readonly backupStartedAt: string;
  readonly backupRunId: string;
}

/** Runs the job's own checks, one at a time: each passes when its query's first value equals `expect` (as text). */
export async function userChecks(probe: RestoredProbe, checks: readonly DrillCheckConfig[], facts: CheckFacts, signal?: AbortSignal): Promise<DrillCheck[]> {
  const results: DrillCheck[] = [];
  for (const check of checks) {
    const query = check.query.replaceAll('{{backupStartedAt}}', facts.backupStartedAt).replaceAll('{{backupRunId}}', facts.backupRunId);
    let value: string;
    try {
      value = await probe.query(query, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      results.push({ kind: 'user', name: check.name, passed: false, detail: redact(oneLine(error)) });
      continue;
    }
    const passed = value === check.expect;
    results.push({ kind: 'user', name: check.name, passed, detail: passed ? `returned ${JSON.stringify(value)}` : `returned ${JSON.stringify(value)}, expected ${JSON.stringify(check.expect)}` });
  }
  return results;
}
