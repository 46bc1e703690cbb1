/**
 * A real terminal for tests of `vaultra tui`: a tmux server of the test's own (its own socket,
 * so nothing is shared with another test or a user's tmux), one session running a command,
 * keys sent with `send-keys` and the screen read with `capture-pane` — what a user sees, as text.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** 20 keys a second. */
const KEY_INTERVAL_MS = 50;

export class TmuxTerminal {
  private constructor(
    private readonly socket: string,
    private readonly session: string,
  ) {}

  /** Starts `command` (run by `sh -c`) in a detached `columns`×`rows` terminal with `env` set. */
  static start(options: { socket: string; command: string; env: Record<string, string>; columns: number; rows: number; cwd: string }): TmuxTerminal {
    const terminal = new TmuxTerminal(options.socket, 'vaultra-tui');
    const env = Object.entries(options.env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    terminal.tmux('new-session', '-d', '-s', terminal.session, '-x', String(options.columns), '-y', String(options.rows), '-c', options.cwd, ...env, options.command);
    return terminal;
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /**
   * Named keys (`Enter`, `Escape`, `Down`) or single characters, one after another at a fast
   * typist's pace: keys sent at once reach the program in one read, which no keyboard does.
   */
  async keys(...keys: string[]): Promise<void> {
    for (const [index, key] of keys.entries()) {
      if (index > 0) await sleep(KEY_INTERVAL_MS);
      this.tmux('send-keys', '-t', this.session, key);
    }
  }

  /** Text typed as it is (no key names), then nothing else. */
  type(text: string): void {
    this.tmux('send-keys', '-t', this.session, '-l', text);
  }

  /** The screen as text, one string per row, trailing spaces trimmed. */
  screen(): string[] {
    return this.tmux('capture-pane', '-p', '-t', this.session).replace(/\n$/, '').split('\n').map((line) => line.trimEnd());
  }

  resize(columns: number, rows: number): void {
    this.tmux('resize-window', '-t', this.session, '-x', String(columns), '-y', String(rows));
  }

  /** A pane flag: `alternate_on` (the program's own screen is up), `cursor_flag` (the cursor is shown). */
  flag(name: 'alternate_on' | 'cursor_flag'): string {
    return this.tmux('display-message', '-p', '-t', this.session, `#{${name}}`).trim();
  }

  /** Waits until the screen matches `pattern`; fails with the screen as it last was. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string[]> {
    const deadline = performance.now() + timeoutMs;
    let screen = this.screen();
    while (!pattern.test(screen.join('\n'))) {
      if (performance.now() > deadline) throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen.join('\n')}`);
      await sleep(100);
      screen = this.screen();
    }
    return screen;
  }

  /**
   * Presses `key` and waits until the screen matches `pattern`. A screen that has not changed at
   * all 3 s after the press gets the key again: ink attaches a view's input handler just after
   * drawing it, so on a loaded machine a key sent as soon as the view shows can arrive before
   * anyone listens, and is dropped. A key that changed anything is never sent twice.
   */
  async pressUntil(key: string, pattern: RegExp, timeoutMs = 20_000): Promise<string[]> {
    const deadline = performance.now() + timeoutMs;
    const before = this.screen().join('\n');
    await this.keys(key);
    for (;;) {
      try {
        return await this.waitFor(pattern, Math.min(3_000, Math.max(0, deadline - performance.now())));
      } catch {
        if (performance.now() > deadline || this.screen().join('\n') !== before) return this.waitFor(pattern, Math.max(0, deadline - performance.now()));
        await this.keys(key); // unchanged: the key was dropped
      }
    }
  }

  /** Ends the tmux server and everything running in it. */
  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // Already gone: the session's command ended and the server with it.
    }
  }
}
