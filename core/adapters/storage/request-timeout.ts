/**
 * How long one storage request (a part, a block, a chunk, a range, a listing page, a delete) may
 * take before it is abandoned and retried: a floor, plus its bytes at a minimum throughput.
 *
 * Without one, a store that accepts connections and never answers holds a backup for as long as
 * the operating system keeps the socket (GCS's 120 s × 6 tries was over 200 s of silence). The
 * floor (10 s) is the time to first answer a healthy store always meets; the throughput
 * (512 KiB/s per request, with 4 requests in flight ~16 Mbit/s) keeps a slow but moving link
 * from timing out an 8 MiB part (26 s) or a 16 MiB chunk (42 s). With 6 tries and backoff, a
 * dead endpoint fails a small request in about a minute (6 × 10 s + waits).
 */
export interface RequestTimeoutPolicy {
  /** @default 10_000 */
  readonly floorMs: number;
  /** @default 512 KiB/s */
  readonly minBytesPerSecond: number;
}

export const DEFAULT_REQUEST_TIMEOUT: RequestTimeoutPolicy = { floorMs: 10_000, minBytesPerSecond: 512 * 1024 };

/** The time limit of one request that sends or receives `bytes` (0 for a metadata call). */
export function requestTimeoutMs(bytes: number, policy: RequestTimeoutPolicy = DEFAULT_REQUEST_TIMEOUT): number {
  return policy.floorMs + Math.ceil((Math.max(0, bytes) * 1000) / policy.minBytesPerSecond);
}

/** The error a request gets when its time limit ran out: retryable (the answer was lost), and named so every adapter's translation sees a timeout. */
export function requestTimeoutError(ms: number, cause?: unknown): Error {
  return Object.assign(new Error(`no answer within ${Number((ms / 1000).toFixed(1))} s`, cause === undefined ? {} : { cause }), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}
