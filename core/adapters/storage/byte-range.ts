/**
 * What every store's `readRange` (`ObjectReader`, storage-backend.ts) shares: argument checks, the
 * error for an object shorter than the range, and reading an HTTP `Content-Range` answer.
 */
import { StorageError } from '../../errors.js';

/** A range of whole, non-negative offsets with `start <= end`. A bad range is a caller's bug, never the store's: `RangeError`. */
export function checkByteRange(key: string, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end} of ${key}: start and end must be whole numbers with 0 <= start <= end`);
  }
}

/** The object ends before `end`: it is not the object the caller expected (truncated, or replaced). Not retryable. */
export function objectTooShortError(where: string, start: number, end: number, sizeBytes?: number): StorageError {
  const size = sizeBytes === undefined ? '' : ` (it has ${sizeBytes} bytes)`;
  return new StorageError(`reading bytes ${start}-${end - 1} of ${where} failed: the object ends before byte ${end}${size}; it was truncated or replaced`, false);
}

/** `bytes 10-19/100` → first byte 10, end 20 (exclusive), total 100 (`undefined` for `*`); `undefined` when the header is not one. */
export function parseContentRange(header: string | undefined): { readonly start: number; readonly end: number; readonly total: number | undefined } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]) + 1, total: match[3] === '*' ? undefined : Number(match[3]) };
}
