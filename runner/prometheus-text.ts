import type { GaugeReading } from '../core/usecases/job-freshness.js';
import { prometheusLabelName } from '../core/domain/prometheus-names.js';

/**
 * Gauge readings in the Prometheus text exposition format (version 0.0.4, what node_exporter's
 * textfile collector and every scraper read): per metric one `# HELP` and one `# TYPE` line, then
 * its samples. Metric names are the `prometheus` names of METRICS; attribute keys become label
 * names the way the OpenTelemetry Collector's Prometheus exporter makes them (`vaultra.job` →
 * `vaultra_job`), so a query works the same against either source.
 *
 * Written here rather than with prom-client: three gauges need no registry, no global state and
 * none of its dependencies in the CLI bundle, and the format's only traps — escaping and number
 * spelling — are tested against Prometheus's own parser.
 */
export function prometheusText(readings: readonly GaugeReading[]): string {
  const families = new Map<string, GaugeReading[]>();
  for (const reading of readings) families.set(reading.metric.prometheus, [...(families.get(reading.metric.prometheus) ?? []), reading]);
  const lines: string[] = [];
  for (const [name, samples] of families) {
    lines.push(`# HELP ${name} ${escapeHelp(samples[0]!.metric.description)}`, `# TYPE ${name} gauge`);
    for (const sample of samples) lines.push(`${name}${labels(sample.attributes)} ${numberText(sample.value)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function labels(attributes: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(attributes).map(([key, value]) => `${prometheusLabelName(key)}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}
