/**
 * The console's keys, one table per screen: what the footer lists and what the screens act on.
 * Keyboard only, and only keys every terminal sends the same over SSH (no mouse, no F-keys).
 */
export interface KeyHint {
  readonly keys: string;
  readonly does: string;
}

const MOVE: KeyHint = { keys: '↑↓', does: 'move' };
const BACK: KeyHint = { keys: 'esc', does: 'back' };
const QUIT: KeyHint = { keys: 'q', does: 'quit' };

export const KEYMAP = {
  overview: [MOVE, { keys: 'enter', does: 'history' }, { keys: 'b', does: 'backup now' }, { keys: 'c', does: 'config' }, { keys: 'r', does: 'refresh' }, QUIT],
  history: [MOVE, { keys: 'enter', does: 'open run' }, { keys: 's', does: 'status' }, { keys: 'k', does: 'kind' }, { keys: 't', does: 'time' }, BACK, QUIT],
  run: [{ keys: '↑↓', does: 'scroll' }, { keys: 'v', does: 'verify' }, { keys: 'r', does: 'restore' }, BACK, QUIT],
  /** A run that stored no backup (failed, a restore, a verify): nothing to act on. */
  record: [{ keys: '↑↓', does: 'scroll' }, BACK, QUIT],
  working: [{ keys: 'esc', does: 'cancel' }],
  /** A cloud run followed in the catalog: leaving stops the following, not the run. */
  following: [{ keys: 'esc', does: 'stop following (the run goes on)' }],
  finished: [{ keys: 'enter/esc', does: 'back' }],
  form: [{ keys: 'enter', does: 'next' }, { keys: 'esc', does: 'cancel' }],
  config: [{ keys: 'a', does: 'add a job' }, { keys: 'r', does: 'revalidate' }, BACK, QUIT],
} as const satisfies Record<string, readonly KeyHint[]>;

export type KeymapName = keyof typeof KEYMAP;

/** The footer line: `↑↓ move · enter history · q quit`. */
export function footerText(name: KeymapName): string {
  return KEYMAP[name].map((hint) => `${hint.keys} ${hint.does}`).join(' · ');
}
