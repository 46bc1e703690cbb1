/**
 * Every error Vaultra raises on purpose is a {@link VaultraError}. Entry points map them to an
 * outcome in exactly one place (the CLI: exit code + one line), and retry logic reads their
 * properties, never their message text.
 *
 * Messages are written for the person at the terminal: one line, what went wrong, and when
 * there is one, what to do next. They never contain a secret: anything that came from a tool's
 * stderr passes through `redact()` first.
 */
export type ErrorKind =
  | 'config'
  | 'usage'
  | 'dump'
  | 'restore'
  | 'storage'
  | 'pipeline'
  | 'integrity'
  | 'untrusted'
  | 'key'
  | 'not-found'
  | 'conflict'
  | 'tool-missing'
  | 'launch'
  | 'notify'
  | 'aborted';

/** What every Vaultra error may be built with: the error it wraps, and whether it is transient. */
export interface VaultraErrorOptions {
  readonly cause?: unknown;
  /** The same request may succeed if tried again (throttling, a lost answer, a 5xx). @default false */
  readonly retryable?: boolean;
}

export abstract class VaultraError extends Error {
  abstract readonly kind: ErrorKind;
  /**
   * Whether the failed request is worth another attempt: the one property retry logic
   * (`core/adapters/retry.ts`) reads. Any kind that can be transient (storage, catalog,
   * launch, notify, key and secret services) may set it; the others leave it false.
   */
  readonly retryable: boolean;
  constructor(message: string, options?: VaultraErrorOptions) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.retryable = options?.retryable ?? false;
  }
}

/** Invalid configuration, flags or URLs. Never retryable: the input must change. */
export class ConfigError extends VaultraError {
  readonly kind = 'config';
}

/** The dump tool failed or produced an incomplete stream. `stderrTail` is already redacted. */
export class DumpFailedError extends VaultraError {
  readonly kind = 'dump';
  constructor(
    message: string,
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The restore tool failed; the target was rolled back or left untouched. */
export class RestoreFailedError extends VaultraError {
  readonly kind = 'restore';
  constructor(
    message: string,
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Reading or writing an object failed. `retryable` is true for transient faults. */
export class StorageError extends VaultraError {
  readonly kind = 'storage';
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, { ...options, retryable });
  }
}

/** A transforming stage of the byte pipeline (a compressor process) failed. */
export class PipelineStageError extends VaultraError {
  readonly kind = 'pipeline';
}

/** Stored bytes are not what was written: checksum mismatch, failed age authentication, truncation. */
export class IntegrityError extends VaultraError {
  readonly kind = 'integrity';
}

/**
 * A backup's authenticity is not proven: its manifest has no signature, or one that does not
 * verify, or one from a key the user does not trust. Distinct from `IntegrityError` (the bytes
 * match what the manifest says) because the answer is different: trust the signer, or suspect
 * whoever could write to the storage.
 */
export class UntrustedBackupError extends VaultraError {
  readonly kind = 'untrusted';
}

/** No identity or passphrase given can open the backup, or a key is malformed. */
export class KeyError extends VaultraError {
  readonly kind = 'key';
}

/** A run, backup, object or job that was asked for does not exist. */
export class NotFoundError extends VaultraError {
  readonly kind = 'not-found';
}

/** The operation would clobber something (a non-empty restore target, a run id that exists). */
export class RunConflictError extends VaultraError {
  readonly kind = 'conflict';
}

/** A native tool the operation needs is not installed. */
export class ToolMissingError extends VaultraError {
  readonly kind = 'tool-missing';
  constructor(
    readonly tool: string,
    readonly hint: string,
  ) {
    super(`${tool} not found on PATH: ${hint}`);
  }
}

/** The operation was cancelled (signal, timeout). */
export class AbortedError extends VaultraError {
  readonly kind = 'aborted';
}

/** Something a failed operation left in storage and could not remove (see `LeftBehindError`). */
export interface LeftBehindItem {
  /** `multipart-upload`, `resumable-session`, `uncommitted-blocks`… */
  readonly kind: string;
  /** Printable URL of the object it belongs to. */
  readonly location: string;
  /** The store's id for it (an S3 upload id). */
  readonly id?: string;
  /** Why it could not be removed now, one line. */
  readonly reason?: string;
  /** Who removes it later: the next backup of the job, `vaultra catalog repair`, the service's expiry. */
  readonly cleanup: string;
}

/**
 * A failure that also left something in storage that could not be removed at once (a multipart
 * upload whose abort failed too, an upload session the service keeps): the message says what,
 * where and who removes it, so nobody has to find out from the bill. Keeps the kind, and so
 * the exit code, of the failure it wraps.
 */
export class LeftBehindError extends VaultraError {
  readonly kind: ErrorKind;
  constructor(
    readonly failure: unknown,
    readonly leftBehind: readonly LeftBehindItem[],
  ) {
    super(`${oneLine(failure)}; left behind: ${leftBehind.map(describeLeftBehind).join('; ')}`, { cause: failure });
    this.kind = failure instanceof VaultraError ? failure.kind : 'storage';
  }
}

function describeLeftBehind(item: LeftBehindItem): string {
  const what = `${item.kind.replace(/-/g, ' ')}${item.id ? ` ${item.id}` : ''} of ${item.location}`;
  return `${what}${item.reason ? ` (${item.reason})` : ''}: ${item.cleanup}`;
}

/**
 * The catalog could not record a run. The message names the run, the catalog and what the
 * storage holds, and says how to bring the catalog back in line (`vaultra catalog repair`).
 */
export class CatalogWriteError extends VaultraError {
  readonly kind = 'storage';
}

/**
 * Error message of anything thrown, on one line. Messages quote what backups and tools say
 * (a collection name, a file name, a stanza type), so other control characters are shown as
 * `\xNN`: they must not reach a terminal or a log line as such (an escape sequence in a
 * forged archive's collection name would otherwise be played by the operator's terminal).
 */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .replace(/\s*\n\s*/g, ' | ')
    .trim()
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
    .replace(/[\x00-\x1f\x7f-\x9f]/g, (char) => (char === '\t' ? ' ' : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** A container job could not be started (after retries): nothing ran. `retryable` for throttling and capacity. */
export class LaunchFailedError extends VaultraError {
  readonly kind = 'launch';
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, { ...options, retryable });
  }
}

/** An alert could not be delivered to one target. `retryable` for a refusal that may pass on the next attempt (429, 5xx, a lost answer). */
export class NotifyFailedError extends VaultraError {
  readonly kind = 'notify';
}

/** The Docker engine refused or failed a request (a volume's helper container, a container stop or start): the run failed. */
export class DockerEngineError extends VaultraError {
  readonly kind = 'launch';
}
