/**
 * What the metrics cost (issue 5's budget): the hot path's CPU per tick with live prom-client metrics against the
 * same path with no-op metrics, in one process and one run (ratios survive a noisy machine; absolute times do
 * not); and how long the main thread is blocked by one /metrics scrape at a realistic size, which is the event
 * loop delay a scrape can cause.
 *
 *   node dist/bench/metrics-cost.js [--ticks 2000000] [--sessions 10000] [--topics 2000]
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Fanout, RawEntry } from '../ingest/fanout';
import { createMetrics, Metrics, aggregateMetrics } from '../metrics/metrics';
import { PartitionedRegistry } from '../registry/partitioned-registry';
import { RandomWalk } from '../producer/random-walk';
import { FORMAT_NAMES, topicFor } from '../wire/formats';
import { encodeFrame, uncompressedFrameBytes } from '../wire/frame-encode';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const TICKS = arg('ticks', 2_000_000);
const SESSIONS = arg('sessions', 10_000);
const TOPICS = arg('topics', 2_000);
const READ = 512;
const SYMBOLS = 100;

/** Every metric's methods replaced by no-ops: the "metrics off" baseline. */
function noopMetrics(real: Metrics): Metrics {
  const noop: object = new Proxy({}, { get: () => () => noop });
  return Object.fromEntries(Object.keys(real).map((k) => [k, k === 'registry' ? real.registry : noop])) as Metrics;
}

function reads(): RawEntry[][] {
  const walk = new RandomWalk(SYMBOLS, 7);
  const out: RawEntry[][] = [];
  let ms = 1_800_000_000_000;
  for (let r = 0; r < 200; r++) {
    out.push(Array.from({ length: READ }, (_, i) => [`${ms}-${i}`, walk.nextFields(ms)] as RawEntry));
    ms++;
  }
  return out;
}

/** CPU µs per tick through the hot path (parse, group, encode 4 formats, publish to a counting sink). */
function hotPath(metrics: Metrics, data: RawEntry[][]): number {
  const registry = new PartitionedRegistry(1, { topicCapacity: 1024, sessionCapacity: 16 });
  const p = registry.partition(0);
  p.openSession(1, 0, 0);
  for (const sym of new RandomWalk(SYMBOLS, 7).symbols) for (const f of FORMAT_NAMES) p.addSubscription(1, topicFor(f, sym));
  let frames = 0;
  const fanout = new Fanout(FORMAT_NAMES, encodeFrame, uncompressedFrameBytes, registry,
    { publish: () => frames++, flush: () => undefined }, metrics, pino({ level: 'silent' }), 64);
  let ticks = 0;
  const start = process.cpuUsage();
  // Fresh ids each pass, so nothing is dropped as a re-delivery.
  for (let pass = 0; ticks < TICKS; pass++) {
    for (const read of data) {
      fanout.publishEntries(read.map(([id, f]) => [`${pass}${id}`, f] as RawEntry), false);
      ticks += read.length;
    }
  }
  const cpu = process.cpuUsage(start);
  if (frames === 0) throw new Error('nothing was published');
  return (cpu.user + cpu.system) / ticks;
}

async function scrapeBlock(): Promise<{ maxMs: number; medianMs: number }> {
  const registry = new PartitionedRegistry(2, { topicCapacity: TOPICS, sessionCapacity: SESSIONS });
  const symbols = Array.from({ length: TOPICS / 4 }, (_, i) => `S${i}`);
  for (let s = 0; s < SESSIONS; s++) {
    const p = registry.partition(s % 2);
    p.openSession(s, s % 2, 0);
    for (let k = 0; k < 3; k++) p.addSubscription(s, topicFor(FORMAT_NAMES[(s + k) % 4], symbols[(s * 7 + k) % symbols.length]));
  }
  const main = createMetrics({ processMetrics: true, registryStats: () => registry.stats() });
  const workers = [createMetrics(), createMetrics()];
  for (const w of workers) for (const code of ['BAD_REQUEST', 'RATE_LIMITED', 'UNKNOWN_OP']) w.clientErrors.inc({ code });
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    // The workers' JSON is produced in their own threads; the main thread's share is its own collect + aggregate.
    const perWorker = await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()));
    const t0 = performance.now();
    main.refreshRegistryStats();
    const own = await main.registry.getMetricsAsJSON();
    await aggregateMetrics([own, ...perWorker]);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { maxMs: times[times.length - 1], medianMs: times[times.length >> 1] };
}

async function main(): Promise<void> {
  const data = reads();
  const real = createMetrics();
  const off = noopMetrics(real);
  // Interleaved, after a warm-up of each, so drift on a shared machine hits both alike.
  hotPath(real, data);
  hotPath(off, data);
  const on: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < 5; i++) {
    on.push(hotPath(real, data));
    without.push(hotPath(off, data));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const scrape = await scrapeBlock();
  const row = {
    ticksPerRun: TICKS,
    cpuUsPerTickMetricsOn: Number(median(on).toFixed(4)),
    cpuUsPerTickMetricsOff: Number(median(without).toFixed(4)),
    overheadPercent: Number((((median(on) - median(without)) / median(without)) * 100).toFixed(2)),
    scrapeMainThreadMsMedian: Number(scrape.medianMs.toFixed(2)),
    scrapeMainThreadMsMax: Number(scrape.maxMs.toFixed(2)),
    sessions: SESSIONS,
    topics: TOPICS,
  };
  console.log('| metrics | CPU µs per tick (median of 5) | overhead |\n| --- | --- | --- |');
  console.log(`| on | ${row.cpuUsPerTickMetricsOn} | ${row.overheadPercent}% |\n| off (no-op) | ${row.cpuUsPerTickMetricsOff} | |`);
  console.log(`\nscrape, main thread (${SESSIONS} sessions, ${TOPICS} topics, 2 workers): median ${row.scrapeMainThreadMsMedian} ms, max ${row.scrapeMainThreadMsMax} ms`);
  console.log(JSON.stringify(row));
}

void main();
