import { readFile, rename, writeFile } from 'node:fs/promises';
import { validateConfigText, type ConfigReport } from '../../core/config/validate-config.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';
import type { Clock } from '../../core/domain/clock.js';
import { withNewJob, type NewJob } from './add-job.js';

/** The config file and every problem `vaultra config validate` finds in it. */
export interface CheckedConfig {
  readonly text: string;
  readonly report: ConfigReport;
}

export async function checkConfigFile(path: string, now: Clock): Promise<CheckedConfig> {
  const text = await readFile(path, 'utf8');
  return { text, report: validateText(text, path, now) };
}

function validateText(text: string, path: string, now: Clock): ConfigReport {
  return validateConfigText(text, path, { now: now(), checkSource: checkDatabaseUrl, engineOf: engineIdForUrl });
}

/**
 * Adds a job to the config file, only if the file with it validates: otherwise the file is left
 * as it was and the problems the job would bring are returned, to be shown in the form. The new
 * text replaces the file by rename, so a crash never leaves half a config.
 */
export async function addJobToFile(path: string, job: NewJob, now: Clock): Promise<ConfigReport> {
  const text = withNewJob(await readFile(path, 'utf8'), job);
  const report = validateText(text, path, now);
  if (report.errors.length > 0) return report;
  const temp = `${path}.vaultra-tui-${process.pid}`;
  await writeFile(temp, text, { mode: 0o600 });
  await rename(temp, path);
  return report;
}
