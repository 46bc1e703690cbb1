/**
 * The Prometheus text exposition of gauge readings, read back by Prometheus's reference parser
 * (the Python client's `text_string_to_metric_families`, which scripts/setup-system.sh installs):
 * names, HELP/TYPE, label escaping and number spelling as a scraper sees them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { prometheusText } from '../../runner/prometheus-text.js';
import { prometheusLabelName as labelName } from '../../core/domain/prometheus-names.js';
import { METRICS } from '../../core/domain/telemetry-metrics.js';
import type { GaugeReading } from '../../core/usecases/job-freshness.js';
import { unmet } from '../support/requirements.js';

const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type, "help": family.documentation,
                "samples": [[s.name, s.labels, s.value] for s in family.samples]})
print(json.dumps(out))
`;

interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: [string, Record<string, string>, number | string][];
}

async function parsedByPrometheusClient(text: string): Promise<ParsedFamily[]> {
  const child = promisify(execFile)('python3', ['-c', PARSE]);
  child.child.stdin!.end(text);
  const { stdout } = await child;
  return JSON.parse(stdout.replace(/\bNaN\b/g, '"NaN"').replace(/-?Infinity\b/g, (inf) => `"${inf}"`)) as ParsedFamily[];
}

async function hasPrometheusClient(): Promise<boolean> {
  try {
    await promisify(execFile)('python3', ['-c', 'import prometheus_client']);
    return true;
  } catch {
    return false;
  }
}

const reading = (metric: GaugeReading['metric'], job: string, value: number, extra: Record<string, string> = {}): GaugeReading => ({
  metric,
  attributes: { 'vaultra.job': job, 'vaultra.environment': 'prod', ...extra },
  value,
});

describe('prometheusText', () => {
  it('groups samples by metric under one HELP and one TYPE line, labels named as the collector names them', () => {
    const text = prometheusText([
      reading(METRICS.lastSuccessAge, 'app', 3540, { 'db.system': 'postgresql' }),
      reading(METRICS.rpo, 'app', 7200, { 'db.system': 'postgresql' }),
      reading(METRICS.lastSuccessAge, 'shop', 60, { 'db.system': 'sqlite' }),
    ]);

    expect(text).toBe(
      [
        "# HELP vaultra_job_last_success_age_seconds Seconds since the job's last successful backup, from the catalog",
        '# TYPE vaultra_job_last_success_age_seconds gauge',
        'vaultra_job_last_success_age_seconds{vaultra_job="app",vaultra_environment="prod",db_system="postgresql"} 3540',
        'vaultra_job_last_success_age_seconds{vaultra_job="shop",vaultra_environment="prod",db_system="sqlite"} 60',
        "# HELP vaultra_job_rpo_seconds The job's recovery point objective",
        '# TYPE vaultra_job_rpo_seconds gauge',
        'vaultra_job_rpo_seconds{vaultra_job="app",vaultra_environment="prod",db_system="postgresql"} 7200',
        '',
      ].join('\n'),
    );
  });

  it('is empty with nothing to report (a textfile with no samples is valid)', () => {
    expect(prometheusText([])).toBe('');
  });

  it('makes label names of any attribute key', () => {
    expect([labelName('vaultra.job'), labelName('db.system'), labelName('a-b/c'), labelName('9lives')]).toEqual(['vaultra_job', 'db_system', 'a_b_c', 'key_9lives']);
  });

  describe("read back by Prometheus's reference parser", async () => {
    if (!(await hasPrometheusClient())) return unmet('the Python prometheus_client', "python3 -c 'import prometheus_client' failed: run scripts/setup-system.sh");

    it('keeps names, help, labels with quotes, backslashes and newlines, and odd numbers intact', async () => {
      // Prepare: a metric whose help needs escaping too, to prove the HELP line's escaping.
      const awkward = { ...METRICS.rpo, description: 'line one\nline two \\ backslash' };
      const readings = [
        reading(METRICS.lastSuccessAge, 'we"ird\\job\nname', 12.5),
        reading(awkward, 'app', Number.NaN),
        reading(METRICS.logArchiveLag, 'app', Number.POSITIVE_INFINITY),
      ];

      // Act
      const parsed = await parsedByPrometheusClient(prometheusText(readings));

      // Assess
      expect(parsed).toEqual([
        { name: 'vaultra_job_last_success_age_seconds', type: 'gauge', help: METRICS.lastSuccessAge.description, samples: [['vaultra_job_last_success_age_seconds', { vaultra_job: 'we"ird\\job\nname', vaultra_environment: 'prod' }, 12.5]] },
        { name: 'vaultra_job_rpo_seconds', type: 'gauge', help: 'line one\nline two \\ backslash', samples: [['vaultra_job_rpo_seconds', { vaultra_job: 'app', vaultra_environment: 'prod' }, 'NaN']] },
        { name: 'vaultra_job_log_archive_lag_seconds', type: 'gauge', help: METRICS.logArchiveLag.description, samples: [['vaultra_job_log_archive_lag_seconds', { vaultra_job: 'app', vaultra_environment: 'prod' }, 'Infinity']] },
      ]);
    });
  });
});
