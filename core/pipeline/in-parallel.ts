/**
 * Runs `work` for each item, starting them in order, at most `limit` at once (at least one).
 * Rejects at the first failure, at once: the caller stops the work still running (it owns the
 * processes and streams); nothing new starts after a failure, or once `signal` aborts.
 */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && !signal?.aborted && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  signal?.throwIfAborted();
}
