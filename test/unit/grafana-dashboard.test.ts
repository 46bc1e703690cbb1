/**
 * docs/observability/grafana-dashboard.json: that Grafana can load it, and that it queries only
 * metrics Vaultra emits.
 *
 * Grafana publishes its dashboard schema as CUE (kinds/dashboard), as the TypeScript types
 * generated from it (npm @grafana/schema, `raw/dashboard/x/types.gen.d.ts`) and as the Go types
 * of its Foundation SDK (github.com/grafana/grafana-foundation-sdk/go, generated from the same
 * schema, with strict decoding of every core panel's options and every data source's queries);
 * the JSON Schema rendering ships in no package reachable here. Two checks, then:
 * scripts/grafana-dashboard-check decodes the file with the Foundation SDK's strict decoder
 * (needs Go; unknown fields, wrong types and missing required fields fail), and the zod schema
 * below transcribes the TypeScript types (Grafana 13.2), strict where they are closed, and adds
 * what this dashboard promises (Prometheus targets, known core panels, a sane grid).
 *
 * Every PromQL expression is parsed with Prometheus's own grammar (@prometheus-io/lezer-promql)
 * after the Grafana variables are put in: a syntax error fails, and every metric name it selects
 * must be a `prometheus` name of METRICS (with `_bucket`/`_sum`/`_count` for histograms), every
 * label one of METRIC_ATTRIBUTE's (or `le`).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parser } from '@prometheus-io/lezer-promql';
import { METRIC_ATTRIBUTE, METRICS } from '../../core/domain/telemetry-metrics.js';
import { prometheusLabelName } from '../../core/domain/prometheus-names.js';
import { run } from '../support/exec.js';
import { requireTool } from '../support/requirements.js';

const DASHBOARD_PATH = join(import.meta.dirname, '../../docs/observability/grafana-dashboard.json');
const CHECKER = join(import.meta.dirname, '../../scripts/grafana-dashboard-check');

// ---- Grafana's dashboard types (@grafana/schema 13.2, raw/dashboard/x/types.gen.d.ts) as zod ----

const dataSourceRef = z.strictObject({ type: z.string().optional(), uid: z.string().optional() });
const gridPos = z.strictObject({ h: z.number().int().positive(), w: z.number().int().min(1).max(24), x: z.number().int().min(0).max(23), y: z.number().int().min(0), static: z.boolean().optional() });
const threshold = z.strictObject({ color: z.string(), value: z.number().nullable(), valueExpr: z.string().optional() });
const thresholdsConfig = z.strictObject({ mode: z.enum(['absolute', 'percentage']), steps: z.array(threshold).min(1) });
const matcherConfig = z.strictObject({ id: z.string(), options: z.unknown().optional(), scope: z.enum(['series', 'nested', 'annotation', 'exemplar']).optional() });
const fieldColor = z.strictObject({ mode: z.string(), fixedColor: z.string().optional(), seriesBy: z.enum(['min', 'max', 'last']).optional() });
const fieldConfig = z.strictObject({
  actions: z.array(z.unknown()).optional(),
  color: fieldColor.optional(),
  custom: z.record(z.string(), z.unknown()).optional(),
  decimals: z.number().optional(),
  description: z.string().optional(),
  displayName: z.string().optional(),
  displayNameFromDS: z.string().optional(),
  filterable: z.boolean().optional(),
  links: z.array(z.unknown()).optional(),
  mappings: z.array(z.unknown()).optional(),
  max: z.number().optional(),
  min: z.number().optional(),
  noValue: z.string().optional(),
  path: z.string().optional(),
  thresholds: thresholdsConfig.optional(),
  unit: z.string().optional(),
  writeable: z.boolean().optional(),
});
const fieldConfigSource = z.strictObject({
  defaults: fieldConfig,
  overrides: z.array(z.strictObject({ matcher: matcherConfig, properties: z.array(z.strictObject({ id: z.string(), value: z.unknown().optional() })) })),
});
/** Panel.targets is `Record<string, unknown>` in Grafana's types; these are the Prometheus query's fields the dashboard uses. */
const prometheusTarget = z.strictObject({
  refId: z.string().regex(/^[A-Z]$/),
  datasource: dataSourceRef,
  expr: z.string().min(1),
  legendFormat: z.string(),
  range: z.boolean(),
  instant: z.boolean(),
});
/** Grafana's core panel plugins this dashboard may use (Panel.type is a plugin id). */
const CORE_PANELS = ['stat', 'timeseries', 'bargauge', 'gauge', 'table', 'piechart', 'text'] as const;
const panel = z.strictObject({
  type: z.enum(CORE_PANELS),
  id: z.number().int().positive(),
  title: z.string().min(1),
  description: z.string().optional(),
  datasource: dataSourceRef.optional(),
  gridPos,
  targets: z.array(prometheusTarget).min(1),
  fieldConfig: fieldConfigSource,
  options: z.record(z.string(), z.unknown()),
  interval: z.string().optional(),
  maxDataPoints: z.number().optional(),
  transformations: z.array(z.strictObject({ id: z.string(), options: z.unknown(), disabled: z.boolean().optional() })).optional(),
});
const rowPanel = z.strictObject({ type: z.literal('row'), id: z.number().int().positive(), title: z.string().optional(), collapsed: z.boolean(), gridPos, panels: z.array(panel), datasource: dataSourceRef.optional(), repeat: z.string().optional() });
const variableOption = z.strictObject({ selected: z.boolean().optional(), text: z.union([z.string(), z.array(z.string())]), value: z.union([z.string(), z.array(z.string())]), properties: z.record(z.string(), z.string()).optional() });
const variableModel = z.strictObject({
  type: z.enum(['query', 'adhoc', 'groupby', 'constant', 'datasource', 'interval', 'textbox', 'custom', 'system', 'snapshot', 'switch']),
  name: z.string().regex(/^\w+$/),
  label: z.string().optional(),
  description: z.string().optional(),
  datasource: dataSourceRef.optional(),
  query: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  current: variableOption.optional(),
  options: z.array(variableOption).optional(),
  includeAll: z.boolean().optional(),
  allValue: z.string().optional(),
  multi: z.boolean().optional(),
  hide: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).optional(),
  refresh: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  regex: z.string().optional(),
  sort: z.number().int().min(0).max(8).optional(),
  skipUrlSync: z.boolean().optional(),
});
const annotationQuery = z.strictObject({
  builtIn: z.number().optional(),
  datasource: dataSourceRef,
  enable: z.boolean(),
  hide: z.boolean().optional(),
  iconColor: z.string(),
  name: z.string(),
  type: z.string().optional(),
});
const dashboardSchema = z.strictObject({
  uid: z.string().regex(/^[\w-]{1,40}$/),
  title: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string()).optional(),
  timezone: z.string().optional(),
  editable: z.boolean().optional(),
  graphTooltip: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  time: z.strictObject({ from: z.string(), to: z.string() }).optional(),
  timepicker: z.strictObject({ hidden: z.boolean().optional(), nowDelay: z.string().optional(), refresh_intervals: z.array(z.string()).optional() }).optional(),
  refresh: z.string().optional(),
  schemaVersion: z.number().int().min(36),
  version: z.number().int().optional(),
  fiscalYearStartMonth: z.number().int().min(0).max(11).optional(),
  liveNow: z.boolean().optional(),
  weekStart: z.string().optional(),
  links: z.array(z.unknown()).optional(),
  annotations: z.strictObject({ list: z.array(annotationQuery).optional() }).optional(),
  templating: z.strictObject({ list: z.array(variableModel).optional() }).optional(),
  panels: z.array(z.union([rowPanel, panel])),
});

type Dashboard = z.infer<typeof dashboardSchema>;
type Panel = z.infer<typeof panel>;

// ---- PromQL: metric and label names out of every expression ----

/** Grafana's built-in and dashboard variables, as values PromQL parses. */
function withVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\w+/g, 'x');
}

function selectedNames(expr: string): { metrics: string[]; labels: string[]; errors: number } {
  const text = withVariables(expr);
  const metrics: string[] = [];
  const labels: string[] = [];
  let errors = 0;
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) errors++;
      // A selector's metric name, and label names in matchers and in by/on/without/ignoring lists.
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metrics.push(text.slice(node.from, node.to));
      if (node.name === 'LabelName') labels.push(text.slice(node.from, node.to));
    },
  });
  return { metrics, labels, errors };
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];
const KNOWN_METRICS = new Set(Object.values(METRICS).flatMap((metric) => (metric.instrument === 'histogram' ? HISTOGRAM_SUFFIXES.map((suffix) => metric.prometheus + suffix) : [metric.prometheus])));
const KNOWN_LABELS = new Set([...Object.values(METRIC_ATTRIBUTE).map(prometheusLabelName), 'le']);

function panelsOf(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((entry) => (entry.type === 'row' ? (entry as z.infer<typeof rowPanel>).panels : [entry as Panel]));
}

describe('the Grafana dashboard', () => {
  const raw: unknown = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8'));

  it("matches Grafana's dashboard schema", () => {
    const result = dashboardSchema.safeParse(raw);
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it('lays panels out without overlap, with unique ids, and filters by the vaultra_job variable', () => {
    const dashboard = dashboardSchema.parse(raw);
    const boxes = dashboard.panels.map((entry) => ({ id: entry.id, ...entry.gridPos }));
    expect(new Set(boxes.map((box) => box.id)).size).toBe(boxes.length);
    for (const [i, a] of boxes.entries()) {
      expect(a.x + a.w, `panel ${a.id} is wider than the grid`).toBeLessThanOrEqual(24);
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `panels ${a.id} and ${b.id} overlap`).toBe(false);
      }
    }
    expect(dashboard.templating?.list?.map((variable) => variable.name)).toContain('vaultra_job');
    for (const target of panelsOf(dashboard).flatMap((p) => p.targets)) expect(target.expr).toContain('vaultra_job=~"$vaultra_job"');
  });

  it('queries only metrics and labels Vaultra emits, in PromQL that parses', () => {
    const dashboard = dashboardSchema.parse(raw);
    const used = new Set<string>();
    for (const p of panelsOf(dashboard)) {
      for (const target of p.targets) {
        const { metrics, labels, errors } = selectedNames(target.expr);
        expect(errors, `${p.title}: ${target.expr} does not parse`).toBe(0);
        expect(metrics.length, `${p.title}: ${target.expr} selects no metric`).toBeGreaterThan(0);
        for (const name of metrics) expect(KNOWN_METRICS, `${p.title}: ${name} is not in METRICS`).toContain(name);
        for (const name of labels) expect(KNOWN_LABELS, `${p.title}: label ${name} is not a METRIC_ATTRIBUTE`).toContain(name);
        for (const name of metrics) used.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    // Every metric Vaultra emits has a panel.
    expect([...used].sort()).toEqual(Object.values(METRICS).map((metric) => metric.prometheus).sort());
  });

  it('finds what it checks: an unknown metric, an unknown label and a syntax error are caught', () => {
    expect(selectedNames('rate(vaultra_runs_totl{vaultra_job=~"$vaultra_job"}[$__rate_interval])').metrics).toEqual(['vaultra_runs_totl']);
    expect(selectedNames('sum by (jobname) (vaultra_runs_total)').labels).toEqual(['jobname']);
    expect(selectedNames('sum by (vaultra_job (vaultra_runs_total)').errors).toBeGreaterThan(0);
  });

  describe("with Grafana's Foundation SDK (strict decoding, Go)", () => {
    const go = requireTool('go');
    if (!go) return;
    // The first run downloads the SDK from the Go module proxy and compiles it (about 2 minutes on a busy machine).
    const check = (path: string) => run(go, ['run', '.', path], { cwd: CHECKER, env: { ...process.env, GOTOOLCHAIN: 'local' }, timeoutMs: 600_000 });

    it('decodes strictly and validates', async () => {
      const result = await check(DASHBOARD_PATH);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/valid Grafana dashboard, \d+ panels/);
    }, 600_000);

    it('refuses an unknown field and a wrong type, naming where', async () => {
      const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as { panels: Record<string, unknown>[] };
      dashboard.panels[1]!.gridPoss = dashboard.panels[1]!.gridPos;
      delete dashboard.panels[1]!.gridPos;
      (dashboard.panels[2]!.options as Record<string, unknown>).colorMode = 7;
      const dir = await mkdtemp(join(tmpdir(), 'vaultra-dashboard-'));
      await writeFile(join(dir, 'broken.json'), JSON.stringify(dashboard));

      const result = await check(join(dir, 'broken.json'));
      await rm(dir, { recursive: true, force: true });

      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("panels[1].Panel: unexpected field 'gridPoss'");
      expect(result.stderr).toContain('panels[2].options.colorMode');
    }, 600_000);
  });
});
