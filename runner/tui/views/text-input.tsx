import { useRef, useState } from 'react';
import { Text, useInput } from 'ink';

/** What a key press (or a paste, or fast typing that arrives in one read) does to the field. */
export function typed(value: string, input: string): { readonly value: string; readonly submitted: boolean } {
  const end = input.search(/[\r\n]/);
  const text = end === -1 ? input : input.slice(0, end);
  const printable = [...text].filter((character) => character >= ' ' && character !== '\x7f').join('');
  return { value: value + printable, submitted: end !== -1 };
}

/**
 * One line of typed text: printable characters, backspace, enter to submit, esc to cancel.
 * Small on purpose: the console's forms need nothing more (no history, no completion).
 */
export function TextInput(props: { readonly label: string; readonly initial?: string; readonly onSubmit: (value: string) => void; readonly onCancel: () => void }) {
  // The ref is the truth between two reads of one render: keys can arrive faster than React draws.
  const current = useRef(props.initial ?? '');
  const [value, setValue] = useState(current.current);
  const set = (next: string) => {
    current.current = next;
    setValue(next);
  };
  useInput((input, key) => {
    if (key.escape) return props.onCancel();
    if (key.return) return props.onSubmit(current.current.trim());
    if (key.backspace || key.delete) return set(current.current.slice(0, -1));
    if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
    const next = typed(current.current, input);
    set(next.value);
    if (next.submitted) props.onSubmit(next.value.trim());
  });
  return (
    <Text wrap="truncate-start">
      {props.label} <Text inverse>{value}</Text>
      <Text inverse> </Text>
    </Text>
  );
}
