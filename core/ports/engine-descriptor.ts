/**
 * What an engine is, apart from what it does: plain data each engine folder exports in a
 * `<engine>-descriptor.ts` that imports nothing heavy, so the CLI (help, `doctor`) and config
 * validation read it without loading any engine, driver or tool wrapper.
 */

/** The operations a tool may be needed for (`logs`: point-in-time recovery's log pushes and replays, and physical bases). */
export type EngineOperation = 'backup' | 'restore' | 'verify' | 'logs';

/** How to ask a tool for its version, and read the answer. */
export interface ToolProbe {
  /** Arguments that make the tool print its version and exit 0. @default ['--version'] */
  readonly args?: readonly string[];
  /** The version from the probe's first output line; `undefined` when the line is not this tool's (e.g. bsdtar for GNU tar). @default the line itself */
  readonly readVersion?: (firstLine: string) => string | undefined;
  /** The command to run for a name, when the engine finds its tools off PATH too (PostgreSQL's versioned folders). @default the name, looked up on PATH */
  readonly command?: (name: string) => string;
}

export interface EngineTool {
  /** Any one of these commands will do, the first preferred (e.g. `mariadb-dump` or `mysqldump`). */
  readonly anyOf: readonly string[];
  readonly neededFor: readonly EngineOperation[];
  /** What the tool is used for, in words, for `doctor`. */
  readonly purpose: string;
  /** How to install it: one line. */
  readonly install: string;
  readonly probe?: ToolProbe;
}

/** The selections a restore of this engine can take (`RestoreOptions`). */
export type SelectionKind = 'tables' | 'schemas' | 'paths' | 'namespaces';

export interface EngineCapabilities {
  /**
   * Whether a failed restore always leaves the target as it was (PostgreSQL: one transaction;
   * SQLite and directories: built aside, then renamed). When false (MySQL DDL commits as it
   * runs, mongorestore has no transaction), a restore that replaces existing data reads and
   * checks the whole backup before touching the target.
   */
  readonly atomicRestore: boolean;
  readonly selections: readonly SelectionKind[];
  /**
   * Whether the target's objects are named `<database>.<name>` with the target's own database
   * (MongoDB restores a backup's namespaces into the target URL's database): a restored entry
   * then collides with a target object by the name after the database. @default false
   */
  readonly restoresIntoTargetDatabase?: boolean;
  /** The consistency a backup gives, in words (the manifest's `dump.consistency` says it per run). */
  readonly consistency: string;
}

/** What a connection secret (a URL or RDS-style JSON) needs for this engine. */
export interface SecretHandling {
  /**
   * `engine` values of an RDS-style JSON secret that name this engine (lower case; a trailing
   * `*` matches a prefix), each with the URL scheme such a secret becomes.
   */
  readonly rdsEngines: Readonly<Record<string, string>>;
}

export interface EngineDescriptor<Id extends string = string, Kind extends string = string> {
  /** Saved in manifests and catalogs: never rename. */
  readonly id: Id;
  /** For people: `PostgreSQL`, `MySQL/MariaDB`. */
  readonly label: string;
  /** URL schemes (lower case, without `:`) a source or restore target of this engine is written with. */
  readonly schemes: readonly string[];
  /** How sources are written, for help texts: `postgres://…/db`. */
  readonly urlForms: readonly string[];
  /** How a restore target is written, for help texts: `postgres://…/<db>`, `dir:<empty or absent path>`. */
  readonly targetForm: string;
  readonly tools: readonly EngineTool[];
  /** The content kinds a backup's contents list may hold. Saved in manifests: only add. */
  readonly contentKinds: readonly Kind[];
  readonly capabilities: EngineCapabilities;
  /** The data object's name part that says what it holds, e.g. `pgdump` → `data.pgdump.zst.age`. */
  readonly artifactName: string;
  /** Present when a connection secret may hold this engine's URL (file-based engines have none). */
  readonly secret?: SecretHandling;
  /**
   * Parses a source or restore target URL without connecting (pure: config validation calls it
   * too). Throws `ConfigError`, one line, never quoting a password. The engine's `parse`.
   */
  parse(url: string): DescribedConnection;
}

/**
 * `Connection` (database-engine.ts) as a descriptor can name it: engine ids derive from the
 * descriptors, so here the engine is any string (each descriptor's own literal in practice).
 */
export interface DescribedConnection {
  readonly engine: string;
  describe(): string;
  toString(): string;
}
