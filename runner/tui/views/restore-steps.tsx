import { useState } from 'react';
import { Box, Text } from 'ink';
import type { LocatedBackup } from '../../../core/usecases/locate-backup.js';
import { commaList } from '../../commands/shared.js';
import { redactTarget } from '../../commands/restore-command.js';
import { clip } from '../cells.js';
import { confirms, targetName } from '../restore-confirmation.js';
import { TextInput } from './text-input.js';
import { useTerminalSize } from './terminal-size.js';

/** The steps a restore form asks the same way locally and in the cloud: which tables, and the final confirmation. */

/**
 * Which parts of the backup to restore, shown with the target and what the backup holds: a
 * comma-separated list, empty for everything. `noun` is what they are: `tables`, or `paths` of a
 * folder or volume backup.
 */
export function ChooseTables(props: { readonly backup: LocatedBackup; readonly target: string; readonly noun: 'tables' | 'paths'; readonly onChoose: (names: string[]) => void; readonly onCancel: () => void }) {
  const { columns } = useTerminalSize();
  const contents = props.backup.manifest.contents.map((entry) => (entry.schema ? `${entry.schema}.${entry.name}` : entry.name));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">{clip(`target: ${redactTarget(props.target)}`, columns)}</Text>
      <Text wrap="truncate-end">{clip(`the backup holds: ${contents.join(', ')}`, columns)}</Text>
      <Text>Which {props.noun}? Comma-separated; empty restores everything.</Text>
      <TextInput label={`${props.noun}:`} onCancel={props.onCancel} onSubmit={(value) => props.onChoose(commaList(value))} />
    </Box>
  );
}

/**
 * The last question before a restore, local or in the cloud: one that replaces data needs the
 * target's name typed (a wrong name is refused and asked again, nothing changed), anything else a
 * plain enter. `warning` says why the name is asked for; by default, that the restore replaces data.
 */
export function ConfirmRestore(props: { readonly target: string; readonly destructive: boolean; readonly warning?: string; readonly onConfirm: () => void; readonly onCancel: () => void }) {
  const [refused, setRefused] = useState<string | undefined>();
  const name = targetName(props.target);
  if (!props.destructive) {
    return (
      <>
        <Text>The target holds nothing the restore replaces. Enter restores; esc cancels.</Text>
        <TextInput label="" onCancel={props.onCancel} onSubmit={props.onConfirm} />
      </>
    );
  }
  return (
    <>
      {refused && <Text color="red">{refused}</Text>}
      <Text color="yellow" wrap="wrap">
        {props.warning ?? 'This replaces data in the target.'} Type its name ({name}) to restore; esc cancels.
      </Text>
      <TextInput
        // A new key empties the field after a refusal.
        key={refused ?? 'first'}
        label="name:"
        onCancel={props.onCancel}
        onSubmit={(typed) => (confirms(typed, props.target) ? props.onConfirm() : setRefused(`refused: "${typed}" is not ${name}; nothing was changed`))}
      />
    </>
  );
}
