/**
 * docs/observability.md lists every metric and label Vaultra emits: its tables must say what
 * core/domain/telemetry-metrics.ts says, so the docs cannot drift from the names in use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRIC_ATTRIBUTE, METRICS } from '../../core/domain/telemetry-metrics.js';
import { prometheusLabelName } from '../../core/domain/prometheus-names.js';

const DOC = readFileSync(join(import.meta.dirname, '../../docs/observability.md'), 'utf8');

function section(name: string): string[] {
  const match = new RegExp(`<!-- ${name}:begin -->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(DOC);
  if (!match) throw new Error(`docs/observability.md has no ${name} section`);
  return match[1]!.trim().split('\n');
}

describe('docs/observability.md', () => {
  it('lists exactly the metrics of METRICS, with their names, type, unit and meaning', () => {
    const rows = Object.values(METRICS).map((metric) => `| \`${metric.prometheus}\` | \`${metric.name}\` | ${metric.instrument} | \`${metric.unit}\` | ${metric.description} |`);
    expect(section('metrics').slice(2)).toEqual(rows);
  });

  it('lists exactly the labels of METRIC_ATTRIBUTE, each with its attribute', () => {
    const listed = section('labels')
      .slice(2)
      .map((row) => /^\| `([^`]+)` \| `([^`]+)` \|/.exec(row)!.slice(1, 3));
    expect(listed).toEqual(Object.values(METRIC_ATTRIBUTE).map((attribute) => [prometheusLabelName(attribute), attribute]));
  });
});
