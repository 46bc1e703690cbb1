import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, oneLine } from '../core/errors.js';

/**
 * Replaces `path` with `text` in one step: written to a temp file beside it, then renamed over
 * it, so a reader (node_exporter's textfile collector scraping every few seconds) sees the old
 * file or the new one, never half of one. The temp name starts with a dot and ends in `.tmp`,
 * which the textfile collector (it reads `*.prom` only) skips.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    // Readable by others: the collector usually runs as its own user.
    await writeFile(temp, text, { mode: 0o644 });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    // The code alone: the system's message names the temp file, which the user never asked for.
    const reason = (error as NodeJS.ErrnoException).code ?? oneLine(error);
    throw new ConfigError(`cannot write ${path}: ${reason}; check that its folder exists and is writable`, { cause: error });
  }
}
