/**
 * Bounding an SDK call that takes no `AbortSignal` (Google's gRPC clients, Firestore) by one:
 * shared by the GCP adapters and the catalogs.
 */
/** Rejects with the abort reason when `signal` aborts first, and cancels the call if the SDK lets us. */
export function abortable<T>(call: Promise<T> & { cancel?: () => void }, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return call;
  if (signal.aborted) {
    call.cancel?.();
    call.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      call.cancel?.();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    call.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
