/**
 * Caches what a function builds from its settings (clients, the validated config) across warm
 * invocations of one instance; a failed build is not cached, so the next invocation tries again.
 */
export function cached<T>(build: () => Promise<T> | T): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= Promise.resolve()
      .then(build)
      .catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
    return pending;
  };
}
