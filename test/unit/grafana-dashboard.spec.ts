import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMetrics } from '../../src/metrics/metrics';
import {
  allPanels, bracketProblem, Dashboard, dashboardExpressions, dataPanels, GRAFANA_DIR, loadDashboard, metricNamesIn, TemplateVariable,
  variableExpression,
} from '../helpers/prometheus';

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Every series name the gateway exports, from the metric definitions themselves, with its kind. */
async function exportedSeries(processMetrics: boolean): Promise<Map<string, 'counter' | 'gauge' | 'histogram-series'>> {
  const { registry } = createMetrics({
    processMetrics,
    registryStats: async () => ({ sessions: 0, subscriptions: 0, activeTopics: 0, activeSymbols: 0, sessionsByWorker: [0], topicProbeSlots: 1 }),
  });
  const series = new Map<string, 'counter' | 'gauge' | 'histogram-series'>();
  for (const m of await registry.getMetricsAsJSON()) {
    const type = String(m.type) as MetricType;
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of type === 'histogram' ? ['_bucket', '_sum', '_count'] : ['_sum', '_count']) series.set(m.name + suffix, 'histogram-series');
      if (type === 'summary') series.set(m.name, 'gauge');
    } else {
      // prom-client counters are named with their `_total`, and exported under exactly that name.
      series.set(m.name, type === 'counter' ? 'counter' : 'gauge');
    }
  }
  return series;
}

describe('grafana dashboard (grafana/dashboards/tickgate.json)', () => {
  let dashboard: Dashboard;
  let exported: Map<string, 'counter' | 'gauge' | 'histogram-series'>;

  before(async () => {
    dashboard = loadDashboard();
    exported = await exportedSeries(true);
  });

  it('is a provisionable dashboard: uid "tickgate", a title, a recent schemaVersion, panels', () => {
    expect(dashboard.uid).to.equal('tickgate');
    expect(dashboard.title).to.be.a('string').with.length.above(0);
    expect(dashboard.schemaVersion).to.be.a('number').within(36, 41);
    expect(dashboard.panels).to.be.an('array').with.length.greaterThan(10);
  });

  it('places every panel on the 24-column grid, with unique ids and no overlap', () => {
    const ids = new Set<number>();
    const top = dashboard.panels ?? [];
    for (const p of allPanels(dashboard)) {
      expect(p.id, `panel "${p.title}" id`).to.be.a('number');
      expect(ids.has(p.id!), `duplicate panel id ${p.id}`).to.equal(false);
      ids.add(p.id!);
      const g = p.gridPos;
      expect(g, `panel "${p.title}" gridPos`).to.be.an('object');
      for (const k of ['x', 'y', 'w', 'h'] as const) expect(g![k], `panel "${p.title}" gridPos.${k}`).to.be.a('number').at.least(0);
      expect(g!.w, `panel "${p.title}" width`).to.be.greaterThan(0);
      expect(g!.x + g!.w, `panel "${p.title}" right edge`).to.be.at.most(24);
    }
    for (let i = 0; i < top.length; i++) {
      for (let j = i + 1; j < top.length; j++) {
        const a = top[i].gridPos!;
        const b = top[j].gridPos!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `panels "${top[i].title}" and "${top[j].title}" overlap`).to.equal(false);
      }
    }
  });

  it('gives every data panel at least one target with a PromQL expression', () => {
    const panels = dataPanels(dashboard);
    expect(panels.length).to.be.greaterThan(10);
    for (const p of panels) {
      expect(p.targets, `panel "${p.title}" has no targets`).to.be.an('array').with.length.above(0);
      const refIds = new Set<string>();
      for (const t of p.targets!) {
        expect(t.expr, `panel "${p.title}" [${t.refId}] expr`).to.be.a('string').and.match(/\S/);
        expect(refIds.has(t.refId!), `panel "${p.title}" repeats refId ${t.refId}`).to.equal(false);
        refIds.add(t.refId!);
      }
    }
  });

  it('reads its datasource from the $DS_PROMETHEUS variable, which defaults to the provisioned uid "prometheus"', () => {
    const ds = dashboard.templating?.list?.find((v) => v.name === 'DS_PROMETHEUS') as
      ({ type: string; query: string; current?: { value?: string } } | undefined);
    expect(ds, 'a DS_PROMETHEUS template variable').to.not.equal(undefined);
    expect(ds!.type).to.equal('datasource');
    expect(ds!.query).to.equal('prometheus');
    expect(ds!.current?.value).to.equal('prometheus');
    for (const p of dataPanels(dashboard)) {
      expect(p.datasource, `panel "${p.title}" datasource`).to.deep.equal({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      for (const t of p.targets ?? []) {
        if (t.datasource) expect(t.datasource, `panel "${p.title}" [${t.refId}] datasource`).to.deep.equal(p.datasource);
      }
    }
  });

  it('selects gateways with a multi-value $instance variable (All included) over the instance label of the series', () => {
    const v = dashboard.templating?.list?.find((t) => t.name === 'instance') as (TemplateVariable & { multi?: boolean }) | undefined;
    expect(v, 'an instance template variable').to.not.equal(undefined);
    expect(v).to.include({ type: 'query', multi: true, includeAll: true, allValue: '.*' });
    expect(variableExpression(v!)).to.match(/^group by \(instance\) \(tickgate_[a-z_]+\{job=~"\$job"\}\)$/);
  });

  it('filters every metric of every panel by $job and $instance, so several gateways can be shown or picked', () => {
    for (const p of dataPanels(dashboard)) {
      for (const t of p.targets ?? []) {
        for (const m of (t.expr ?? '').matchAll(/(tickgate_[a-z0-9_]+)(\{[^}]*\})?/g)) {
          expect(m[2], `panel "${p.title}" [${t.refId}]: ${m[1]}`).to.equal('{job=~"$job", instance=~"$instance"}');
        }
      }
    }
  });

  it('queries only metrics the gateway exports (names from src/metrics/metrics.ts)', () => {
    const unknown: string[] = [];
    for (const { where, expr } of dashboardExpressions(dashboard)) {
      const names = metricNamesIn(expr);
      expect(names, `${where} names no tickgate metric: ${expr}`).to.have.length.above(0);
      for (const name of names) if (!exported.has(name)) unknown.push(`${where}: ${name}`);
    }
    expect(unknown, `not exported by the gateway:\n${unknown.join('\n')}`).to.deep.equal([]);
  });

  it('has balanced brackets and quotes in every expression', () => {
    for (const { where, expr } of dashboardExpressions(dashboard)) {
      expect(bracketProblem(expr), `${where}: ${expr}`).to.equal(undefined);
    }
  });

  it('uses $__rate_interval for every rate/increase window', () => {
    for (const { where, expr } of dashboardExpressions(dashboard)) {
      for (const m of expr.matchAll(/\b(?:rate|irate|increase)\(([^()]*)\)/g)) {
        expect(m[1], `${where}: ${m[0]}`).to.match(/\[\$__rate_interval\]$/);
      }
    }
  });

  it('takes the rate of counters and histogram series, and never of a gauge', () => {
    for (const { where, expr } of dashboardExpressions(dashboard)) {
      for (const m of expr.matchAll(/tickgate_[a-z0-9_]+/g)) {
        const kind = exported.get(m[0]);
        const inRate = /\b(?:rate|irate|increase)\(\s*$/.test(expr.slice(0, m.index));
        if (kind === 'counter' || kind === 'histogram-series') expect(inRate, `${where}: ${m[0]} is a ${kind}; wrap it in rate()`).to.equal(true);
        if (kind === 'gauge') expect(inRate, `${where}: ${m[0]} is a gauge; rate() of it is meaningless`).to.equal(false);
      }
    }
  });

  it('aggregates histogram buckets by le before histogram_quantile', () => {
    let quantiles = 0;
    for (const { where, expr } of dashboardExpressions(dashboard)) {
      for (const m of expr.matchAll(/histogram_quantile\(\s*0?\.\d+\s*,\s*sum by \(([^)]*)\) \(rate\((tickgate_[a-z0-9_]+)/g)) {
        quantiles++;
        expect(m[1].split(',').map((s) => s.trim()), `${where}: ${m[0]}`).to.include('le');
        expect(m[2], `${where}`).to.match(/_bucket$/);
      }
      const calls = (expr.match(/histogram_quantile\(/g) ?? []).length;
      const checked = [...expr.matchAll(/histogram_quantile\(\s*0?\.\d+\s*,\s*sum by \(/g)].length;
      expect(checked, `${where}: histogram_quantile over something other than sum by (le, ...) (rate(..._bucket))`).to.equal(calls);
    }
    expect(quantiles).to.be.greaterThan(0);
  });

  it('has a panel for every metric tickgate itself defines', async () => {
    const own = await exportedSeries(false);
    const used = new Set(dashboardExpressions(dashboard).flatMap(({ expr }) => metricNamesIn(expr)));
    const missing = [...own.keys()].filter((name) => {
      if (used.has(name)) return false;
      // A histogram is covered when any of its series is queried.
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return own.get(name) !== 'histogram-series' || !['_bucket', '_sum', '_count'].some((s) => used.has(base + s));
    });
    expect(missing, `metrics with no panel: ${missing.join(', ')}`).to.deep.equal([]);
  });

  it('covers the resources panels: CPU, RSS, event-loop lag, heap, GC', () => {
    const used = new Set(dashboardExpressions(dashboard).flatMap(({ expr }) => metricNamesIn(expr)));
    for (const name of ['tickgate_process_cpu_seconds_total', 'tickgate_process_resident_memory_bytes', 'tickgate_nodejs_eventloop_lag_seconds',
      'tickgate_nodejs_heap_size_used_bytes', 'tickgate_nodejs_gc_duration_seconds_sum']) {
      expect(used.has(name), name).to.equal(true);
    }
  });
});

describe('grafana provisioning and scrape config', () => {
  const read = (...p: string[]) => readFileSync(join(GRAFANA_DIR, ...p), 'utf8');

  it('provisions a Prometheus datasource with uid "prometheus" at http://localhost:9090', () => {
    const y = read('provisioning', 'datasources', 'prometheus.yaml');
    expect(y).to.match(/^apiVersion: 1$/m);
    expect(y).to.match(/^datasources:$/m);
    expect(y).to.match(/^\s+type: prometheus$/m);
    expect(y).to.match(/^\s+uid: prometheus$/m);
    expect(y).to.match(/^\s+url: http:\/\/localhost:9090$/m);
  });

  it('provisions dashboards from a file path, and says which folder to mount there', () => {
    const y = read('provisioning', 'dashboards', 'tickgate.yaml');
    expect(y).to.match(/^apiVersion: 1$/m);
    expect(y).to.match(/^providers:$/m);
    expect(y).to.match(/^\s+type: file$/m);
    const path = /^\s+path: (\S+)$/m.exec(y);
    expect(path, 'options.path').to.not.equal(null);
    expect(y, 'a comment naming the folder to mount at the path').to.include(`grafana/dashboards:${path![1]}`);
  });

  it('has an example scrape config: job tickgate, localhost:9001, every 5 s, keeping the gateway\'s instance label', () => {
    const y = read('prometheus.yml');
    expect(y).to.match(/^\s+- job_name: tickgate$/m);
    // Without it, Prometheus renames the gateway's instance label exported_instance (the dashboard selects on it).
    expect(y).to.match(/^\s+honor_labels: true$/m);
    expect(y).to.match(/^\s+- localhost:9001$/m);
    expect(y).to.match(/^\s+scrape_interval: 5s$/m);
  });
});
