/**
 * Defect 7 of issue 12 as a user meets it, through the built CLI: a circular YAML alias, a
 * YAML bomb and `postgres://` alone (in a config and as an argument) each end with exit 2 and
 * one line on stderr that names the file, the field or the value — no stack trace, no
 * internal message, no connection attempt.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

describe('malformed input through the CLI', () => {
  let root = '';
  let ws: Workspace;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-malformed-cli-'));
    ws = makeWorkspace(root, 'ws');
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  const bomb = () => {
    const lines = ['version: 1', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 1; level < 10; level += 1) lines.push(`a${level}: &a${level} [${Array(9).fill(`*a${level - 1}`).join(',')}]`);
    return `${lines.join('\n')}\nenvironments: *a9\n`;
  };

  it.each([
    ['a circular alias', 'version: 1\nenvironments:\n  dev:\n    cloud: local\n    jobs:\n      x: &j\n        source: *j\n', (path: string) => `vaultra: error: ${path}:7: alias *j is inside the node &j it refers to, a circular reference`],
    ['a YAML bomb', bomb(), (path: string) => `vaultra: error: ${path}: its YAML aliases expand to more than 1,000,000 values (a "billion laughs" document?)`],
    [
      'postgres:// alone as a source',
      'version: 1\nenvironments:\n  dev:\n    cloud: local\n    jobs:\n      shop:\n        source: "postgres://"\n        schedule: { cron: "0 3 * * *" }\n',
      (path: string) =>
        `vaultra: error: ${path}: environments.dev.jobs.shop.source: malformed PostgreSQL URL: no database named: postgres://user@host:port/<database> (postgres:///<database> for the local socket) (got "postgres://")`,
    ],
  ])('vaultra run with %s in the config: exit 2, one line naming the file', async (name, text, expected) => {
    const path = join(root, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(path, text);
    const result = await runVaultra(['run', 'x', '--config', path], { env: ws.env });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([expected(path)]);
  });

  it('vaultra backup postgres://: exit 2, one line, no connection attempted', async () => {
    const result = await runVaultra(['backup', 'postgres://', '--to', ws.storeUrl, '--no-encryption'], { env: { ...ws.env, PGHOST: '/nonexistent-socket-dir' } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual(['vaultra: error: malformed PostgreSQL URL: no database named: postgres://user@host:port/<database> (postgres:///<database> for the local socket)']);
  });
});
