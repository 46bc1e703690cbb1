import { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { Clock } from '../../../core/domain/clock.js';
import { oneLine } from '../../../core/errors.js';
import type { ConfigReport } from '../../../core/config/validate-config.js';
import { cliFor } from '../cli-equivalent.js';
import { addJobToFile, checkConfigFile } from '../config-check.js';
import { clip } from '../cells.js';
import type { NewJob } from '../add-job.js';
import { Frame, useBodyRows } from './frame.js';
import { TextInput } from './text-input.js';
import { useTerminalSize } from './terminal-size.js';
import { useLoad } from './use-load.js';

/** Problems as the CLI prints them: `✗ path: message (found: value)`, warnings after errors. */
function reportLines(report: ConfigReport): string[] {
  if (report.errors.length === 0 && report.warnings.length === 0) return ['✓ no problems found'];
  return [
    ...report.errors.map((problem) => `✗ ${problem.path || '(file)'}: ${problem.message}${problem.value === undefined ? '' : ` (found: ${problem.value})`}`),
    ...report.warnings.map((warning) => `! ${warning.path}: ${warning.message}`),
  ];
}

/** The questions of the "add a job" form, in order. */
const QUESTIONS: readonly { readonly field: keyof Omit<NewJob, 'environment'>; readonly label: string; readonly hint: string }[] = [
  { field: 'name', label: 'job name:', hint: 'lower-case letters, digits and -, e.g. shop' },
  { field: 'source', label: 'source:', hint: 'a database URL without password (sqlite:/srv/app.db, postgres://app@db/shop) or a secret reference (env://VAR)' },
  { field: 'cron', label: 'schedule (cron):', hint: 'five fields, UTC unless the file says otherwise, e.g. 0 3 * * *' },
  { field: 'rpo', label: 'rpo (optional):', hint: 'how old the last good backup may get before the job is late, e.g. 26h; empty: the default' },
];

/**
 * The config file checked as `vaultra config validate` checks it, errors shown where they are;
 * and a guided form that adds a job — written only if the file still validates with it, with
 * the file's comments kept.
 */
export function ConfigView(props: { readonly configPath: string; readonly environment: string; readonly now: Clock; readonly onBack: () => void; readonly onQuit: () => void }) {
  const { loaded, reload } = useLoad(() => checkConfigFile(props.configPath, props.now), []);
  const [form, setForm] = useState<{ readonly answers: Partial<NewJob>; readonly step: number; readonly problems?: readonly string[] } | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
  const { columns } = useTerminalSize();
  const cli = cliFor.validate(props.configPath);
  const bodyRows = useBodyRows(cli);
  useInput(
    (input, key) => {
      if (key.escape) props.onBack();
      if (input === 'a') setForm({ answers: {}, step: 0 });
      if (input === 'r') reload();
      if (input === 'q') props.onQuit();
    },
    { isActive: form === undefined },
  );

  const answer = async (value: string) => {
    if (!form) return;
    const question = QUESTIONS[form.step]!;
    const answers = { ...form.answers, ...(value ? { [question.field]: value } : {}) };
    if (form.step + 1 < QUESTIONS.length) return setForm({ answers, step: form.step + 1 });
    const job = { environment: props.environment, ...answers } as NewJob;
    try {
      const report = await addJobToFile(props.configPath, job, props.now);
      if (report.errors.length > 0) return setForm({ answers: {}, step: 0, problems: ['not written: the file would not validate with this job', ...reportLines(report)] });
      setForm(undefined);
      setSaved(`added job ${job.name} to ${props.configPath} (restart the console to see it in the overview)`);
      reload();
    } catch (error) {
      setForm({ answers: {}, step: 0, problems: [oneLine(error)] });
    }
  };

  const lines = loaded.state === 'ready' ? reportLines(loaded.value.report) : loaded.state === 'failed' ? [loaded.error] : ['checking…'];
  return (
    <Frame title={form ? 'add a job' : `config ${props.configPath}`} environment={props.environment} cli={cli} keys={form ? 'form' : 'config'}>
      {saved && !form && <Text color="green">{clip(saved, columns)}</Text>}
      {!form &&
        lines.slice(0, bodyRows - 1).map((line, i) => (
          <Text key={i} color={line.startsWith('✗') ? 'red' : line.startsWith('!') ? 'yellow' : 'green'} wrap="truncate-end">
            {clip(line, columns)}
          </Text>
        ))}
      {form && (
        <Box flexDirection="column">
          {(form.problems ?? []).map((line, i) => (
            <Text key={i} color="red" wrap="truncate-end">
              {clip(line, columns)}
            </Text>
          ))}
          <Text dimColor wrap="wrap">
            {QUESTIONS[form.step]!.hint}
          </Text>
          <TextInput key={form.step} label={QUESTIONS[form.step]!.label} onCancel={() => setForm(undefined)} onSubmit={(value) => void answer(value)} />
        </Box>
      )}
    </Frame>
  );
}
