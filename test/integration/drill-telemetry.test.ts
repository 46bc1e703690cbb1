/**
 * A restore drill's metrics (docs/observability.md), through the built CLI: the drill's run and
 * its RTO exported to a real OpenTelemetry Collector (OTLP → file exporter,
 * test/support/otel-collector.ts), and `vaultra status --prometheus` showing the job's last drill
 * from the catalog. A SQLite job: the cheapest real drill.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../core/domain/telemetry-metrics.js';
import { runVaultra } from '../support/cli.js';
import { otelCollectorBinary, startOtelCollector, type OtelCollector } from '../support/otel-collector.js';
import { requireTools, unmet } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

interface DrillJson {
  status: 'passed' | 'failed';
  rto: { totalMs: number };
}

describe('restore drill metrics', () => {
  const tools = requireTools('sqlite3', 'zstd');
  if (!tools) return;
  const binary = otelCollectorBinary();
  if (!binary) {
    unmet('the OpenTelemetry Collector (vaultra-otelcol)', 'run scripts/setup-otel-collector.sh');
    return;
  }

  let root = '';
  let ws: Workspace;
  let collector: OtelCollector;
  const job = 'shop';
  const vaultra = (args: string[], env: NodeJS.ProcessEnv = {}) => runVaultra(args, { env: { ...ws.env, ...env }, cwd: ws.dir, timeoutMs: 120_000 });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-drilltest-otel-'));
    ws = makeWorkspace(root, 'ws');
    const db = join(ws.dir, 'shop.db');
    const keygen = await runVaultra(['keygen', '--out', ws.identity], { env: ws.env });
    expect(keygen.code, keygen.stderr).toBe(0);
    expect(spawnSync('sqlite3', [db], { input: 'create table items(id integer primary key); insert into items select value from generate_series(1, 300);' }).status).toBe(0);
    writeFileSync(
      join(ws.dir, 'vaultra.config.yaml'),
      `version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "${ws.storeUrl}" }
    jobs:
      ${job}:
        source: "sqlite:${db}"
        schedule: { cron: "0 3 * * *" }
        encryption: { kms: false, recipients: [${keygen.stdout.trim()}] }
        drill: { rto: 30m }
`,
    );
    collector = await startOtelCollector(binary);
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('exports the drill as a run of kind drill and its RTO, and status --prometheus shows the last drill per job', async () => {
    const env = {};
    const backup = await vaultra(['run', job, '--no-progress'], env);
    expect(backup.code, backup.stderr).toBe(0);
    const drilled = await vaultra(['drill', 'latest', '--job', job, '--from', ws.storeUrl, '--json', '--no-progress'], { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpEndpoint });
    expect(drilled.code, drilled.stderr).toBe(0);
    const drill = JSON.parse(drilled.stdout) as DrillJson;

    const points = await collector.waitFor('drill metrics', () => {
      const mine = collector.metricPoints().filter((point) => point.attributes['vaultra.job'] === job && point.attributes['vaultra.run.kind'] === 'drill');
      const rto = mine.find((point) => point.metric === METRICS.drillRto.name);
      const runs = mine.find((point) => point.metric === METRICS.runs.name);
      return rto && runs ? { rto, runs } : undefined;
    });
    expect(points.rto).toMatchObject({ kind: 'histogram', unit: 's', count: 1, attributes: { 'vaultra.run.status': 'succeeded', 'db.system': 'sqlite', 'vaultra.environment': 'laptop' } });
    expect(points.rto.value).toBeCloseTo(drill.rto.totalMs / 1000, 3);
    expect(points.runs).toMatchObject({ value: 1, attributes: { 'vaultra.run.status': 'succeeded' } });

    const status = await vaultra(['status', '--prometheus']);
    expect(status.code, status.stderr).toBe(0);
    const labels = `{vaultra_job="${job}",vaultra_environment="laptop"}`;
    expect(status.stdout).toContain(`# TYPE ${METRICS.lastDrillRto.prometheus} gauge\n${METRICS.lastDrillRto.prometheus}${labels} ${drill.rto.totalMs / 1000}\n`);
    expect(status.stdout).toContain(`${METRICS.lastDrillPassed.prometheus}${labels} 1\n`);

    // A failing check: the last drill is now a failed one.
    const failed = await vaultra(['drill', 'latest', '--job', job, '--from', ws.storeUrl, '--check', 'select count(*) from items => 1', '--no-progress'], env);
    expect(failed.code).toBe(3);
    expect((await vaultra(['status', '--prometheus'])).stdout).toContain(`${METRICS.lastDrillPassed.prometheus}${labels} 0\n`);
  }, 180_000);
});
