import { useRef, useState } from 'react';

/**
 * A value as of the latest render, for key handlers. Ink subscribes a screen's key handler in
 * an effect, which runs after the frame is drawn: keys that arrive in between (fast typing, keys
 * batched over SSH) reach the handler of the previous render, so a handler must not read data
 * from its closure — it reads it here.
 */
export function useLatest<T>(value: T): { readonly current: T } {
  const latest = useRef(value);
  latest.current = value;
  return latest;
}

/**
 * The selected row of a list of `length` rows, kept within the list as it loads or is filtered;
 * `initial` is where it starts once the list has rows (the row a screen came back to).
 */
export function useSelection(length: number, initial = 0): { readonly index: number; readonly current: () => number; readonly move: (by: number) => void; readonly reset: () => void } {
  const state = useRef({ index: 0, length, placed: false });
  state.current.length = length;
  if (!state.current.placed && length > 0) {
    state.current.index = initial;
    state.current.placed = true;
  }
  state.current.index = Math.max(0, Math.min(state.current.index, length - 1));
  const [, redraw] = useState(0);
  const set = (index: number) => {
    state.current.index = Math.max(0, Math.min(index, state.current.length - 1));
    redraw((n) => n + 1);
  };
  return { index: state.current.index, current: () => state.current.index, move: (by) => set(state.current.index + by), reset: () => set(0) };
}
