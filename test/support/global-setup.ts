/**
 * vitest globalSetup: one throwaway PostgreSQL server for the whole run, handed to test
 * files as `inject('pg')`. Under `CI=true` a server that cannot start fails the run; locally
 * the reason is provided as `pgUnavailable` and suites skip with it (see requirements.ts).
 *
 * `VAULTRA_TEST_PG=off` skips starting the server (for quick unit-only runs).
 */
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresServer } from './postgres-server.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide('repoRoot', repoRoot);

  let server: PostgresServer | undefined;
  if (process.env.VAULTRA_TEST_PG === 'off') {
    project.provide('pgUnavailable', 'PostgreSQL disabled by VAULTRA_TEST_PG=off');
  } else {
    try {
      server = await startPostgres();
      const { url, host, port, user, password, binDir, serverVersion } = server;
      project.provide('pg', { url, host, port, user, password, binDir, serverVersion });
    } catch (error) {
      const reason = oneLine(error);
      if (process.env.CI === 'true') {
        throw new Error(`CI=true and the test PostgreSQL server could not start: ${reason}`, { cause: error });
      }
      project.provide('pgUnavailable', `PostgreSQL unavailable: ${reason}`);
    }
  }

  return async () => {
    await server?.stop();
  };
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').trim().slice(0, 300);
}
