/**
 * docs/observability/otel-collector.yaml in a real OpenTelemetry Collector (`otelcol-vaultra`,
 * built by scripts/setup-otelcol-vaultra.sh): the collector validates it, and, run with it on
 * loopback ports, turns OTLP into the Prometheus names that METRICS promises — the names the
 * Grafana dashboard queries and `vaultra status --prometheus` prints. Loki and Tempo are not
 * running: their pipelines fail to deliver, which must not hold up the metrics.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { METRICS } from '../../core/domain/telemetry-metrics.js';
import { freshnessReadings } from '../../core/usecases/job-freshness.js';
import { exportGauges } from '../../functions/shared/freshness-telemetry.js';
import { prometheusText } from '../../runner/prometheus-text.js';
import { run } from '../support/exec.js';
import { answersHttp, startEmulator, type EmulatorProcess } from '../support/emulator-process.js';
import { freePort } from '../support/postgres-server.js';
import { requireTool, requireTools } from '../support/requirements.js';
import { repoRoot, runVaultra } from '../support/cli.js';
import { createSqliteFixture } from '../support/sqlite-fixtures.js';
import { makeWorkspace } from '../support/workspace.js';

const CONFIG = join(repoRoot, 'docs/observability/otel-collector.yaml');

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Samples of a Prometheus text exposition (what the collector serves and `prometheusText` prints). */
function samplesOf(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key!, value!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

describe('the documented OpenTelemetry Collector config (real collector)', () => {
  const collector = requireTool('otelcol-vaultra');
  if (!collector) return;

  it('validates, with the remote-write and Jaeger overlays too, and a broken reference is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-otelcol-'));
    const overlays = ['otel-collector-remote-write.yaml', 'otel-collector-jaeger.yaml'].flatMap((name) => ['--config', join(repoRoot, 'docs/observability', name)]);
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'service:\n  pipelines:\n    traces: { exporters: [otlp_grpc/tempoo] }\n');

    const plain = await run(collector, ['validate', '--config', CONFIG]);
    const swapped = await run(collector, ['validate', '--config', CONFIG, ...overlays]);
    const refused = await run(collector, ['validate', '--config', CONFIG, '--config', broken]);
    await rm(dir, { recursive: true, force: true });

    expect(plain.code, plain.stderr).toBe(0);
    expect(swapped.code, swapped.stderr).toBe(0);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('references exporter "otlp_grpc/tempoo" which is not configured');
  });

  describe('running', () => {
    let process_: EmulatorProcess;
    const ports = { grpc: 0, http: 0, prometheus: 0, health: 0 };
    const scrape = async () => (await fetch(`http://127.0.0.1:${ports.prometheus}/metrics`)).text();

    beforeAll(async () => {
      for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
      const unused = await freePort();
      process_ = await startEmulator({
        name: 'otelcol',
        command: collector,
        args: () => ['--config', CONFIG],
        env: {
          OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${ports.grpc}`,
          OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${ports.http}`,
          OTELCOL_PROMETHEUS_ENDPOINT: `127.0.0.1:${ports.prometheus}`,
          OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${ports.health}`,
          LOKI_OTLP_ENDPOINT: `http://127.0.0.1:${unused}/otlp`,
          TEMPO_OTLP_ENDPOINT: `127.0.0.1:${unused}`,
        },
        ready: answersHttp(`http://127.0.0.1:${ports.health}/`),
      });
    }, 90_000);
    afterAll(async () => {
      await process_?.stop();
    });

    /** Scrapes until `until` holds (the batch processor sends after up to 5 s). */
    async function scrapedWhen(until: (samples: Sample[]) => boolean): Promise<{ text: string; samples: Sample[] }> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const text = await scrape();
        const samples = samplesOf(text);
        if (until(samples) || Date.now() > deadline) return { text, samples };
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }

    it("serves the watchdogs' gauges under the names and labels vaultra status --prometheus prints", async () => {
      // Prepare: the readings of two jobs, one that never ran.
      const readings = freshnessReadings([
        { job: 'shop', environment: 'prod', dbSystem: 'postgresql', lastSuccessAgeSeconds: 3540, rpoSeconds: 93_600, logArchiveLagSeconds: 120 },
        { job: 'ledger', environment: 'prod', rpoSeconds: 7200 },
      ]);

      // Act: what every watchdog calls, to the collector's OTLP/HTTP receiver.
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${ports.http}`;
      const outcome = await exportGauges(readings).finally(() => delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
      const { samples } = await scrapedWhen((found) => found.some((sample) => sample.name === METRICS.logArchiveLag.prometheus));

      // Assess: every line vaultra status would print is served, same name, same labels, same value.
      expect(outcome).toEqual({ outcome: 'exported', gauges: readings.length });
      for (const expected of samplesOf(prometheusText(readings))) {
        const served = samples.find((sample) => sample.name === expected.name && Object.entries(expected.labels).every(([key, value]) => sample.labels[key] === value));
        expect(served, `${expected.name}${JSON.stringify(expected.labels)} not served`).toBeDefined();
        expect(served!.value).toBe(expected.value);
        // The job label a dashboard filters on is the attribute, not the collector's own `job`.
        expect(served!.labels.job).toBe('vaultra-watchdog');
      }
    });

    it('adds up the runs of short-lived runner processes that export delta temporality into one series per job', async () => {
      // Prepare: three "runs", each a process of its own (its own service.instance.id) that reports once and exits.
      const attributes = { 'vaultra.job': 'short-lived', 'vaultra.run.kind': 'backup', 'vaultra.run.status': 'succeeded' };
      for (const run of [1, 2, 3]) {
        const exporter = new OTLPMetricExporter({ url: `http://127.0.0.1:${ports.http}/v1/metrics`, temporalityPreference: AggregationTemporality.DELTA });
        const provider = new MeterProvider({
          resource: resourceFromAttributes({ 'service.name': 'vaultra-runner', 'service.instance.id': `runner-process-${run}` }),
          readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })],
        });
        const meter = provider.getMeter('vaultra');
        meter.createCounter(METRICS.runs.name, { unit: METRICS.runs.unit }).add(1, attributes);
        meter.createHistogram(METRICS.runDuration.name, { unit: METRICS.runDuration.unit }).record(run * 10, attributes);

        // Act
        await provider.shutdown();
      }

      // Assess: one series per metric, holding all three runs, so increase() counts them.
      const isOurs = (sample: Sample) => sample.labels.vaultra_job === 'short-lived';
      const { samples } = await scrapedWhen((found) => found.some((sample) => isOurs(sample) && sample.name === METRICS.runs.prometheus && sample.value === 3));
      expect(samples.filter((sample) => isOurs(sample) && sample.name === METRICS.runs.prometheus).map((sample) => sample.value)).toEqual([3]);
      expect(samples.filter((sample) => isOurs(sample) && sample.name === `${METRICS.runDuration.prometheus}_count`).map((sample) => sample.value)).toEqual([3]);
      expect(samples.filter((sample) => isOurs(sample) && sample.name === `${METRICS.runDuration.prometheus}_sum`).map((sample) => sample.value)).toEqual([60]);
      expect(samples.find((sample) => isOurs(sample))!.labels.instance).toBeUndefined();
    });

    it('adds up two backups of the built CLI, each its own process, into one vaultra_runs_total series of 2', async () => {
      if (!requireTools('sqlite3', 'zstd')) return;
      // Prepare: a SQLite database, and per-process resource attributes that differ between the
      // two runs, as a platform that injects them would set: they must not split the job's series.
      const dir = await mkdtemp(join(tmpdir(), 'vaultra-otelcol-runs-'));
      const database = join(dir, 'app.db');
      await createSqliteFixture(database);
      const ws = makeWorkspace(dir, 'ws');
      const job = `delta-${randomUUID().slice(0, 8)}`;
      const backup = (run: number) =>
        runVaultra(['backup', `sqlite:${database}`, '--to', ws.storeUrl, '--job', job, '--json', '--no-progress'], {
          env: { ...ws.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.http}`, OTEL_TRACES_EXPORTER: 'none', OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${randomUUID()},process.pid=${1000 + run}` },
        });

      // Act
      const first = await backup(1);
      const second = await backup(2);
      await rm(dir, { recursive: true, force: true });

      // Assess: one series per metric for the job, holding both runs (cumulative, as increase() needs).
      expect(first.code, first.stderr).toBe(0);
      expect(second.code, second.stderr).toBe(0);
      const isOurs = (sample: Sample) => sample.labels.vaultra_job === job;
      const { samples } = await scrapedWhen((found) => found.some((sample) => isOurs(sample) && sample.name === METRICS.runs.prometheus && sample.value === 2));
      const runs = samples.filter((sample) => isOurs(sample) && sample.name === METRICS.runs.prometheus);
      expect(runs.map((sample) => sample.value)).toEqual([2]);
      expect(runs[0]!.labels).toMatchObject({ vaultra_run_kind: 'backup', vaultra_run_status: 'succeeded', job: 'vaultra' });
      expect(runs[0]!.labels.instance).toBeUndefined();
      expect(samples.filter((sample) => isOurs(sample) && sample.name === `${METRICS.runDuration.prometheus}_count`).map((sample) => sample.value)).toEqual([2]);
    }, 60_000);

    it("gives every metric of METRICS exactly its listed Prometheus name (counters' _total, units, histogram series)", async () => {
      // Prepare: one instrument per METRICS entry, as an SDK would declare it.
      const exporter = new OTLPMetricExporter({ url: `http://127.0.0.1:${ports.http}/v1/metrics` });
      const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'vaultra-runner' }), readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })] });
      const meter = provider.getMeter('naming-check');
      const attributes = { 'vaultra.job': 'naming-check', 'vaultra.environment': 'test' };
      for (const metric of Object.values(METRICS)) {
        const options = { unit: metric.unit, description: metric.description };
        if (metric.instrument === 'counter') meter.createCounter(metric.name, options).add(1, attributes);
        else if (metric.instrument === 'histogram') meter.createHistogram(metric.name, options).record(2, attributes);
        else meter.createGauge(metric.name, options).record(3, attributes);
      }

      // Act
      await provider.forceFlush();
      await provider.shutdown();
      const { samples } = await scrapedWhen((found) => found.filter((sample) => sample.labels.vaultra_job === 'naming-check').length >= Object.keys(METRICS).length);

      // Assess
      const served = new Set(samples.filter((sample) => sample.labels.vaultra_job === 'naming-check').map((sample) => sample.name));
      for (const metric of Object.values(METRICS)) {
        const names = metric.instrument === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => metric.prometheus + suffix) : [metric.prometheus];
        for (const name of names) expect([...served], `${metric.name} (${metric.unit})`).toContain(name);
      }
    });
  });
});
