/**
 * The Grafana dashboard as data (its panels and every PromQL expression in it), and a real Prometheus server for
 * the integration test that runs each of those expressions against a live gateway.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/net';
import { repoRoot } from './gateway';
import { track } from './processes';

export const GRAFANA_DIR = join(repoRoot(), 'grafana');
export const DASHBOARD_PATH = join(GRAFANA_DIR, 'dashboards', 'tickgate.json');

export interface GridPos { x: number; y: number; w: number; h: number }
export interface Target { refId?: string; expr?: string; legendFormat?: string; datasource?: { type?: string; uid?: string } }
export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: GridPos;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  collapsed?: boolean;
}
export interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  allValue?: string;
  includeAll?: boolean;
}
export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: TemplateVariable[] };
}

export function loadDashboard(path = DASHBOARD_PATH): Dashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}

/** Every panel, rows included, with the panels of collapsed rows (which Grafana nests inside the row). */
export function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    out.push(p);
    if (p.type === 'row') out.push(...(p.panels ?? []));
  }
  return out;
}

/** The panels that show data: everything but rows. */
export function dataPanels(d: Dashboard): Panel[] {
  return allPanels(d).filter((p) => p.type !== 'row');
}

export interface PanelExpression {
  /** "panel title [refId]" or "variable $name", for messages. */
  where: string;
  expr: string;
}

/** The query a `label_values(metric{...}, label)` variable runs, as an instant-query-able expression. */
export function variableExpression(v: TemplateVariable): string | undefined {
  if (v.type !== 'query') return undefined;
  const q = typeof v.query === 'string' ? v.query : v.query?.query;
  if (!q) return undefined;
  const m = /^\s*label_values\(\s*(.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(q);
  return m ? `group by (${m[2]}) (${m[1]})` : q;
}

/** Every PromQL expression in the dashboard: each panel target's, and each query variable's. */
export function dashboardExpressions(d: Dashboard): PanelExpression[] {
  const out: PanelExpression[] = [];
  for (const p of dataPanels(d)) {
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" [${t.refId}]`, expr: t.expr ?? '' });
  }
  for (const v of d.templating?.list ?? []) {
    const expr = variableExpression(v);
    if (expr !== undefined) out.push({ where: `variable $${v.name}`, expr });
  }
  return out;
}

/**
 * Replaces Grafana's built-in interval variables and the dashboard's template variables the way Grafana would before
 * sending the query. `values` gives a template variable's value; a variable with includeAll defaults to its allValue.
 */
export function substituteVariables(expr: string, d: Dashboard, values: Record<string, string> = {}): string {
  const builtins: Record<string, string> = { __rate_interval: '15s', __interval: '5s', __range: '1m', __range_s: '60', __interval_ms: '5000' };
  const vars: Record<string, string> = { ...builtins };
  for (const v of d.templating?.list ?? []) {
    if (v.includeAll && v.allValue !== undefined) vars[v.name] = v.allValue;
  }
  Object.assign(vars, values);
  return expr.replace(/\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (!(name in vars)) throw new Error(`no value for variable ${whole} in ${expr}`);
    return vars[name];
  });
}

/** Names of the metrics an expression reads. */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/tickgate_[a-z0-9_]+/g) ?? [])];
}

/** A problem with the expression's brackets or quotes, or undefined: a superficial parse, Prometheus does the rest. */
export function bracketProblem(expr: string): string | undefined {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = expr.indexOf(ch, i + 1);
      if (end < 0) return `unterminated string at ${i}`;
      i = end;
    } else if (ch === '(' || ch === '[' || ch === '{') {
      stack.push(ch);
    } else if (ch in pairs) {
      if (stack.pop() !== pairs[ch]) return `unbalanced "${ch}" at ${i}`;
    }
  }
  return stack.length ? `unclosed "${stack[stack.length - 1]}"` : undefined;
}

export const PROMETHEUS = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';

export interface PrometheusServer {
  url: string;
  child: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

/** Starts Prometheus on a free loopback port with `config` and a throw-away TSDB; resolves once /-/ready answers 200. */
export async function startPrometheus(config: string, readyTimeoutMs = 30_000): Promise<PrometheusServer> {
  if (!existsSync(PROMETHEUS)) {
    throw new Error(`Prometheus not found at ${PROMETHEUS}: install it (Debian/Ubuntu: \`apt-get install prometheus\`) or set PROMETHEUS_PATH`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tickgate-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const port = await freePort('127.0.0.1');
  const child = track(spawn(PROMETHEUS, [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--storage.tsdb.retention.time=1h'],
  { stdio: ['ignore', 'pipe', 'pipe'] }));
  const logs: string[] = [];
  child.stdout!.on('data', (b: Buffer) => logs.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= (async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  })());
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logs.join('')}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within ${readyTimeoutMs} ms:\n${logs.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child, logs, stop };
}

export interface QueryResult {
  status: string;
  error?: string;
  errorType?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** An instant query through Prometheus's HTTP API (POST, so long expressions need no URL length care). */
export async function promQuery(url: string, expr: string): Promise<QueryResult> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }).toString(),
  });
  return (await res.json()) as QueryResult;
}
