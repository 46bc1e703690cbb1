import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { DumpFailedError, RestoreFailedError } from '../../../errors.js';
import type { LogRange } from '../../../domain/log-archive.js';
import type { LogRead } from '../../../ports/log-archiver.js';
import { spawnTool, toolInput, toolOutput, toolVersion } from '../../process/child-process.js';
import { pgTool } from './pg-tools.js';
import { describeExit } from './postgres-psql.js';
import { GNU_TAR_INSTALL_HINT, gnuTarCommand } from '../../process/gnu-tar.js';

/** How archived WAL is laid out: a ustar/pax tar of segment files (and timeline history files) in log order. */
export const WAL_TAR_FORMAT = 'wal-tar/v1';

/**
 * A tar of `files` (names in `dir`, in this order) on stdout. The list goes through a file, not
 * argv: a long catch-up holds thousands of segments.
 */
export async function walTarStream(dir: string, files: readonly string[], listDir: string): Promise<Readable> {
  const list = join(listDir, 'files.list');
  await writeFile(list, files.map((f) => `${f}\n`).join(''));
  const tool = await spawnTool(await gnuTarCommand(), ['--create', '--file=-', '--format=posix', '--numeric-owner', '--owner=0', '--group=0', '--mode=0600', `--directory=${dir}`, '--verbatim-files-from', `--files-from=${list}`], {
    env: { LC_ALL: 'C' },
    installHint: GNU_TAR_INSTALL_HINT,
  });
  return toolOutput(tool, (exit) => new DumpFailedError(`tar of the received WAL failed (${describeExit(exit)})`, exit.stderrTail));
}

/** A Writable that extracts a WAL tar into `dir` (names are checked by whoever reads `dir` next). */
export async function walTarExtractor(dir: string, runId: string): Promise<Writable> {
  const tool = await spawnTool(await gnuTarCommand(), ['--extract', '--file=-', `--directory=${dir}`, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir'], {
    env: { LC_ALL: 'C' },
    stdin: 'pipe',
    stdout: 'ignore',
    installHint: GNU_TAR_INSTALL_HINT,
  });
  return toolInput(tool, (exit) => new RestoreFailedError(`cannot unpack the WAL archived by run ${runId} (${describeExit(exit)})`, exit.stderrTail));
}

/**
 * A WAL read as the port hands it over: the tar of `files` (in `dir`) as the stream, the range
 * already known, the tool named by its version, and `close` removing the read's private `work`
 * folder.
 */
export async function walTarRead(toolName: 'pg_receivewal' | 'pg_waldump', dir: string, files: readonly string[], work: string, range: Omit<LogRange, 'kind' | 'format'>): Promise<LogRead> {
  const [version, stream] = await Promise.all([toolVersion(pgTool(toolName)), walTarStream(dir, files, work)]);
  return {
    stream,
    tool: { name: toolName, version: (version ?? 'unknown').replace(new RegExp(`^${toolName} \\(PostgreSQL\\) `), '') },
    format: WAL_TAR_FORMAT,
    range: () => Promise.resolve(range),
    close: () => rm(work, { recursive: true, force: true }).catch(() => undefined),
  };
}
