import { useCallback, useEffect, useState } from 'react';
import { oneLine } from '../../../core/errors.js';
import { redact } from '../../../core/domain/redact.js';

export type Loaded<T> = { readonly state: 'loading' } | { readonly state: 'ready'; readonly value: T } | { readonly state: 'failed'; readonly error: string };

/**
 * Loads what a screen shows when it opens (and again on `reload`); a screen left before its load
 * ends aborts it. A failure becomes the error line the CLI would print, redacted.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, keys: readonly unknown[]): { readonly loaded: Loaded<T>; readonly reload: () => void } {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoaded({ state: 'loading' });
    load(controller.signal).then(
      (value) => !controller.signal.aborted && setLoaded({ state: 'ready', value }),
      (error: unknown) => !controller.signal.aborted && setLoaded({ state: 'failed', error: redact(oneLine(error)) }),
    );
    return () => controller.abort();
    // `load` is a new closure on every render: `keys` say when what it loads changes.
  }, [...keys, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { loaded, reload };
}
