import type { ReactNode } from 'react';
import { render, useApp, useInput } from 'ink';
import type { Clock } from '../../core/domain/clock.js';
import { ConsoleApp } from './app.js';
import type { ConsoleSources } from './console-data.js';
import { ConfigView } from './views/config-view.js';

/** Alternate screen on, and off again with the cursor shown: the shell's screen comes back as it was. */
const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l\x1b[?25h';

/** What the console opens on: the environment's jobs, or, when the config does not load, its problems. */
export type ConsoleStart = { readonly sources: ConsoleSources } | { readonly brokenConfig: string; readonly environment: string };

/** How the console ended: `q` (exit 0), or Ctrl-C (exit 130, as for any interrupted command). */
export type ConsoleEnd = 'quit' | 'interrupted';

/**
 * Runs the console until the user quits. It draws on the terminal's alternate screen and gives
 * the main screen back on every way out (quit, an error, a signal), so the shell is left clean.
 * A task still running when it ends is aborted as its screen goes, and tears down before the
 * process exits (the CLI waits for its event loop).
 */
export async function startConsole(start: ConsoleStart, now: Clock): Promise<ConsoleEnd> {
  process.stdout.write(ENTER_ALTERNATE_SCREEN);
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    process.stdout.write(LEAVE_ALTERNATE_SCREEN);
  };
  process.once('exit', leave);
  let end: ConsoleEnd = 'quit';
  try {
    const screens = 'sources' in start ? <ConsoleApp sources={start.sources} now={now} /> : <BrokenConfigConsole configPath={start.brokenConfig} environment={start.environment} now={now} />;
    // Raw mode turns Ctrl-C into a key: ink's own handling would end the console as a quit.
    const app = render(<CtrlCEnds onInterrupt={() => (end = 'interrupted')}>{screens}</CtrlCEnds>, { exitOnCtrlC: false });
    await app.waitUntilExit();
    return end;
  } finally {
    leave();
  }
}

/** A config that does not load has nothing to browse: the console is its problems and the form, and esc or q quits. */
function BrokenConfigConsole(props: { readonly configPath: string; readonly environment: string; readonly now: Clock }) {
  const { exit } = useApp();
  return <ConfigView configPath={props.configPath} environment={props.environment} now={props.now} onBack={exit} onQuit={exit} />;
}

/** Ctrl-C on any screen, a text field's included, ends the console as interrupted. */
function CtrlCEnds(props: { readonly onInterrupt: () => void; readonly children: ReactNode }) {
  const { exit } = useApp();
  useInput((input, key) => {
    if (key.ctrl && input === 'c') {
      props.onInterrupt();
      exit();
    }
  });
  return <>{props.children}</>;
}
