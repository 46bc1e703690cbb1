/**
 * File names as real volumes have them, through the built CLI (`npm run build` first): a name
 * holding a newline broke `vaultra show`'s listing into two lines, and one holding an escape
 * sequence reached the terminal as is. The listing escapes control characters; `--json` keeps
 * every name exactly, and the restore brings the files back under their real names.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

const NEWLINE_NAME = 'first\nsecond.txt';
const ESCAPE_NAME = 'red\x1b[31m.txt';

describe('directory backups: names with control characters', () => {
  const tools = requireTools('tar', 'zstd');
  if (!tools) return;

  let root = '';
  let ws: Workspace;
  let source = '';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-realworld-dir-'));
    ws = makeWorkspace(root, 'ws');
    source = join(root, 'source');
    mkdirSync(source);
    writeFileSync(join(source, NEWLINE_NAME), 'a');
    writeFileSync(join(source, ESCAPE_NAME), 'b');
    writeFileSync(join(source, 'plain ünï ☃.txt'), 'c');
    const backup = await runVaultra(['backup', `dir:${source}`, '--job', 'names', '--to', ws.storeUrl, '--no-progress'], { env: ws.env, cwd: ws.dir });
    expect(backup.code, backup.stderr).toBe(0);
  }, 60_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('show lists each name on one line, control characters escaped; --json keeps them exactly', async () => {
    const shown = await runVaultra(['show', 'latest', '--from', ws.storeUrl, '--job', 'names'], { env: ws.env, cwd: ws.dir });
    const json = await runVaultra(['show', 'latest', '--from', ws.storeUrl, '--job', 'names', '--json'], { env: ws.env, cwd: ws.dir });

    expect(shown.code, shown.stderr).toBe(0);
    const listing = shown.stdout.slice(shown.stdout.indexOf('contents ('), shown.stdout.indexOf('\n\n', shown.stdout.indexOf('contents (')));
    expect(listing.split('\n').map((line) => line.trim().replace(/ {2,}/g, ' | '))).toEqual(['contents (3):', 'file | first\\nsecond.txt | 1 B', 'file | plain ünï ☃.txt | 1 B', 'file | red\\x1b[31m.txt | 1 B']);
    expect(shown.stdout).not.toContain('\x1b');
    const names = (JSON.parse(json.stdout) as { contents: { name: string }[] }).contents.map((entry) => entry.name);
    expect(names).toEqual([NEWLINE_NAME, 'plain ünï ☃.txt', ESCAPE_NAME]);
  }, 60_000);

  it('restores the files under their real names', async () => {
    const target = join(root, 'restored');

    const restored = await runVaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', 'names', '--target', `dir:${target}`, '--no-progress'], { env: ws.env, cwd: ws.dir });

    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(join(target, NEWLINE_NAME), 'utf8')).toBe('a');
    expect(readFileSync(join(target, ESCAPE_NAME), 'utf8')).toBe('b');
  }, 60_000);
});
