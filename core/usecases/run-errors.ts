import { AbortedError, IntegrityError, oneLine, VaultraError } from '../errors.js';
import { redact } from '../domain/redact.js';
import type { RunRecord } from '../domain/run.js';

/**
 * When a pipeline fails, every stage reports something: the stage that broke gives the cause,
 * the others "premature close" or an abort. Pick the cause: the first Vaultra error, else the
 * first error that is not a side effect of tearing the pipeline down.
 */
export function rootCause(results: readonly PromiseSettledResult<unknown>[]): unknown {
  const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  const ours = errors.find((e) => e instanceof VaultraError && !(e instanceof AbortedError));
  if (ours) return ours;
  const aborted = errors.find((e) => (e as { name?: string })?.name === 'AbortError');
  if (aborted) return new AbortedError('interrupted: the run was cancelled', { cause: aborted });
  // zlib's own errors ("incorrect header check") mean the bytes are not what was compressed.
  const zlib = errors.find((e) => /^Z_/.test(String((e as NodeJS.ErrnoException)?.code)));
  if (zlib) return new IntegrityError(`gzip could not decompress the backup: ${(zlib as Error).message}`, { cause: zlib });
  return errors.find((e) => (e as NodeJS.ErrnoException)?.code !== 'ERR_STREAM_PREMATURE_CLOSE') ?? errors[0];
}

/** What a run record keeps of an error: its kind and one redacted line. */
export function toRunError(error: unknown): NonNullable<RunRecord['error']> {
  const kind = error instanceof VaultraError ? error.kind : 'internal';
  return { kind, message: redact(oneLine(error)) };
}
