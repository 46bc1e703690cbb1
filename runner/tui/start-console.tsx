import { render, useApp } from 'ink';
import type { Clock } from '../../core/domain/clock.js';
import { ConsoleApp } from './app.js';
import type { ConsoleSources } from './console-data.js';
import { ConfigView } from './views/config-view.js';

/** Alternate screen on, and off again with the cursor shown: the shell's screen comes back as it was. */
const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l\x1b[?25h';

/** What the console opens on: the environment's jobs, or, when the config does not load, its problems. */
export type ConsoleStart = { readonly sources: ConsoleSources } | { readonly brokenConfig: string; readonly environment: string };

/**
 * Runs the console until the user quits. It draws on the terminal's alternate screen and gives
 * the main screen back on every way out (quit, an error, a signal), so the shell is left clean.
 */
export async function startConsole(start: ConsoleStart, now: Clock): Promise<void> {
  process.stdout.write(ENTER_ALTERNATE_SCREEN);
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    process.stdout.write(LEAVE_ALTERNATE_SCREEN);
  };
  process.once('exit', leave);
  try {
    const app = render(
      'sources' in start ? <ConsoleApp sources={start.sources} now={now} /> : <BrokenConfigConsole configPath={start.brokenConfig} environment={start.environment} now={now} />,
      { exitOnCtrlC: true },
    );
    await app.waitUntilExit();
  } finally {
    leave();
  }
}

/** A config that does not load has nothing to browse: the console is its problems and the form, and esc or q quits. */
function BrokenConfigConsole(props: { readonly configPath: string; readonly environment: string; readonly now: Clock }) {
  const { exit } = useApp();
  return <ConfigView configPath={props.configPath} environment={props.environment} now={props.now} onBack={exit} onQuit={exit} />;
}
