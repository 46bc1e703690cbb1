/**
 * Looking at a folder tree from a test: which files it holds and what their bytes are, so a
 * test can show a failed run left nothing behind and earlier backups kept every byte.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every file below `dir` (at any depth), as paths relative to `dir`, sorted; `[]` when `dir`
 * does not exist. Folders are not listed, only what they hold.
 */
export async function filesUnder(dir: string): Promise<string[]> {
  return (await walk(dir, dir)).sort();
}

async function walk(dir: string, base: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path, base)));
    else files.push(path.slice(base.length + 1));
  }
  return files;
}

/** Hex SHA-256 of a file's bytes. */
export async function sha256Of(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** `{ relativePath: sha256 }` of every file below `dir`: two equal results mean the same bytes. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const file of await filesUnder(dir)) hashes[file] = await sha256Of(join(dir, file));
  return hashes;
}
