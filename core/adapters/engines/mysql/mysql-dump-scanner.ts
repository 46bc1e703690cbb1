/**
 * A streaming reader of `mariadb-dump`/`mysqldump` SQL output. It splits the dump into the
 * sections the dump tool marks with comments, keeps or drops each section's lines, and notes
 * what the dump holds, with memory bounded by one short line (rows and routine bodies of any
 * size pass through as slices of the chunks they came in).
 *
 * What a single-database dump looks like:
 *
 * ```
 * /*M!999999\- enable the sandbox mode *\/          (MariaDB ≥ 10.5.25/10.11.8)
 * -- MariaDB dump 10.19  Distrib 10.11.19-MariaDB …  header: SET NAMES, @OLD_… settings
 * --
 * -- Table structure for table `orders`            one section per table: DROP/CREATE TABLE,
 * -- Dumping data for table `orders`                then its rows, then its triggers
 * -- Sequence structure for `ids`                   (MariaDB sequences)
 * -- Temporary table structure for view `v`         a stand-in, so views can refer to views
 * -- Dumping events for database 'shop'
 * -- Dumping routines for database 'shop'
 * -- Final view structure for view `v`
 * /*!40103 SET TIME_ZONE=@OLD_TIME_ZONE *\/;        footer: the settings put back
 * -- Dump completed on 2026-11-22  4:50:48         the trailer, written last
 * ```
 *
 * A marker only counts at the start of a statement and outside a `DELIMITER ;;` block, so a
 * trigger or routine body (copied verbatim into the dump) holding such a comment line cannot
 * start a section. Strings never span lines in a dump (the tool escapes newlines), so "the
 * previous line ended with the delimiter" is what "start of a statement" means.
 */

export type SectionKind = 'header' | 'table' | 'table-data' | 'sequence' | 'view-placeholder' | 'view' | 'events' | 'routines' | 'footer';

export interface DumpSection {
  readonly kind: SectionKind;
  /** The table, sequence or view; the database for `events` and `routines`. */
  readonly name?: string;
}

/** A routine or event the dump (re)creates, from the `DROP … IF EXISTS` line it writes first. */
export interface DumpRoutine {
  readonly kind: 'function' | 'procedure' | 'event';
  readonly name: string;
}

export interface ScannerOptions {
  /** Whether a section's lines go to the output; asked once per section. @default every section */
  readonly keep?: (section: DumpSection) => boolean;
  /** False for a scan that only looks (validation): nothing is collected. @default true */
  readonly output?: boolean;
  /**
   * Rewrite the dump tool's `ALTER DATABASE \`source\` CHARACTER SET …` lines (written around
   * routines, triggers and events whose collation differs from the database's) to
   * `ALTER DATABASE CHARACTER SET …`, which applies to the current database: a dump restored
   * under another name must not alter the source's namesake on the target server.
   * @default false
   */
  readonly retargetAlterDatabase?: boolean;
  /**
   * The source database's name: remove its `` `name`. `` qualifier from view definitions. The
   * dump tool strips it, except where the server could not resolve the view when the dump ran
   * (a DEFINER account that no longer exists: MariaDB then prints the stored text, columns
   * qualified with the database), and such a view fails to load under any other database name.
   * @default no rewrite
   */
  readonly retargetViewsFrom?: string;
}

/** Longest line that can be a marker; longer lines (rows, bodies) are passed on unread. */
const MAX_MARKER_BYTES = 4096;
/** Longest view definition line read whole for `retargetViewsFrom` (views are statements, never rows). */
const MAX_VIEW_LINE_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;
const SLASH = 0x2f;
const FIRST_BYTES_TO_READ = new Set(['-', '/', 'D', 'd', 'A', 'a'].map((c) => c.charCodeAt(0)));

const MARKERS: readonly [RegExp, SectionKind][] = [
  [/^-- Table structure for table `((?:[^`]|``)*)`$/, 'table'],
  [/^-- Dumping data for table `((?:[^`]|``)*)`$/, 'table-data'],
  [/^-- Sequence structure for `((?:[^`]|``)*)`$/, 'sequence'],
  [/^-- Temporary (?:table|view) structure for view `((?:[^`]|``)*)`$/, 'view-placeholder'],
  [/^-- Final view structure for view `((?:[^`]|``)*)`$/, 'view'],
  [/^-- Dumping events for database '(.*)'$/, 'events'],
  [/^-- Dumping routines for database '(.*)'$/, 'routines'],
];
const FOOTER = /^\/\*M?!\d+ SET [A-Za-z_]+=@OLD_[A-Za-z_]+ \*\/;$/;
const TRAILER = /^-- Dump completed\b/;
/** The whole trailer line, date included (or `--skip-dump-date`'s bare form), newline-terminated. */
const WHOLE_TRAILER = /^-- Dump completed(?: on \d{4}-\d\d-\d\d [ \d]\d:\d\d:\d\d)?$/;
const DUMP_HEADER = /^-- (MariaDB|MySQL) dump\b/;
const ROUTINE_DROP = /^\/\*!\d+ DROP (FUNCTION|PROCEDURE|EVENT) IF EXISTS `((?:[^`]|``)*)` \*\/;$/;
const DELIMITER = /^DELIMITER\s+(\S+)\s*$/i;
const ALTER_DATABASE = /^ALTER DATABASE `(?:[^`]|``)*` (CHARACTER SET .*)$/;
const VIEW_DEFINITION = /^\/\*!50001 VIEW /;

export class MysqlDumpScanner {
  /** Every section in the order the dump has them. */
  readonly sections: DumpSection[] = [];
  readonly routines: DumpRoutine[] = [];
  /** The `-- MariaDB dump …`/`-- MySQL dump …` line, if the stream began with one. */
  dumpHeader: string | undefined;

  private readonly keep: (section: DumpSection) => boolean;
  private readonly output: boolean;
  private readonly retarget: boolean;
  /** `` `source`. `` as it appears in a view definition, when views are retargeted. */
  private readonly viewQualifier: string | undefined;

  private section: DumpSection = { kind: 'header' };
  private keepSection: boolean;
  private delimiter = ';';
  private atStatementStart = true;
  private lastLineWasTrailer = false;
  private lineNumber = 0;

  /** The start of the current line, held until it ends or proves too long to be a marker. */
  private head: Buffer[] = [];
  private headBytes = 0;
  /** The current line is a long one, being passed on (or dropped) as it comes. */
  private inLongLine = false;
  private longLineKept = false;
  /** The last bytes of the long line, to see whether it ends a statement. */
  private longLineEnd = Buffer.alloc(0);

  constructor(options: ScannerOptions = {}) {
    this.keep = options.keep ?? (() => true);
    this.output = options.output ?? true;
    this.retarget = options.retargetAlterDatabase ?? false;
    this.viewQualifier = options.retargetViewsFrom === undefined ? undefined : `\`${options.retargetViewsFrom.replace(/`/g, '``')}\`.`;
    this.keepSection = this.keep(this.section);
  }

  /** Whether the stream so far ends with the dump tool's `-- Dump completed` trailer. */
  get complete(): boolean {
    return this.lastLineWasTrailer;
  }

  /** Reads a chunk; returns what of it to pass on (slices of `chunk`, or rewritten lines). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let runStart = -1; // start of a run of kept bytes in `chunk` not yet pushed to `out`
    const endRun = (at: number) => {
      if (runStart >= 0 && at > runStart && this.output) out.push(chunk.subarray(runStart, at));
      runStart = -1;
    };
    const keepFrom = (at: number) => {
      if (runStart < 0) runStart = at;
    };

    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, pos);
      const end = newline < 0 ? chunk.length : newline + 1;
      if (this.inLongLine) {
        if (this.longLineKept) keepFrom(pos);
        else endRun(pos);
        this.noteLongLineEnd(chunk.subarray(pos, newline < 0 ? end : newline));
        if (newline >= 0) this.endLongLine();
      } else if (this.headBytes === 0 && newline >= 0 && !this.mayBeSpecial(chunk[pos]!)) {
        // The common case: a whole row or body line inside this chunk, nothing to read in it.
        this.lineNumber++;
        this.endOfOrdinaryLine(chunk, pos, newline);
        if (this.keepSection) keepFrom(pos);
        else endRun(pos);
      } else if (this.headBytes + (end - pos) > this.maxHeadBytes()) {
        // Too long to be a marker: pass on what was held, then the rest as it comes.
        endRun(pos);
        this.inLongLine = true;
        this.longLineKept = this.keepSection;
        if (this.longLineKept && this.output) out.push(...this.head);
        for (const part of this.head) this.noteLongLineEnd(part);
        this.head = [];
        this.headBytes = 0;
        if (this.longLineKept) keepFrom(pos);
        this.noteLongLineEnd(chunk.subarray(pos, newline < 0 ? end : newline));
        if (newline >= 0) this.endLongLine();
      } else {
        endRun(pos);
        this.head.push(Buffer.from(chunk.subarray(pos, end))); // a copy: the chunk is not ours to hold
        this.headBytes += end - pos;
        if (newline >= 0) {
          const line = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
          this.head = [];
          this.headBytes = 0;
          const kept = this.readLine(line);
          if (kept && this.output) out.push(kept);
        }
      }
      pos = end;
    }
    endRun(chunk.length);
    return out;
  }

  /** End of input: reads a last line that had no newline. */
  end(): Buffer[] {
    if (this.inLongLine) {
      this.endLongLine();
      return [];
    }
    if (this.headBytes === 0) return [];
    const line = Buffer.concat(this.head);
    this.head = [];
    this.headBytes = 0;
    const kept = this.readLine(line);
    return kept && this.output ? [kept] : [];
  }

  /** How long a line may grow and still be read whole: a view definition being retargeted may be long. */
  private maxHeadBytes(): number {
    return this.viewQualifier !== undefined && this.section.kind === 'view' ? MAX_VIEW_LINE_BYTES : MAX_MARKER_BYTES;
  }

  /** Lines starting with another byte are never markers, delimiters or rewrites. */
  private mayBeSpecial(firstByte: number): boolean {
    return (this.atStatementStart && FIRST_BYTES_TO_READ.has(firstByte)) || this.retargetsView(firstByte);
  }

  /** A line that may be a view definition to retarget (`/*!50001 VIEW …`). */
  private retargetsView(firstByte: number): boolean {
    return this.viewQualifier !== undefined && this.section.kind === 'view' && firstByte === SLASH;
  }

  /** A short, whole line (with its newline): reads it, updates the state, returns what to pass on. */
  private readLine(line: Buffer): Buffer | undefined {
    this.lineNumber++;
    const text = line.toString('utf8').replace(/\r?\n$/, '');
    if (this.lineNumber <= 3 && DUMP_HEADER.test(text)) this.dumpHeader = text;
    let replacement: Buffer | undefined;

    if (this.atStatementStart && this.delimiter === ';') {
      const marker = this.marker(text);
      if (marker) this.enter(marker);
      else if (TRAILER.test(text)) this.enter({ kind: 'footer' });
      else if (this.section.kind !== 'footer' && FOOTER.test(text)) this.enter({ kind: 'footer' });
      const routine = ROUTINE_DROP.exec(text);
      if (routine) this.routines.push({ kind: routine[1]!.toLowerCase() as DumpRoutine['kind'], name: unquote(routine[2]!) });
    }
    if (this.atStatementStart) {
      const delimiter = DELIMITER.exec(text);
      if (delimiter) this.delimiter = delimiter[1]!;
      const alter = this.retarget ? ALTER_DATABASE.exec(text) : null;
      if (alter) replacement = Buffer.from(`ALTER DATABASE ${alter[1]}${lineEnding(line)}`);
    }
    // The view's body follows `CREATE ALGORITHM=…` and `DEFINER=…` lines: not a statement start.
    if (this.viewQualifier !== undefined && this.retargetsView(line[0]!) && VIEW_DEFINITION.test(text)) replacement = withoutAll(line, Buffer.from(this.viewQualifier));

    const trimmed = text.trim();
    if (trimmed !== '') this.lastLineWasTrailer = WHOLE_TRAILER.test(text) && line.at(-1) === NEWLINE;
    // Comments (and client commands such as DELIMITER) are not part of any statement.
    if (trimmed !== '' && !isComment(trimmed) && !DELIMITER.test(trimmed)) this.atStatementStart = trimmed.endsWith(this.delimiter);
    return this.keepSection ? (replacement ?? line) : undefined;
  }

  private marker(text: string): DumpSection | undefined {
    if (!text.startsWith('-- ')) return undefined;
    for (const [pattern, kind] of MARKERS) {
      const match = pattern.exec(text);
      if (match) return { kind, name: kind === 'events' || kind === 'routines' ? match[1]! : unquote(match[1]!) };
    }
    return undefined;
  }

  private enter(section: DumpSection): void {
    this.section = section;
    this.sections.push(section);
    this.keepSection = this.keep(section);
  }

  /** A row or body line that ends inside the chunk: does it end the statement? */
  private endOfOrdinaryLine(chunk: Buffer, start: number, newline: number): void {
    let last = newline - 1;
    while (last >= start && isSpace(chunk[last]!)) last--;
    if (last < start) return; // blank
    this.lastLineWasTrailer = false;
    this.atStatementStart = endsWith(chunk, last + 1, this.delimiter) && last + 1 - start >= this.delimiter.length;
  }

  private noteLongLineEnd(part: Buffer): void {
    if (part.length === 0) return;
    const joined = Buffer.concat([this.longLineEnd, part.subarray(Math.max(0, part.length - 16))]);
    this.longLineEnd = joined.subarray(Math.max(0, joined.length - 16));
  }

  private endLongLine(): void {
    this.lineNumber++;
    let last = this.longLineEnd.length - 1;
    while (last >= 0 && isSpace(this.longLineEnd[last]!)) last--;
    this.lastLineWasTrailer = false;
    this.atStatementStart = endsWith(this.longLineEnd, last + 1, this.delimiter);
    this.inLongLine = false;
    this.longLineEnd = Buffer.alloc(0);
  }
}

/** `` a``b `` (inside backquotes) → `` a`b ``. */
function unquote(name: string): string {
  return name.replace(/``/g, '`');
}

/** `line` without any occurrence of `needle`, compared as bytes (a view may hold non-UTF-8 literals). */
function withoutAll(line: Buffer, needle: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = line.indexOf(needle); at >= 0; at = line.indexOf(needle, from)) {
    parts.push(line.subarray(from, at));
    from = at + needle.length;
  }
  if (from === 0) return undefined;
  parts.push(line.subarray(from));
  return Buffer.concat(parts);
}

function lineEnding(line: Buffer): string {
  if (line.at(-1) !== NEWLINE) return '';
  return line.at(-2) === 0x0d ? '\r\n' : '\n';
}

function isComment(trimmed: string): boolean {
  return trimmed === '--' || trimmed.startsWith('-- ') || trimmed.startsWith('#') || (trimmed.startsWith('/*') && trimmed.endsWith('*/') && !trimmed.startsWith('/*!'));
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a;
}

function endsWith(buffer: Buffer, end: number, suffix: string): boolean {
  if (end < suffix.length) return false;
  for (let i = 0; i < suffix.length; i++) {
    if (buffer[end - suffix.length + i] !== suffix.charCodeAt(i)) return false;
  }
  return true;
}
