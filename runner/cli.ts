import { Command, CommanderError } from 'commander';
import { VAULTRA_VERSION } from '../core/version.js';
import { EXIT, errorLine, exitCodeFor } from './exit-codes.js';
import { killRunningTools } from '../core/adapters/process/child-process.js';
import { backupCommand } from './commands/backup-command.js';
import { restoreCommand } from './commands/restore-command.js';
import { listCommand } from './commands/list-command.js';
import { verifyCommand } from './commands/verify-command.js';
import { keygenCommand } from './commands/keygen-command.js';
import { doctorCommand } from './commands/doctor-command.js';
import { catalogCommand } from './commands/catalog-command.js';
import { showCommand } from './commands/show-command.js';
import { runCommand } from './commands/run-command.js';
import { statusCommand } from './commands/status-command.js';
import { scheduleCommand } from './commands/schedule-command.js';
import { checkCommand } from './commands/check-command.js';
import { pruneCommand } from './commands/prune-command.js';
import { logsCommand } from './commands/logs-command.js';
import { walCommand } from './commands/wal-command.js';
import { configCommand } from './commands/config-command.js';
import { tuiCommand } from './commands/tui-command.js';
import { drillCommand } from './commands/drill-command.js';
import { volumesCommand } from './commands/volumes-command.js';
import { showRetries } from './retry-lines.js';
import { startTelemetry, stopTelemetry } from './telemetry.js';

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the run failed (dump, restore, storage or compression error)
  2    usage or configuration error
  3    integrity failure (checksum mismatch, altered or truncated backup)
  4    key error (no identity or passphrase opens the backup)
  5    not found (no such backup, run or database file)
  6    refused: the restore target is not empty (see --force)
  7    a required tool is missing (see vaultra doctor)
  8    untrusted backup: its signature is missing, altered or not from a trusted signer
       (see --trust; --allow-unsigned restores or verifies it anyway, with a warning)
  9    vaultra check found problems (missing, truncated or damaged packs, unreadable manifests)
  130  interrupted`;

export function buildProgram(): Command {
  const program = new Command('vaultra')
    .description('Streaming, encrypted database backups: native dump tool → zstd → age → storage')
    .version(VAULTRA_VERSION, '-V, --version')
    .showHelpAfterError('(run vaultra <command> --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  for (const build of [backupCommand, restoreCommand, drillCommand, listCommand, showCommand, verifyCommand, checkCommand, pruneCommand, logsCommand, walCommand, keygenCommand, doctorCommand, catalogCommand, runCommand, statusCommand, scheduleCommand, configCommand, tuiCommand, volumesCommand]) {
    program.addCommand(build().exitOverride());
  }
  return program;
}

/** Parses and runs one command line; errors become their one line on stderr and an exit code. */
async function runProgram(argv: string[], signal: AbortSignal | undefined): Promise<number> {
  const program = buildProgram();
  program.setOptionValue('signal', signal);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(errorLine(error) + '\n');
    return signal?.aborted ? EXIT.interrupted : exitCodeFor(error);
  }
}

/** How long the teardown after a signal may take before the process exits regardless. */
const TEARDOWN_DEADLINE_MS = 15_000;

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  const forceExit = () => {
    killRunningTools();
    process.exit(EXIT.interrupted);
  };
  // First signal: abort, so every stage is torn down, temp files and uploads removed, and the
  // run recorded as interrupted. A second signal (an impatient Ctrl-C, a supervisor's SIGTERM
  // right after) kills the tools at once but still lets that short teardown finish: exiting
  // there would leave the run `running` and its temp file behind. A third signal, or a teardown
  // past its deadline, exits regardless.
  let finished = false;
  let outcome: number | undefined;
  const interrupt = () => {
    // The command is over and only the exit is left: the outcome is recorded and decided, so a
    // late signal ends the process with it, instead of a death by signal.
    if (finished) process.exit(outcome ?? EXIT.interrupted);
    signals += 1;
    if (signals === 1) {
      controller.abort();
      setTimeout(forceExit, TEARDOWN_DEADLINE_MS).unref();
      return;
    }
    killRunningTools();
    if (signals >= 3) forceExit();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  showRetries();
  try {
    await startTelemetry();
  } catch (error) {
    process.stderr.write(errorLine(error) + '\n');
    return exitCodeFor(error);
  }
  try {
    outcome = await runProgram(argv, controller.signal);
    return outcome;
  } finally {
    finished = true;
    // Every command waits for its tools; any still running here (killed, not yet gone) must not outlive us.
    killRunningTools();
    // The run is recorded and its outcome decided: exporting its spans and metrics only delays the exit, within a bound.
    await stopTelemetry();
  }
}
