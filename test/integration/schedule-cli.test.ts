/**
 * `vaultra schedule` through the built CLI (`npm run build` first), on the shipped
 * vaultra.config.yaml and broken variants. Expectations come from the clock the CLI reads.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runVaultra } from '../support/cli.js';

const HOUR = 3_600_000;
const SHIPPED = join(repoRoot, 'vaultra.config.yaml');

/** The top of the hour after `ms`. */
const nextHour = (ms: number) => new Date(Math.floor(ms / HOUR) * HOUR + HOUR).toISOString();

describe('vaultra schedule (CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-schedule-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the shipped config's local job's next fire times as JSON", async () => {
    const before = Date.now();
    const { code, stdout, stderr } = await runVaultra(['schedule', '--config', SHIPPED, '--env', 'local', '--next', '2', '--json']);
    const after = Date.now();

    expect(code, stderr).toBe(0);
    const [app, ...others] = JSON.parse(stdout) as { environment: string; job: string; next: { utc: string; local: string }[]; longestGapMs: number; rpoMs: number }[];
    expect(others).toEqual([]);
    expect(app).toMatchObject({ environment: 'local', job: 'app', longestGapMs: HOUR, rpoMs: 3 * HOUR });
    expect([nextHour(before), nextHour(after)]).toContain(app!.next[0]!.utc);
    expect(Date.parse(app!.next[1]!.utc) - Date.parse(app!.next[0]!.utc)).toBe(HOUR);
    expect(app!.next[0]!.local).toBe(`${app!.next[0]!.utc.slice(0, 10)} ${app!.next[0]!.utc.slice(11, 16)} GMT+0`);
  });

  it('prints every environment as an aligned table, each job in its own time zone', async () => {
    const { code, stdout, stderr } = await runVaultra(['schedule', '--config', SHIPPED, '--no-deployed']);

    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ENV\s+JOB\s+SCHEDULE\s+LONGEST GAP\s+RPO\s+NEXT \(UTC\)\s+NEXT \(LOCAL\)$/);
    expect(stdout).toMatch(/^example\s+shop-postgres\s+15 2 \* \* \* \(Europe\/Paris\)\s+25h\s+26h\s+\d{4}-\d\d-\d\d \d\d:15Z\s+\d{4}-\d\d-\d\d 0[23]:15 GMT\+[12]$/m);
    expect(stdout).toMatch(/^local\s+app\s+0 \* \* \* \* \(UTC\)\s+1h\s+3h\s+/m);
    // Three fire times per job by default: the first on the job's line, two under it.
    const jobs = (await readFile(SHIPPED, 'utf8')).match(/^\s+schedule: /gm)!.length;
    expect(lines.length - 1).toBe(3 * jobs);
  });

  it("adds a DEPLOYED column: unknown with its reason once per unreadable cloud environment, '-' for local; still exit 0", async () => {
    // No cloud credentials of any kind, and nowhere to find them: each cloud says why it cannot tell.
    const env = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_PROFILE: undefined, AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true', GOOGLE_APPLICATION_CREDENTIALS: undefined, CLOUDSDK_CONFIG: join(dir, 'none'), AZURE_SUBSCRIPTION_ID: undefined, ARM_SUBSCRIPTION_ID: undefined };

    const { code, stdout, stderr } = await runVaultra(['schedule', '--config', SHIPPED, '--next', '1'], { env });

    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/\s+NEXT \(LOCAL\)\s+DEPLOYED$/);
    expect(stdout).toMatch(/^example\s+shop-postgres\s+.*unknown \(reading the EventBridge schedules of group vaultra-example failed: .*\)$/m);
    expect(stdout).toMatch(/^example\s+billing-mariadb\s+.*unknown \(as above\)$/m);
    expect(stdout).toMatch(/^gcp-example\s+shop-postgres\s+.*unknown \(listing the Cloud Scheduler jobs of projects\/vaultra-example\/locations\/europe-west1 failed: .*\)$/m);
    expect(stdout).toMatch(/^azure-example\s+shop-postgres\s+.*unknown \(not comparable without a subscription: set AZURE_SUBSCRIPTION_ID to read the function app config\)$/m);
    expect(stdout).toMatch(/^local\s+app\s+.*\s-$/m);
  });

  it('exits 2 with one line for a broken cron, an unknown environment or a bad --next', async () => {
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, (await readFile(SHIPPED, 'utf8')).replace('cron: "0 * * * *"', 'cron: "0 * * *"'));

    for (const args of [['--config', broken], ['--config', SHIPPED, '--env', 'nope'], ['--config', SHIPPED, '--next', '0'], ['--config', SHIPPED, '--next', '101']]) {
      const { code, stdout, stderr } = await runVaultra(['schedule', ...args]);
      expect(code, stderr).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
    }
    const { stderr } = await runVaultra(['schedule', '--config', broken]);
    expect(stderr).toMatch(/^vaultra: error: .*broken\.yaml: environments\.local\.jobs\.app\.schedule\.cron: a five-field cron expression: .* \(got "0 \* \* \*"\)$/m);
  });
});
