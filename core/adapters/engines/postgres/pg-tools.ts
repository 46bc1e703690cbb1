import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The PostgreSQL client tools Vaultra runs. */
export type PgToolName = 'pg_dump' | 'pg_restore' | 'psql' | 'pg_isready' | 'pg_basebackup' | 'pg_receivewal' | 'pg_waldump';

const resolved = new Map<string, string>();

/**
 * Where PostgreSQL packages put each major version's programs, outside PATH: Debian and Ubuntu
 * (`/usr/lib/postgresql/16/bin`), the PGDG RPMs of RHEL and Fedora (`/usr/pgsql-16/bin`), and
 * Homebrew's keg-only `postgresql@16` formula on Apple silicon and on Intel Macs
 * (`/opt/homebrew/opt/postgresql@16/bin`, `/usr/local/opt/postgresql@16/bin`).
 */
const VERSIONED_LAYOUTS: readonly { readonly parent: string; readonly entry: RegExp }[] = [
  { parent: '/usr/lib/postgresql', entry: /^(\d+)$/ },
  { parent: '/usr', entry: /^pgsql-(\d+)$/ },
  { parent: '/opt/homebrew/opt', entry: /^postgresql@(\d+)$/ },
  { parent: '/usr/local/opt', entry: /^postgresql@(\d+)$/ },
  // Homebrew's client-only `libpq` (keg-only too): no major in its path, so it comes last.
  { parent: '/opt/homebrew/opt', entry: /^libpq$/ },
  { parent: '/usr/local/opt', entry: /^libpq$/ },
];

/**
 * Every versioned `bin` folder on this machine, newest major first (Debian's first within a
 * major; `libpq`'s, of no known major, as 0). `VAULTRA_PG_SEARCH_ROOT` puts the layouts under another root — for tests, which lay
 * out a Homebrew-like tree in a temp folder.
 */
export function versionedBinDirs(): { readonly major: number; readonly dir: string }[] {
  const root = process.env.VAULTRA_PG_SEARCH_ROOT ?? '';
  const found = VERSIONED_LAYOUTS.flatMap(({ parent, entry }) =>
    safeReaddir(join(root || '/', parent)).flatMap((name) => {
      const match = entry.exec(name);
      return match ? [{ major: Number(match[1] ?? 0), dir: join(root || '/', parent, name, 'bin') }] : [];
    }),
  );
  // A stable sort: within a major, the layouts keep their order.
  return found.sort((a, b) => b.major - a.major);
}

/**
 * The command to run for a PostgreSQL client tool. Debian and Ubuntu put a Perl dispatcher
 * (`pg_wrapper`) on PATH in front of every client; it costs 20-35 ms a call and then runs the
 * newest installed version anyway. When the tool on PATH is that wrapper, or there is none on
 * PATH (Debian does not link pg_waldump there; Homebrew's `postgresql@<major>` and the PGDG RPMs
 * link nothing), run the newest versioned one (`versionedBinDirs`): the newest pg_dump dumps
 * every older server. Anything else on PATH — or nothing anywhere, for a clear "not found" — is
 * used as it is.
 */
export function pgTool(name: PgToolName): string {
  const cached = resolved.get(name);
  if (cached) return cached;
  let command: string = name;
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name)).find((path) => existsSync(path));
  if (!onPath || safeRealpath(onPath).endsWith('/pg_wrapper')) {
    command = versionedBinDirs().map(({ dir }) => join(dir, name)).find((path) => existsSync(path)) ?? name;
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
 * that major's versioned folder, else one on PATH of that major; `undefined` when there is none.
 */
export function walDumpFor(serverMajor: number): string | undefined {
  const versioned = versionedBinDirs()
    .filter(({ major }) => major === serverMajor)
    .map(({ dir }) => join(dir, 'pg_waldump'))
    .find((path) => existsSync(path));
  if (versioned) return versioned;
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'pg_waldump')).find((path) => existsSync(path));
  if (!onPath) return undefined;
  const version = spawnSync(onPath, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  return new RegExp(`\\(PostgreSQL\\) ${serverMajor}\\b`).test(version) ? onPath : undefined;
}
