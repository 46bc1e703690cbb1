import { writeFileSync } from 'node:fs';

/**
 * Writes the process's exit code to `file` as the process exits, for a program waiting beside it
 * that cannot see it exit: the scratch server of a GCP drill job, a second container that stops
 * itself once the file appears (infra/gcp/scripts/drill-scratch-server.sh). An `exit` listener
 * runs on every way out that still runs JavaScript: a drill that passed, failed or was
 * interrupted, and the forced exit after a teardown past its deadline (cli.ts). Not after a
 * SIGKILL (the kernel's out-of-memory killer): whoever waits for the file needs a bound of its own.
 */
export function writeExitCodeOnExit(file: string): void {
  process.once('exit', (code) => {
    try {
      writeFileSync(file, `${code}\n`);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      process.stderr.write(`vaultra: warning: could not write the done file ${file} (${reason}): a server waiting for it stops only at its own time limit\n`);
    }
  });
}
