/**
 * What the metrics cost (against its budget): the hot path's CPU per tick with live prom-client metrics against the
 * same path with no-op metrics, in one process and one run (ratios survive a noisy machine; absolute times do
 * not); and how long a /metrics scrape stalls a real gateway's event loop (scrape-stall.ts).
 *
 *   node dist/bench/metrics-cost.js [--ticks 2000000] [--connections 10000] [--scrapes 100] [--rate 0]
 */
import pino from 'pino';
import { Fanout, RawEntry } from '../ingest/fanout';
import { createMetrics, Metrics } from '../metrics/metrics';
import { PartitionedRegistry } from '../registry/partitioned-registry';
import { RandomWalk } from '../producer/random-walk';
import { FORMAT_NAMES, topicFor } from '../wire/formats';
import { encodeFrame, uncompressedFrameBytes } from '../wire/frame-encode';
import { measureScrapeStall } from './scrape-stall';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const TICKS = arg('ticks', 2_000_000);
const CONNECTIONS = arg('connections', 10_000);
const SCRAPES = arg('scrapes', 100);
const SCRAPE_RATE = arg('rate', 0);
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
    { publish: () => frames++, flush: () => undefined, announceLoss: () => undefined }, metrics, pino({ level: 'silent' }), 64);
  let ticks = 0;
  const start = process.cpuUsage();
  // Fresh ids each pass, so nothing is dropped as a re-delivery.
  for (let pass = 0; ticks < TICKS; pass++) {
    for (const read of data) {
      fanout.publishEntries('bench', read.map(([id, f]) => [`${pass}${id}`, f] as RawEntry));
      ticks += read.length;
    }
  }
  const cpu = process.cpuUsage(start);
  if (frames === 0) throw new Error('nothing was published');
  return (cpu.user + cpu.system) / ticks;
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
  const scrape = await measureScrapeStall({ connections: CONNECTIONS, scrapes: SCRAPES, rate: SCRAPE_RATE, loadgenThreads: 2 });
  const row = {
    ticksPerRun: TICKS,
    cpuUsPerTickMetricsOn: Number(median(on).toFixed(4)),
    cpuUsPerTickMetricsOff: Number(median(without).toFixed(4)),
    overheadPercent: Number((((median(on) - median(without)) / median(without)) * 100).toFixed(2)),
    scrape,
  };
  console.log('| metrics | CPU µs per tick (median of 5) | overhead |\n| --- | --- | --- |');
  console.log(`| on | ${row.cpuUsPerTickMetricsOn} | ${row.overheadPercent}% |\n| off (no-op) | ${row.cpuUsPerTickMetricsOff} | |`);
  console.log(`\n${scrape.scrapes} scrapes of a gateway with ${scrape.connections} connections and ${scrape.ticksPerSecond} ticks/s flowing; ` +
    `the first scrape: ${scrape.firstScrapeCpuMs} ms main-thread CPU, ${scrape.firstScrapeGapMs} ms gap\n`);
  console.log('| window | main-thread CPU ms, median / max | longest 1 ms timer gap, median / max | max gap, windows without a GC pause | windows with a GC pause (longest) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [label, g] of [['a scrape in flight', scrape.scrape], ['no scrape (same length)', scrape.quiet]] as const) {
    console.log(`| ${label} | ${g.cpuMsMedian} / ${g.cpuMsMax} | ${g.medianMs} / ${g.maxMs} | ${g.maxWithoutGcMs} | ${g.windowsWithGc} (${g.longestGcMs} ms) |`);
  }
  console.log(JSON.stringify(row));
}

// Exiting through process.exit runs the exit hooks that kill every child (redis-server, producer, load generators).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`metrics-cost: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
