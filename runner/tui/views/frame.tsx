import type { ReactNode } from 'react';
import { Box, Text } from 'ink';
import { footerText, type KeymapName } from '../keymap.js';
import { clip, wrapWords } from '../cells.js';
import { useTerminalSize } from './terminal-size.js';

/** Lines the frame takes besides the CLI equivalent: title, a blank line, keys. */
const FRAME_LINES = 3;

/** The CLI equivalent as the frame shows it: whole, over as many lines as it needs (at most 4). */
function cliLines(cli: string | undefined, columns: number): string[] {
  if (!cli) return [];
  const lines = wrapWords(`cli: ${cli}`, columns);
  return lines.length <= 4 ? lines : [...lines.slice(0, 3), clip(lines.slice(3).join(' '), columns)];
}

/**
 * Every screen's frame: what it is (environment, title), the body, the CLI command that does
 * the same (never cut: its last flag may be the one that matters, like --force), and the keys.
 */
export function Frame(props: { readonly title: string; readonly environment: string; readonly cli?: string; readonly keys: KeymapName; readonly children: ReactNode }) {
  const { columns, rows } = useTerminalSize();
  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Text bold wrap="truncate-end">
        {clip(`vaultra · ${props.environment} · ${props.title}`, columns)}
      </Text>
      <Box flexDirection="column" flexGrow={1} marginTop={1} overflow="hidden">
        {props.children}
      </Box>
      {cliLines(props.cli, columns).map((line, i) => (
        <Text key={i} dimColor>
          {line}
        </Text>
      ))}
      <Text inverse wrap="truncate-end">
        {clip(footerText(props.keys), columns).padEnd(columns)}
      </Text>
    </Box>
  );
}

/** The body's height on this terminal, under a frame showing `cli`. */
export function useBodyRows(cli?: string): number {
  const { columns, rows } = useTerminalSize();
  return Math.max(3, rows - FRAME_LINES - cliLines(cli, columns).length);
}
