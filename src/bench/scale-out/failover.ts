/**
 * Failover time (issue 15): from the SIGKILL of a gateway instance holding N clients to every client resumed on the
 * others, on real processes.
 *
 *   make build && node dist/bench/scale-out/failover.js                      # 1,000 clients, 3 gateways
 *   make build && node dist/bench/scale-out/failover.js --clients 10000      # 4 client processes
 *
 * One run per --clients value, each on fresh processes: a private redis-server, G gateways (`dist/cli.js gateway`,
 * instances g1..gG, each its own consumer group), the producer (`dist/cli.js producer`, --rate ticks/s round-robin
 * over --symbols, never trimmed), and K client processes (failover-clients.ts) holding the N SDK clients. Every client
 * is given the URL list [g1, survivors rotated by its index] (with 3 gateways: [g1, g2, g3] and [g1, g3, g2] in
 * turn), so all start on g1 and the next URL of each spreads them over the survivors. Once every client has frames of
 * all its symbols and g1 holds all N connections, a 2-second window of steady flow is measured, g1 is SIGKILLed and
 * the kill's time taken. A client is resumed at its first data frame of every one of its symbols on a connection
 * opened after the kill (test/helpers/failover.ts's measure); it is also timed at the ack of its resubscription (the
 * resume served, independent of when the next live tick comes).
 *
 * After every client resumed (or the deadline), the flow goes on for --settle-s, the producer stops, and each client
 * is checked against the stream itself (XRANGE): per symbol, every entry between its first and last delivered tick,
 * and the last one reached. A gap event, a duplicate dropped by the SDK, a RESUME_UNAVAILABLE, a missing tick, a
 * client not resumed within the deadline, a drop before the kill: each is printed loudly with samples and the
 * gateways' warnings, and the exit status is 1. Results: a Markdown row per run on stdout, and
 * bench-results/<time>-failover/ (results.json, results.md). Every process is stopped on every exit path
 * (children.ts's and private-redis.ts's exit hooks cover errors and signals).
 */
import { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { onLines } from '../../lines';
import { startPrivateRedis } from '../../demo/private-redis';
import { spawnNode, stopChild, whenServing } from '../children';
import { Helper, startHelper } from '../helpers';
import { machineInfo } from '../machine';
import { cpuPercent, readCpu } from '../proc-stats';
import { metricSum, scrapeMetrics } from '../prom';
import { untilReady } from '../systems';
import type { OpenResult, Status } from './failover-clients';
import { clientSpecs, FAILOVER_HELP, FailoverOptions, failoverOptions, generatorsFor } from './failover-options';
import { FailoverSummary, GeneratorReport, MARKDOWN_HEADER, markdownRow, Percentiles, problems, streamIndex, summarize } from './failover-report';

export class FailoverSetupError extends Error {
  readonly code = 'BENCH_FAILOVER_SETUP';
  constructor(message: string) {
    super(message);
    this.name = 'FailoverSetupError';
  }
}

const STREAM = 'ticks';
const OPEN_CONCURRENCY = 100;
const OPEN_TIMEOUT_MS = 60_000;
const RECEIVING_TIMEOUT_MS = 30_000;
const STEADY_MS = 2000;
const POLL_MS = 100;
/** How long the clients may take to deliver the stream's last entries once the producer stopped. */
const CATCH_UP_MS = 15_000;
const XRANGE_PAGE = 10_000;
const WARNINGS_KEPT = 30;
/** Live ticks later than this at p99 before the kill: the client processes are behind, and time the failover late. */
const HARNESS_LATE_MS = 100;

const log = (msg: string) => process.stderr.write(`failover: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Gateway {
  label: string;
  url: string;
  http: string;
  child: ChildProcess;
  /** Its last warning and error log lines (pino levels 40-60) and stderr: the evidence when a run goes wrong. */
  warnings: string[];
}

async function startGateway(o: FailoverOptions, redisUrl: string, label: string): Promise<Gateway> {
  const child = spawnNode(o.cli, ['gateway', '--port', '0', '--host', '127.0.0.1', '--redis', redisUrl, '--stream', STREAM,
    '--instance', label, '--max-connections-per-ip', '100000', ...o.gatewayArgs]);
  const warnings: string[] = [];
  const keep = (line: string) => {
    warnings.push(line);
    if (warnings.length > WARNINGS_KEPT) warnings.shift();
  };
  onLines(child.stdout!, (line) => /"level":[456]0/.test(line) && keep(line));
  onLines(child.stderr!, keep);
  const { port } = await whenServing(`gateway ${label}`, child);
  const http = `http://127.0.0.1:${port}`;
  await untilReady(http);
  return { label, url: `ws://127.0.0.1:${port}/v1/stream`, http, child, warnings };
}

function startProducer(o: FailoverOptions, redisUrl: string): { child: ChildProcess; output: string[] } {
  const child = spawnNode(o.cli, ['producer', '--redis', redisUrl, '--stream', STREAM, '--symbols', String(o.symbols),
    '--rate', String(o.rate), '--maxlen', '0', '--log-level', 'warn']);
  const output: string[] = [];
  const keep = (line: string) => output.length < WARNINGS_KEPT && output.push(line);
  onLines(child.stdout!, keep);
  onLines(child.stderr!, keep);
  return { child, output };
}

async function connectionsOpen(g: Gateway): Promise<number> {
  return metricSum(await scrapeMetrics(g.http), 'tickgate_connections_open');
}

/** A survivor's counters that explain a bad run: its connections, the errors it answered, slow-consumer steps. */
async function survivorMetrics(g: Gateway): Promise<Record<string, number>> {
  const text = await scrapeMetrics(g.http);
  const out: Record<string, number> = {
    connections: metricSum(text, 'tickgate_connections_open'),
    modeChanges: metricSum(text, 'tickgate_mode_changes_total'),
    slowConsumerCloses: metricSum(text, 'tickgate_slow_consumer_disconnects_total'),
  };
  for (const m of text.matchAll(/^tickgate_client_errors_total\{code="([^"]+)"\} (\S+)$/gm)) out[`error ${m[1]}`] = Number(m[2]);
  return out;
}

async function readStream(redisUrl: string): Promise<{ id: string; sym: string }[]> {
  const c = createClient({ url: redisUrl });
  c.on('error', (err: Error) => log(`redis: ${err.message}`));
  await c.connect();
  try {
    const entries: { id: string; sym: string }[] = [];
    for (let start = '-'; ;) {
      const page = await c.xRange(STREAM, start, '+', { COUNT: XRANGE_PAGE });
      for (const e of page) entries.push({ id: e.id, sym: e.message.sym });
      if (page.length < XRANGE_PAGE) return entries;
      start = `(${page[page.length - 1].id}`;
    }
  } finally {
    await c.quit();
  }
}

interface RunResult {
  clients: number;
  /**
   * Per client, ms from the kill: its gateway, closed, SDK backoff (a delay, not from the kill), reconnecting,
   * reopened, acked, resumed.
   */
  timeline: (string | number | null)[][];
  generators: number;
  openSeconds: number;
  killAt: string;
  summary: FailoverSummary;
  problems: string[];
  /** % of one core per process, in the steady window before the kill and from the kill until all resumed. */
  cpuPctBefore: Record<string, number>;
  cpuPctFailover: Record<string, number>;
  failoverWindowMs: number;
  /** Per client process, live ticks' latency (producer's ts → SDK) in the steady window: seconds = harness-bound. */
  steadyLatencyMs: (Percentiles | undefined)[];
  /** The client processes' longest event-loop delay in the failover window: how late they may have seen a frame. */
  clientLoopMaxMs: number;
  survivors: Record<string, Record<string, number>>;
  samples: GeneratorReport['samples'];
  gatewayWarnings: Record<string, string[]>;
  producerOutput: string[];
}

async function run(o: FailoverOptions, n: number): Promise<RunResult> {
  const k = generatorsFor(o, n);
  log(`${n} clients in ${k} processes, ${o.gateways} gateways, ${o.rate} ticks/s over ${o.symbols} symbols, ${o.symbolsPerClient} per client`);
  const redis = await startPrivateRedis();
  const gateways: Gateway[] = [];
  const generators: Helper[] = [];
  let producer: ReturnType<typeof startProducer> | undefined;
  try {
    gateways.push(...await Promise.all(Array.from({ length: o.gateways }, (_, i) => startGateway(o, redis.url, `g${i + 1}`))));
    const [dead, ...survivors] = gateways;
    producer = startProducer(o, redis.url);
    for (let i = 0; i < k; i++) generators.push(startHelper('scale-out/failover-clients.js', [], undefined));

    const specs = clientSpecs(n, gateways.map((g) => g.url), o.symbols, o.symbolsPerClient);
    const share = (i: number) => specs.slice(Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k));
    const openStart = performance.now();
    const opened = await Promise.all(generators.map((g, i) =>
      g.rpc.call<OpenResult>('open', { clients: share(i), concurrency: OPEN_CONCURRENCY, timeoutMs: OPEN_TIMEOUT_MS })));
    const openSeconds = (performance.now() - openStart) / 1000;
    const failed = opened.reduce((s, r) => s + r.failed, 0);
    if (failed > 0) throw new FailoverSetupError(`${failed} of ${n} clients did not subscribe: ${opened.find((r) => r.firstError)?.firstError}`);
    log(`${n} clients subscribed in ${openSeconds.toFixed(1)} s`);
    const receiving = (await Promise.all(generators.map((g) => g.rpc.call<number>('receiving', RECEIVING_TIMEOUT_MS)))).reduce((a, b) => a + b, 0);
    if (receiving < n) throw new FailoverSetupError(`${n - receiving} clients had no frame of some symbol ${RECEIVING_TIMEOUT_MS / 1000} s after subscribing`);
    const onDead = await connectionsOpen(dead);
    const onSurvivors = (await Promise.all(survivors.map(connectionsOpen))).reduce((a, b) => a + b, 0);
    if (onDead !== n || onSurvivors !== 0) throw new FailoverSetupError(`before the kill ${dead.label} holds ${onDead} connections and the others ${onSurvivors}; expected ${n} and 0`);
    if (producer.child.exitCode !== null) throw new FailoverSetupError(`the producer exited: ${producer.output.join('\n')}`);

    const pids: Record<string, number> = { redis: redis.child.pid! };
    for (const g of gateways) pids[g.label] = g.child.pid!;
    generators.forEach((g, i) => (pids[`clients${i + 1}`] = g.pid));
    await Promise.all(generators.map((g) => g.rpc.call('steady')));
    const steadyFrom = readCpu(pids);
    await sleep(STEADY_MS);
    const latency = await Promise.all(generators.map((g) => g.rpc.call<Percentiles | undefined>('arm')));
    const atKill = readCpu(pids);
    const killAt = Date.now();
    dead.child.kill('SIGKILL');
    log(`${dead.label} SIGKILLed`);

    let statuses: Status[];
    for (;;) {
      statuses = await Promise.all(generators.map((g) => g.rpc.call<Status>('status')));
      const resumed = statuses.reduce((s, st) => s + st.resumed, 0);
      if (resumed === n || Date.now() - killAt > o.deadlineMs) break;
      await sleep(POLL_MS);
    }
    const afterFailover = readCpu(Object.fromEntries(Object.entries(pids).filter(([name]) => name !== dead.label)));
    const failoverWindowMs = Date.now() - killAt;
    await sleep(o.settleMs);
    const survivorCounters: Record<string, Record<string, number>> = {};
    for (const g of survivors) survivorCounters[g.label] = await survivorMetrics(g);
    await stopChild(producer.child);
    const index = streamIndex(await readStream(redis.url));
    const last = Object.fromEntries([...index].map(([sym, s]) => [sym, s.last]));
    const reports = await Promise.all(generators.map((g) => g.rpc.call<GeneratorReport>('finish', { last, timeoutMs: CATCH_UP_MS })));
    const label = new Map(gateways.map((g) => [g.url, g.label]));
    const outcomes = reports.flatMap((r) => r.clients);
    const summary = summarize(outcomes, killAt, o.deadlineMs, index, (url) => label.get(url) ?? url);
    const since = (t: number | undefined) => (t === undefined ? null : t - killAt);
    const timeline = outcomes.map((c) => [label.get(c.url) ?? c.url, since(c.droppedAt), c.backoffMs === undefined ? null : Math.round(c.backoffMs),
      since(c.retriedAt), since(c.reopenedAt), since(c.answeredAt), since(c.resumedAt)]);
    const merge = (pick: (s: GeneratorReport['samples']) => string[]) => reports.flatMap((r) => pick(r.samples)).slice(0, 10);
    const round = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([p, v]) => [p, Math.round(v)]));
    return {
      clients: n, timeline, generators: k, openSeconds, killAt: new Date(killAt).toISOString(), summary, problems: problems(summary, o.deadlineMs),
      cpuPctBefore: round(cpuPercent(steadyFrom, atKill)), cpuPctFailover: round(cpuPercent(atKill, afterFailover)), failoverWindowMs,
      steadyLatencyMs: latency,
      clientLoopMaxMs: Math.max(...statuses.map((s) => s.loopMaxMs)),
      survivors: survivorCounters,
      samples: { gaps: merge((s) => s.gaps), unavailable: merge((s) => s.unavailable), errors: merge((s) => s.errors) },
      gatewayWarnings: Object.fromEntries(gateways.map((g) => [g.label, g.warnings])),
      producerOutput: producer.output,
    };
  } finally {
    for (const g of generators) await g.stop();
    if (producer) await stopChild(producer.child);
    await Promise.all(gateways.map((g) => stopChild(g.child)));
    await redis.stop();
  }
}

function details(o: FailoverOptions, r: RunResult): string {
  const s = r.summary;
  const p = (v: { p50: number; max: number } | undefined) => (v === undefined ? '–' : `p50 ${Math.round(v.p50)} ms, max ${Math.round(v.max)} ms`);
  const survivors = Object.keys(r.survivors);
  const lines = [
    `${r.clients} clients (${r.generators} processes) subscribed in ${r.openSeconds.toFixed(1)} s; failover window ${r.failoverWindowMs} ms`,
    `  from the kill: connection closed ${p(s.droppedMs)}; SDK backoff ${p(s.backoffMs)}; reconnecting ${p(s.retriedMs)}; reconnected ${p(s.reopenedMs)}; resume acked ${p(s.answeredMs)}; resumed ${p(s.resumedMs)}`,
    `  CPU % of a core, steady 2 s before the kill → kill to all resumed: ` +
      Object.keys(r.cpuPctBefore).map((k) => `${k} ${r.cpuPctBefore[k]} → ${r.cpuPctFailover[k] ?? 'killed'}`).join(', '),
    `  client processes: live tick latency (producer → SDK) before the kill ${r.steadyLatencyMs.map((l) => (l === undefined ? '–' : `p50 ${l.p50} / p99 ${l.p99} / max ${l.max} ms`)).join('; ')}; ` +
      `longest event-loop delay in the failover window ${r.clientLoopMaxMs.toFixed(0)} ms`,
    `  survivors: ${survivors.map((g) => `${g} ${JSON.stringify(r.survivors[g])}`).join('; ')}`,
    `  clients that reconnected more than once: ${s.reconnectedMoreThanOnce}; not caught up with the stream at the end: ${s.notCaughtUp}`,
  ];
  const late = r.steadyLatencyMs.filter((l) => l !== undefined && l.p99 > HARNESS_LATE_MS).length;
  if (late > 0) {
    lines.push(`  !!! HARNESS BEHIND: in ${late} of ${r.generators} client processes live ticks were > ${HARNESS_LATE_MS} ms late (p99) before the kill; ` +
      'the times above are theirs as much as the gateways\': lower --rate, or run on a quieter machine');
  }
  if (r.samples.errors.length > 0) lines.push(`  client errors (samples, expected: the killed connections): ${r.samples.errors.join(' | ')}`);
  if (r.problems.length > 0) {
    lines.push('', `!!! FAILOVER PROBLEMS (${r.clients} clients, deadline ${o.deadlineMs / 1000} s):`, ...r.problems.map((l) => `!!!   ${l}`));
    if (r.samples.gaps.length > 0) lines.push(`!!!   gap samples: ${r.samples.gaps.join(' | ')}`);
    if (r.samples.unavailable.length > 0) lines.push(`!!!   RESUME_UNAVAILABLE samples: ${r.samples.unavailable.join(' | ')}`);
    for (const [g, w] of Object.entries(r.gatewayWarnings)) if (w.length > 0) lines.push(`!!!   ${g} warnings:`, ...w.map((l) => `!!!     ${l}`));
    if (r.producerOutput.length > 0) lines.push('!!!   producer output:', ...r.producerOutput.map((l) => `!!!     ${l}`));
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const o = failoverOptions(argv);
  if (o === 'help') {
    process.stdout.write(FAILOVER_HELP);
    return 0;
  }
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  log(`${machine.cores} × ${machine.cpuModel}, node ${machine.node}, load average ${machine.loadAverage.join(' ')}`);
  const runs: RunResult[] = [];
  const rows: string[] = [];
  for (const n of o.clients) {
    const r = await run(o, n);
    runs.push(r);
    const survivorCpu = Object.fromEntries(Object.entries(r.cpuPctFailover).filter(([k]) => k in r.survivors));
    rows.push(markdownRow({ summary: r.summary, generators: r.generators, gateways: o.gateways, rate: o.rate, survivorCpuPct: survivorCpu }));
    process.stderr.write(details(o, r) + '\n');
  }
  const markdown = `${MARKDOWN_HEADER}\n${rows.join('\n')}\n`;
  process.stdout.write(markdown);
  const dir = join(o.out, `${startedAt.replace(/[:.]/g, '-')}-failover`);
  mkdirSync(dir, { recursive: true });
  const loadAverageAtEnd = machineInfo().loadAverage;
  // The per-client timelines go to a file of their own, one line per client: 10,000 of them would drown the rest.
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ startedAt, machine, loadAverageAtEnd, options: o, runs },
    (key, value: unknown) => (key === 'timeline' ? undefined : value), 2) + '\n');
  writeFileSync(join(dir, 'clients.jsonl'), runs.flatMap((r) => [
    JSON.stringify({ clients: r.clients, columns: ['gateway', 'closedMs', 'backoffMs', 'retriedMs', 'reopenedMs', 'ackedMs', 'resumedMs'] }),
    ...r.timeline.map((t) => JSON.stringify(t))]).join('\n') + '\n');
  writeFileSync(join(dir, 'results.md'), `Failover, ${machine.cores} × ${machine.cpuModel}, load average at the end ${loadAverageAtEnd.join(' ')}\n\n${markdown}`);
  log(`results in ${dir}`);
  const failed = runs.filter((r) => r.problems.length > 0).length;
  if (failed > 0) log(`!!! ${failed} of ${runs.length} runs had failover problems (above): exit status 1`);
  return failed > 0 ? 1 : 0;
}

// process.exit runs the exit hooks that kill every child and the private redis-server; the default signal action
// would skip them.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`failover: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
