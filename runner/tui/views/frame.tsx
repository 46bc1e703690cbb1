import type { ReactNode } from 'react';
import { Box, Text } from 'ink';
import { footerText, type KeymapName } from '../keymap.js';
import { clip } from '../cells.js';
import { useTerminalSize } from './terminal-size.js';

/** Lines the frame itself takes: title, blank, the CLI equivalent (two: it is often long), keys. */
export const FRAME_LINES = 5;

/**
 * Every screen's frame: what it is (environment, title), the body, the CLI command that does
 * the same, and the keys. The body gets the terminal's height less the frame's lines.
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
      <Box height={2}>
        <Text dimColor wrap="wrap">
          {props.cli ? clip(`cli: ${props.cli}`, 2 * columns) : ' '}
        </Text>
      </Box>
      <Text inverse wrap="truncate-end">
        {clip(footerText(props.keys), columns).padEnd(columns)}
      </Text>
    </Box>
  );
}

/** The body's height on this terminal. */
export function useBodyRows(): number {
  return Math.max(3, useTerminalSize().rows - FRAME_LINES);
}
