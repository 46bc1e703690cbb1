import type { RunRecord } from '../../core/domain/run.js';
import type { RunLogLine } from '../../core/ports/run-log.js';
import { authenticateBackup, type Authenticity } from '../../core/usecases/authenticate-backup.js';
import type { LocatedBackup } from '../../core/usecases/locate-backup.js';
import { oneLine } from '../../core/errors.js';
import { redact } from '../../core/domain/redact.js';
import { trustPolicyFor } from '../signing-keys.js';
import { loadBackup, type ConsoleSources } from './console-data.js';

/** How many of a run's last log lines the run screen shows. */
export const RUN_SCREEN_LOG_LINES = 50;

/** What the run screen shows beyond the run's record: the backup's manifest and signer, and the run's log. */
export interface RunDetails {
  readonly backup?: LocatedBackup;
  /** The manifest's signature checked against the trust `vaultra verify` uses, or why it could not be checked. */
  readonly signature?: Authenticity | { readonly unchecked: string };
  /** The run's last log lines; `undefined` when no log is kept for it where the console reads. */
  readonly log?: readonly RunLogLine[];
  /** Why the log could not be read (one redacted line): the rest of the screen still shows. */
  readonly logError?: string;
}

/** Loads a run's details: manifest (`vaultra show`), its signature as a verify checks it, and its log (`vaultra show --log`). */
export async function loadRunDetails(sources: ConsoleSources, run: RunRecord, signal: AbortSignal): Promise<RunDetails> {
  const [backup, log] = await Promise.all([loadBackup(sources, run, signal), readLog(sources, run, signal)]);
  if (!backup) return log;
  return { backup, signature: await checkSignature(sources, backup, signal), ...log };
}

async function readLog(sources: ConsoleSources, run: RunRecord, signal: AbortSignal): Promise<Pick<RunDetails, 'log' | 'logError'>> {
  // A cloud environment whose log service cannot be read from here says why (an Azure workspace not named).
  const cloudLog = sources.cloud?.runLog;
  if (!sources.runLog && cloudLog && 'unavailable' in cloudLog) return { logError: cloudLog.unavailable };
  try {
    const log = await sources.runLog?.read(run, { limit: RUN_SCREEN_LOG_LINES, signal });
    return log ? { log } : {};
  } catch (error) {
    return { logError: redact(oneLine(error)) };
  }
}

/**
 * The signer as `vaultra verify` would judge it, without refusing: an untrusted or missing
 * signature is shown with its reason (the verify and restore actions still refuse it).
 */
async function checkSignature(sources: ConsoleSources, backup: LocatedBackup, signal: AbortSignal): Promise<Authenticity | { unchecked: string }> {
  try {
    const { signers } = await trustPolicyFor({}, signal);
    // No `onUnproven`: its warning is for a restore going ahead, and would write over the screen.
    return await authenticateBackup(sources.storage, backup, { signers, allowUnsigned: true }, { action: 'verify', signal });
  } catch (error) {
    return { unchecked: redact(oneLine(error)) };
  }
}
