/**
 * Checks the arguments of `ObjectReader.readRange`: a range of whole, non-negative offsets with
 * `start <= end`. A bad range is a caller's bug, never the store's, so it is a `RangeError`.
 */
export function checkByteRange(key: string, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end} of ${key}: start and end must be whole numbers with 0 <= start <= end`);
  }
}
