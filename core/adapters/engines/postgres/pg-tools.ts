import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const resolved = new Map<string, string>();

/**
 * The command to run for a PostgreSQL client tool. Debian and Ubuntu put a Perl dispatcher
 * (`pg_wrapper`) on PATH in front of every client; it costs 20-35 ms a call and then runs the
 * newest installed version anyway. When the tool on PATH is that wrapper, run the newest
 * `/usr/lib/postgresql/<major>/bin/<tool>` directly (the newest pg_dump dumps every older
 * server); so too for pg_waldump when it is not on PATH at all (Debian does not link it there).
 * Anything else on PATH — or nothing, for a clear "not found" — is used as it is.
 */
export function pgTool(name: 'pg_dump' | 'pg_restore' | 'psql' | 'pg_basebackup' | 'pg_receivewal' | 'pg_waldump'): string {
  const cached = resolved.get(name);
  if (cached) return cached;
  let command: string = name;
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name)).find((path) => existsSync(path));
  // Debian links only some clients into PATH (pg_waldump is not): look in the versioned folders
  // for it then too. Any other tool missing from PATH stays missing (a clear "not found").
  if ((!onPath && name === 'pg_waldump') || (onPath && safeRealpath(onPath).endsWith('/pg_wrapper'))) {
    const majors = safeReaddir('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    command = majors.map((major) => `/usr/lib/postgresql/${major}/bin/${name}`).find((path) => existsSync(path)) ?? name;
  }
  resolved.set(name, command);
  return command;
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The pg_waldump that reads a server's WAL: it reads only its own major version's, so the one in
 * `/usr/lib/postgresql/<major>/bin`, else one on PATH of that major; `undefined` when there is none.
 */
export function walDumpFor(serverMajor: number): string | undefined {
  const versioned = `/usr/lib/postgresql/${serverMajor}/bin/pg_waldump`;
  if (existsSync(versioned)) return versioned;
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'pg_waldump')).find((path) => existsSync(path));
  if (!onPath) return undefined;
  const version = spawnSync(onPath, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  return new RegExp(`\\(PostgreSQL\\) ${serverMajor}\\b`).test(version) ? onPath : undefined;
}
