import { describe, expect, it } from 'vitest';
import { TOOL_FAMILY_VARIABLES, toolEnvironment } from '../../core/adapters/process/tool-environment.js';
import { runTool } from '../../core/adapters/process/child-process.js';

const RUNNER_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/u',
  TMPDIR: '/tmp/x',
  LANG: 'C.UTF-8',
  LC_CTYPE: 'C.UTF-8',
  TZ: 'UTC',
  PGSSLMODE: 'verify-full',
  AZURE_STORAGE_CONNECTION_STRING: 'AccountName=a;AccountKey=secret',
  GOOGLE_APPLICATION_CREDENTIALS: '/keys/sa.json',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'token',
  VAULTRA_PASSPHRASE: 'secret',
  TAR_OPTIONS: '--exclude=*',
};

describe('tool environments', () => {
  it('keep the allow-list only: PATH, HOME, TMPDIR, locale, time zone', () => {
    expect(toolEnvironment({}, [], RUNNER_ENV)).toEqual({ PATH: '/usr/bin:/bin', HOME: '/home/u', TMPDIR: '/tmp/x', LANG: 'C.UTF-8', LC_CTYPE: 'C.UTF-8', TZ: 'UTC' });
  });

  it('add the family variables (libpq for the PostgreSQL tools) and the tool own, which win', () => {
    const env = toolEnvironment({ PGPASSWORD: 'pw', PGHOST: 'db', LC_ALL: 'C', TZ: undefined }, TOOL_FAMILY_VARIABLES.postgres, RUNNER_ENV);
    expect(env).toMatchObject({ PGSSLMODE: 'verify-full', PGPASSWORD: 'pw', PGHOST: 'db', LC_ALL: 'C' });
    expect(env.TZ).toBeUndefined();
    expect(Object.keys(env).filter((name) => /^(AZURE|AWS|GOOGLE|VAULTRA|TAR)_/.test(name))).toEqual([]);
  });

  it('is what a spawned tool really gets', async () => {
    process.env.VAULTRA_TEST_CLOUD_SECRET = 'must-not-pass';
    try {
      const out = await runTool('env', [], { env: { OWN: '1' }, onFailure: () => new Error('env failed') });
      expect(out).toMatch(/^OWN=1$/m);
      expect(out).toMatch(/^PATH=/m);
      expect(out).not.toContain('VAULTRA_TEST_CLOUD_SECRET');
    } finally {
      delete process.env.VAULTRA_TEST_CLOUD_SECRET;
    }
  });
});
