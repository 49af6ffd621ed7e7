/**
 * deploy/prometheus/alerts.yaml: a valid PrometheusRule whose expressions parse (Prometheus' own lezer grammar),
 * name only series that MetricsService exports, use label values that exist, agree with the configuration
 * defaults they depend on, and each have a runbook entry in the README.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { JobStatus } from '../../src/jobs/job.types.js';
import { readYamlDocuments, renderKustomization, type K8sObject } from './support/kustomize.js';
import { schemaErrors, unknownFieldErrors } from './support/schemas.js';
import { defaultOf, exportedMetricNames } from './support/app-facts.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const documents = readYamlDocuments(join(ROOT, 'deploy/prometheus/alerts.yaml')) as K8sObject[];
const rule = documents[0] as any;
const alerts: { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }[] =
  rule.spec.groups.flatMap((group: any) => group.rules);
const byName = (name: string) => alerts.find((a) => a.alert === name)!;

interface ParsedExpr {
  errors: number;
  metrics: string[];
  matchers: { metric: string; label: string; value: string }[];
}

/** Parses PromQL with Prometheus' grammar: syntax errors, metric names and `label="value"` matchers per selector. */
function parsePromQL(expr: string): ParsedExpr {
  const result: ParsedExpr = { errors: 0, metrics: [], matchers: [] };
  const tree = parser.parse(expr);
  tree.iterate({
    enter(node) {
      if (node.type.isError) result.errors++;
      if (node.name !== 'VectorSelector') return;
      const metricNode = node.node.getChild('Identifier');
      const metric = metricNode ? expr.slice(metricNode.from, metricNode.to) : '';
      if (metric) result.metrics.push(metric);
      const matchers = node.node.getChild('LabelMatchers');
      for (let m = matchers?.firstChild; m; m = m.nextSibling) {
        const name = m.getChild('LabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChild('StringLiteral');
        if (name && op && value && expr.slice(op.from, op.to) === '=') {
          result.matchers.push({ metric, label: expr.slice(name.from, name.to), value: JSON.parse(expr.slice(value.from, value.to)) });
        }
      }
    },
  });
  return result;
}

/** The values allowed in webhook_deliveries.status, read from the migration's CHECK constraint. */
function deliveryStatuses(): string[] {
  const sql = readFileSync(join(ROOT, 'migrations/1763790000000-initial-schema.ts'), 'utf8');
  const table = sql.slice(sql.indexOf('CREATE TABLE webhook_deliveries'));
  const check = /CHECK \(status IN \(([^)]*)\)\)/.exec(table);
  if (!check) throw new Error('webhook_deliveries status constraint not found');
  return check[1].split(',').map((s) => s.trim().replace(/^'|'$/g, ''));
}

const threshold = (expr: string) => Number(/>\s*([0-9.]+)/.exec(expr)![1]);

describe('Prometheus rules', () => {
  test('alerts.yaml is one valid PrometheusRule with no unknown fields', () => {
    expect(documents).toHaveLength(1);
    expect(rule).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    expect(schemaErrors(documents)).toEqual([]);
    expect(unknownFieldErrors(documents)).toEqual([]);
  });

  test('the rule is not part of the kustomization (it needs the Prometheus Operator CRD)', () => {
    expect(renderKustomization(join(ROOT, 'deploy/kubernetes/overlays/production')).filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
  });

  test('the alerts watch the signals of the post-mortems and of the service', () => {
    expect(alerts.map((a) => a.alert)).toEqual([
      'GenerationServiceNoLiveWorker',
      'GenerationServiceJobStuck',
      'GenerationServiceJobsWaitingWithoutBatch',
      'GenerationServiceJobsFailing',
      'GenerationServiceWebhookDeliveriesFailing',
      'GenerationServiceWebhookBacklog',
      'GenerationServiceHttp5xx',
      'GenerationServiceEventLoopLag',
    ]);
  });

  test.each(alerts.map((a) => [a.alert, a]))('%s parses and names only exported series and existing label values', (_name, alert) => {
    const parsed = parsePromQL(alert.expr);
    expect(parsed.errors).toBe(0);
    expect(parsed.metrics.length).toBeGreaterThan(0);
    const exported = exportedMetricNames();
    expect(parsed.metrics.filter((m) => !exported.has(m))).toEqual([]);
    const allowed: Record<string, string[]> = { gs_jobs: Object.values(JobStatus), gs_webhook_deliveries: deliveryStatuses() };
    for (const matcher of parsed.matchers) {
      if (matcher.label === 'status' && allowed[matcher.metric]) expect(allowed[matcher.metric]).toContain(matcher.value);
    }
  });

  test('the parser check is real: a broken expression and an unknown metric are caught', () => {
    expect(parsePromQL('sum(rate(gs_jobs[5m]) >').errors).toBeGreaterThan(0);
    expect(exportedMetricNames().has('gs_openai_errors_total')).toBe(false);
    expect(parsePromQL('max(gs_jobs{status="failed"}) > 1').matchers).toEqual([{ metric: 'gs_jobs', label: 'status', value: 'failed' }]);
  });

  test('every alert has a severity, a "for", a summary, a description and a runbook entry in the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const alert of alerts) {
      expect({ alert: alert.alert, severity: alert.labels.severity }).toEqual({
        alert: alert.alert,
        severity: expect.stringMatching(/^(critical|warning)$/),
      });
      expect(alert.for).toMatch(/^[0-9]+[smh]$/);
      expect(alert.annotations.summary).toBeTruthy();
      expect(alert.annotations.description).toBeTruthy();
      expect(alert.annotations.runbook).toBe(`README.md#${alert.alert.toLowerCase()}`);
      expect(readme).toMatch(new RegExp(`^#{3,5} ${alert.alert}$`, 'm'));
    }
  });

  test('thresholds agree with the configuration: heartbeat staleness, and stage deadlines for stuck jobs', () => {
    const noWorker = byName('GenerationServiceNoLiveWorker');
    expect(threshold(noWorker.expr)).toBe(defaultOf('HEARTBEAT_STALE_AFTER'));
    const configMap = renderKustomization(join(ROOT, 'deploy/kubernetes/base')).find((o) => o.kind === 'ConfigMap') as any;
    expect(Number(configMap.data.HEARTBEAT_STALE_AFTER)).toBe(threshold(noWorker.expr));
    const stuck = threshold(byName('GenerationServiceJobStuck').expr);
    expect(stuck).toBeGreaterThan(Number(defaultOf('VISION_STAGE_DEADLINE')) + Number(defaultOf('TRANSLATION_STAGE_DEADLINE')));
  });
});
