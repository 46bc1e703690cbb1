import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTool, toolVersion, type SpawnToolOptions, type ToolExit, type ToolProcess } from '../../process/child-process.js';
import { connectionUri, type MongoConnection } from './mongodb-connection.js';

export const INSTALL_HINT =
  'install the MongoDB Database Tools (https://www.mongodb.com/try/download/database-tools, Debian/Ubuntu: the mongodb-database-tools package; this repository: scripts/setup-mongo.sh)';

/**
 * Starts mongodump or mongorestore with the connection in a config file: the tools' `--uri`
 * would put the password in argv, readable by every user through /proc. The file is YAML
 * (`uri: "…"`), mode 0600, in a private (0700) temp folder that is removed once the tool
 * exited, or at once when it could not start.
 */
export async function spawnMongoTool(
  tool: 'mongodump' | 'mongorestore',
  connection: MongoConnection,
  args: readonly string[],
  options: Omit<SpawnToolOptions, 'installHint' | 'env'>,
): Promise<ToolProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-mongo-'));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  try {
    const config = join(dir, 'connection.yaml');
    await writeFile(config, `uri: ${yamlString(connectionUri(connection))}\n`, { mode: 0o600, flag: 'wx' });
    const started = await spawnTool(tool, ['--config', config, ...args], { ...options, installHint: INSTALL_HINT });
    // `exited` resolves only once the file is gone, so a finished dump leaves nothing behind.
    const exited = started.exited.then(async (exit) => {
      await removeDir().catch(() => undefined);
      return exit;
    });
    return { child: started.child, kill: started.kill, exited };
  } catch (error) {
    await removeDir();
    throw error;
  }
}

/** `mongodump version: 100.12.2` → `100.12.2`. */
export async function mongoToolVersion(tool: 'mongodump' | 'mongorestore'): Promise<string | undefined> {
  const line = await toolVersion(tool);
  return line?.replace(/^\S+ version: /, '');
}

/** A YAML double-quoted scalar (control characters as `\xNN`). */
function yamlString(value: string): string {
  let out = '"';
  for (const c of value) {
    const code = c.charCodeAt(0);
    if (c === '\\' || c === '"') out += `\\${c}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

/**
 * The most telling line of a mongo tool's stderr, without the timestamp each line starts with:
 * its `Failed: …` line, else the last line that reads like an error; undefined when there is
 * none (a tool killed by a signal leaves only progress lines).
 */
export function toolFailureLine(exit: ToolExit): string | undefined {
  const lines = exit.stderrTail
    .split('\n')
    .map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d{4}\s+/, '').trim())
    .filter(Boolean);
  const line = lines.findLast((l) => /^Failed:/.test(l)) ?? lines.findLast((l) => /error|fatal|failed|cannot|could not|unable/i.test(l));
  return line?.replace(/^Failed: /, '');
}

/** `exit 1: <why>` or `killed by SIGKILL`. */
export function describeToolExit(exit: ToolExit): string {
  const why = toolFailureLine(exit);
  if (exit.signal) return why ? `killed by ${exit.signal}: ${why}` : `killed by ${exit.signal}`;
  const last = why ?? exit.stderrTail.split('\n').filter((l) => l.trim()).at(-1)?.replace(/^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d{4}\s+/, '').trim();
  return last ? `exit ${exit.code}: ${last}` : `exit ${exit.code}`;
}
