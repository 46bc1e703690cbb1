/**
 * `vaultra status` through the built CLI (`npm run build` first): a temp config whose local
 * environment stores in a temp folder, and the catalog beside it written through LocalCatalog.
 * Runs are dated relative to the clock the CLI reads (a success 1 h ago, another 3 days ago), so
 * nothing here ages out.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { repoRoot, runVaultra } from '../support/cli.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';

function configText(extraJob = ''): string {
  return `version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "file://./backups" }
    defaults:
      encryption: { kms: false, recipients: [${RECIPIENT}] }
    jobs:
      app:
        source: "postgres://app@localhost:5432/app"
        schedule: { cron: "0 * * * *" }
        rpo: 2h
      reports:
        source: "postgres://app@localhost:5432/reports"
        schedule: { cron: "30 3 * * *", timeZone: Europe/Paris }
        rpo: 26h
${extraJob}`;
}

describe('vaultra status (CLI)', () => {
  let dir: string;
  let catalog: LocalCatalog;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-status-cli-'));
    catalog = new LocalCatalog(join(dir, 'backups', '.vaultra', 'catalog'));
    await writeFile(join(dir, 'vaultra.config.yaml'), configText());
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let sequence = 0;
  async function recorded(job: string, status: RunRecord['status'], agoMs: number, patch: Partial<RunRecord> = {}): Promise<RunRecord> {
    const startedAt = new Date(Date.now() - agoMs);
    const run: RunRecord = {
      runId: newRunId(new Date(startedAt.getTime() + sequence++)),
      job,
      kind: 'backup',
      status,
      startedAt: startedAt.toISOString(),
      ...(status === 'running' ? {} : { finishedAt: new Date(startedAt.getTime() + MINUTE).toISOString() }),
      ...patch,
    };
    await catalog.create(run);
    return run;
  }

  it('exits 1 with a job past its RPO, and says who, why and when next as a table and as JSON', async () => {
    // Prepare
    const appOk = await recorded('app', 'succeeded', HOUR);
    await recorded('app', 'failed', 2 * HOUR, { error: { kind: 'dump', message: 'pg_dump: connection refused' } });
    await recorded('reports', 'succeeded', 3 * 24 * HOUR);
    const running = await recorded('reports', 'running', 5 * MINUTE);

    // Act
    const table = await runVaultra(['status'], { cwd: dir });
    const json = await runVaultra(['status', '--json'], { cwd: dir });

    // Assess
    expect(table.code, table.stderr).toBe(1);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^JOB\s+STATUS\s+LAST SUCCESS\s+RPO\s+LAST FAILURE\s+RUNNING\s+NEXT RUN$/);
    expect(lines[1]).toMatch(/^app\s+✓ ok\s+59m ago\s+2h\s+1h 59m ago: pg_dump: connection refused\s+\S+ \d\d:00Z \(in /);
    expect(lines[2]).toMatch(new RegExp(`^reports\\s+✗ late\\s+2d 23h ago\\s+26h\\s+${running.runId} \\(backup, running\\)\\s+\\S+ \\d\\d:30Z \\(in `));

    expect(json.code, json.stderr).toBe(1);
    const statuses = JSON.parse(json.stdout) as { job: string; state: string; rpoBreached: boolean; lastSuccess?: { runId: string }; running: unknown[]; nextRun: string }[];
    expect(statuses.map((s) => [s.job, s.state, s.rpoBreached, s.running.length])).toEqual([['app', 'ok', false, 0], ['reports', 'late', true, 1]]);
    expect(statuses[0]!.lastSuccess?.runId).toBe(appOk.runId);
    expect(Date.parse(statuses[0]!.nextRun)).toBeGreaterThan(Date.now() - MINUTE);
    expect(Date.parse(statuses[0]!.nextRun)).toBeLessThanOrEqual(Date.now() + HOUR);
  });

  it('exits 0 when every job is within its RPO', async () => {
    await recorded('app', 'succeeded', 30 * MINUTE);
    await recorded('reports', 'succeeded', 20 * HOUR);

    const { code, stdout, stderr } = await runVaultra(['status', '--config', join(dir, 'vaultra.config.yaml')], { cwd: dir });

    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^app\s+✓ ok/m);
    expect(stdout).toMatch(/^reports\s+✓ ok/m);
  });

  it('exits 1 for a job that never ran, and 2 with one line for a broken config or a cloud environment without --catalog', async () => {
    await recorded('app', 'succeeded', 30 * MINUTE);
    const never = await runVaultra(['status'], { cwd: dir });
    expect(never.code, never.stderr).toBe(1);
    expect(never.stdout).toMatch(/^reports\s+\? never ran\s+none/m);

    await writeFile(join(dir, 'broken.yaml'), configText('      bad:\n        source: "postgres://app@localhost/bad"\n        schedule: { cron: "61 * * * *" }\n'));
    const broken = await runVaultra(['status', '--config', 'broken.yaml'], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    expect(broken.stderr).toMatch(/^vaultra: error: .*jobs\.bad\.schedule/);

    const cloud = await runVaultra(['status', '--config', join(repoRoot, 'vaultra.config.yaml'), '--env', 'example'], { cwd: dir });
    expect(cloud.code).toBe(2);
    expect(cloud.stderr.trim()).toBe('vaultra: error: environment example runs in aws: name its catalog with --catalog (dynamodb://<table>)');
  });

  it('prints the freshness gauges in the Prometheus text format, and writes them atomically for the textfile collector', async () => {
    // Prepare: app within its RPO, reports past it (with the engine its backup recorded), a disabled job.
    await writeFile(join(dir, 'vaultra.config.yaml'), configText('      off:\n        source: "postgres://app@localhost:5432/off"\n        schedule: { cron: "0 * * * *" }\n        enabled: false\n'));
    await recorded('app', 'succeeded', HOUR, { engine: 'postgres' });
    await recorded('reports', 'succeeded', 3 * 24 * HOUR, { engine: 'mysql' });
    await recorded('off', 'succeeded', 30 * 24 * HOUR, { engine: 'postgres' });
    const textfile = join(dir, 'textfile', 'vaultra.prom');
    await mkdir(join(dir, 'textfile'));

    // Act
    const printed = await runVaultra(['status', '--prometheus'], { cwd: dir });
    const written = await runVaultra(['status', '--prometheus-file', textfile, '--json'], { cwd: dir });

    // Assess: ages are read from the clock the CLI runs on, so only their range is fixed here.
    expect(printed.code, printed.stderr).toBe(1);
    const lines = printed.stdout.trimEnd().split('\n');
    expect(lines.filter((line) => line.startsWith('#'))).toEqual([
      "# HELP vaultra_job_last_success_age_seconds Seconds since the job's last successful backup, from the catalog",
      '# TYPE vaultra_job_last_success_age_seconds gauge',
      "# HELP vaultra_job_rpo_seconds The job's recovery point objective",
      '# TYPE vaultra_job_rpo_seconds gauge',
    ]);
    const samples = new Map(lines.filter((line) => !line.startsWith('#')).map((line) => [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))]));
    expect([...samples.keys()]).toEqual([
      'vaultra_job_last_success_age_seconds{vaultra_job="app",vaultra_environment="laptop",db_system="postgresql"}',
      'vaultra_job_last_success_age_seconds{vaultra_job="reports",vaultra_environment="laptop",db_system="mysql"}',
      'vaultra_job_rpo_seconds{vaultra_job="app",vaultra_environment="laptop",db_system="postgresql"}',
      'vaultra_job_rpo_seconds{vaultra_job="reports",vaultra_environment="laptop",db_system="mysql"}',
    ]);
    expect(samples.get('vaultra_job_last_success_age_seconds{vaultra_job="app",vaultra_environment="laptop",db_system="postgresql"}')).toBeGreaterThanOrEqual(59 * 60);
    expect(samples.get('vaultra_job_last_success_age_seconds{vaultra_job="app",vaultra_environment="laptop",db_system="postgresql"}')).toBeLessThan(2 * 3600);
    expect(samples.get('vaultra_job_rpo_seconds{vaultra_job="reports",vaultra_environment="laptop",db_system="mysql"}')).toBe(26 * 3600);

    expect(written.code, written.stderr).toBe(1);
    expect(JSON.parse(written.stdout)).toHaveLength(3);
    const file = await readFile(textfile, 'utf8');
    expect(file.split('\n').filter((line) => line.startsWith('#'))).toEqual(lines.filter((line) => line.startsWith('#')));
    // Only the finished file is left: the temp file it was written to was renamed over it.
    expect(await readdir(join(dir, 'textfile'))).toEqual(['vaultra.prom']);
  });

  it('refuses --prometheus with --json, and says what to do when the textfile cannot be written', async () => {
    const both = await runVaultra(['status', '--prometheus', '--json'], { cwd: dir });
    expect(both.code).toBe(2);

    const missing = await runVaultra(['status', '--prometheus-file', join(dir, 'no-such-folder', 'vaultra.prom')], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr.trim()).toBe(`vaultra: error: cannot write ${join(dir, 'no-such-folder', 'vaultra.prom')}: ENOENT; check that its folder exists and is writable`);
  });

  it("reads the shipped vaultra.config.yaml's local environment", async () => {
    const { code, stdout, stderr } = await runVaultra(['status', '--config', join(repoRoot, 'vaultra.config.yaml')], { cwd: dir });
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^app\s+\? never ran\s+none\s+3h\s+\S+ \d\d:00Z \(in /m);
  });
});
