/** What the MySQL engine concludes from a scanned dump: selections, completeness, what it holds. */
import type { ContentEntry } from '../../../ports/database-engine.js';
import { IntegrityError, NotFoundError } from '../../../errors.js';
import type { DumpSection, MysqlDumpScanner } from './mysql-dump-scanner.js';
import type { DatabaseObject } from './mysql-queries.js';

const RELATION_SECTIONS = new Set<DumpSection['kind']>(['table', 'table-data', 'sequence', 'view-placeholder', 'view']);

/**
 * The sections a selective restore keeps: the header and footer (session settings, put back at
 * the end) and everything of the named tables (structure, rows, triggers), sequences and views
 * (stand-in and final definition). Routines and events belong to no table and are left out.
 */
export function selectionFilter(names: ReadonlySet<string>): (section: DumpSection) => boolean {
  return (section) => {
    if (section.kind === 'header' || section.kind === 'footer') return true;
    return RELATION_SECTIONS.has(section.kind) && names.has(section.name ?? '');
  };
}

/** A NotFoundError naming the selected tables the dump did not have, if any. */
export function missingSelectionError(scanner: MysqlDumpScanner, names: ReadonlySet<string>): Error | undefined {
  const present = new Set(scanner.sections.filter((s) => RELATION_SECTIONS.has(s.kind)).map((s) => s.name));
  const missing = [...names].filter((name) => !present.has(name));
  if (missing.length === 0) return undefined;
  return new NotFoundError(`the backup holds no table or view named ${missing.join(', ')}`);
}

/** An IntegrityError when the stream is not a whole dump (no header line, or no trailer: cut short). */
export function incompleteDumpError(scanner: MysqlDumpScanner): Error | undefined {
  if (!scanner.dumpHeader) return new IntegrityError('the backup is not a mariadb-dump/mysqldump SQL stream: it does not begin with "-- MariaDB dump" or "-- MySQL dump"');
  if (!scanner.complete) return new IntegrityError('the SQL stream is incomplete: it ends before the dump tool\'s "-- Dump completed" line');
  return undefined;
}

/** The objects the dump (re)creates, so far: what a failed restore added and must drop again. */
export function dumpObjects(scanner: MysqlDumpScanner): DatabaseObject[] {
  const objects = new Map<string, DatabaseObject>();
  for (const section of scanner.sections) {
    const kind = section.kind === 'table' ? 'table' : section.kind === 'sequence' ? 'sequence' : section.kind === 'view' || section.kind === 'view-placeholder' ? 'view' : undefined;
    if (kind && section.name !== undefined) objects.set(`${kind}:${section.name}`, { kind, name: section.name });
  }
  for (const routine of scanner.routines) objects.set(`${routine.kind}:${routine.name}`, routine);
  // Views first: they may refer to the tables.
  return [...objects.values()].sort((a, b) => Number(b.kind === 'view') - Number(a.kind === 'view'));
}

/**
 * The verdict of `verify` / `restore --dry-run` on a scanned dump: complete, and holding a
 * section for every table, sequence, view, routine and event the manifest lists.
 */
export function validationResult(scanner: MysqlDumpScanner, contents: readonly ContentEntry[]): string {
  const incomplete = incompleteDumpError(scanner);
  if (incomplete) throw incomplete;
  const has = {
    table: new Set(scanner.sections.filter((s) => s.kind === 'table').map((s) => s.name)),
    sequence: new Set(scanner.sections.filter((s) => s.kind === 'sequence').map((s) => s.name)),
    view: new Set(scanner.sections.filter((s) => s.kind === 'view').map((s) => s.name)),
    routine: new Set(scanner.routines.filter((r) => r.kind !== 'event').map((r) => r.name)),
    event: new Set(scanner.routines.filter((r) => r.kind === 'event').map((r) => r.name)),
  };
  const missing = contents.filter((entry) => {
    const found = has[entry.kind as keyof typeof has];
    return found !== undefined && !found.has(entry.name);
  });
  if (missing.length > 0) {
    const names = missing.slice(0, 5).map((entry) => `${entry.kind} ${entry.name}`).join(', ');
    throw new IntegrityError(`the SQL stream lacks ${missing.length} object(s) the manifest lists (${names}${missing.length > 5 ? ', …' : ''})`);
  }
  const parts = [`${has.table.size} table section(s)`];
  if (has.sequence.size) parts.push(`${has.sequence.size} sequence(s)`);
  if (has.view.size) parts.push(`${has.view.size} view(s)`);
  if (has.routine.size) parts.push(`${has.routine.size} routine(s)`);
  if (has.event.size) parts.push(`${has.event.size} event(s)`);
  return `SQL stream complete; ${parts.join(', ')}`;
}
