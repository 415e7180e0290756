/**
 * How long one /metrics scrape stalls the gateway's main thread, measured on a real gateway: two uWS workers, N open
 * subscribed connections (each a descriptor, which the process metrics count), ticks flowing from Redis, and
 * Prometheus-style scrapes over HTTP.
 *
 * The gateway runs in this process so the stall can be observed from inside its event loop, two ways. The main
 * thread's CPU time over the scrape (schedstat) bounds the longest block from above: a block is CPU the thread
 * spent, whatever else the machine did. And a 1 ms
 * monitorEventLoopDelay histogram records the gap between timer ticks, and its maximum is an upper bound on the
 * longest time the loop was blocked (the gap includes the 1 ms period itself, and any time the OS ran something else
 * on the core). Each scrape is paired with a window of the same length without one, so what the scrape adds is told
 * apart from what the process and the machine do anyway, and the windows a garbage-collection pause fell into are
 * counted apart, since a pause of the whole heap is not the code that happened to be running. The HTTP client is in
 * this process too, which only makes the figure pessimistic.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayConfig } from '../config';
import { startPrivateRedis } from '../demo/private-redis';
import { startGateway } from '../gateway';
import { createLogger } from '../log';
import { startProducer } from './helpers';
import { IdleClients } from './memory';
import { threadCpuMs } from './proc-stats';
import { untilReady } from './systems';
import type { ProduceResult } from './bench-producer';

export interface ScrapeStallOptions {
  connections: number;
  scrapes: number;
  /** Ticks per second the producer writes while scrapes run (over 100 symbols). */
  rate: number;
  loadgenThreads: number;
}

/** The windows of one kind: the longest timer gap in each, and whether a garbage-collection pause fell inside it. */
export interface GapSummary {
  /** The main thread's CPU time per window: the longest block cannot exceed it, whatever the OS did meanwhile. */
  cpuMsMedian: number;
  cpuMsMax: number;
  medianMs: number;
  maxMs: number;
  /** The longest gap among the windows with no GC pause in them: what the code itself blocked. */
  maxWithoutGcMs: number;
  windowsWithGc: number;
  longestGcMs: number;
}

export interface ScrapeStallResult {
  connections: number;
  ticksPerSecond: number;
  scrapes: number;
  /** The first scrape's main-thread CPU and gap: cold code, and the first listing of every descriptor. */
  firstScrapeCpuMs: number;
  firstScrapeGapMs: number;
  /** Windows with a scrape in flight. */
  scrape: GapSummary;
  /** Windows of the same length right after each scrape, without one. */
  quiet: GapSummary;
  /** Wall time of one scrape, request to last byte (the main thread is free for most of it). */
  scrapeWallMsMedian: number;
  metricsBytes: number;
}

interface Window {
  gapMs: number;
  /** The main thread's CPU time in the window: every slice of work it ran there, together. */
  cpuMs: number;
  gcMs: number;
}

const STREAM = 'bench:scrape';
const SYMBOLS = 100;
const BETWEEN_SCRAPES_MS = 50;

export class ScrapeStallSetupError extends Error {
  readonly code = 'BENCH_SCRAPE_SETUP_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ScrapeStallSetupError';
  }
}

export async function measureScrapeStall(opts: ScrapeStallOptions): Promise<ScrapeStallResult> {
  const redis = await startPrivateRedis();
  const producer = startProducer(redis.url, undefined);
  // Run last-in first: clients, gateway, producer, redis.
  const cleanup: (() => Promise<unknown>)[] = [() => producer.stop(), () => redis.stop()];
  try {
    const gateway = await startGateway(gatewayConfig(['--port', '0', '--host', '127.0.0.1', '--redis', redis.url, '--stream', STREAM,
      '--workers', '2', '--max-connections-per-ip', '10000000'], {}), createLogger('warn'));
    cleanup.unshift(() => gateway.stop());
    const http = `http://127.0.0.1:${gateway.port}`;
    await untilReady(http);
    const idle = new IdleClients('tickgate', `ws://127.0.0.1:${gateway.port}`, process.pid, opts.connections, opts.loadgenThreads, undefined);
    cleanup.unshift(() => idle.close());
    const opened = await idle.open();
    if (opened.failed > 0) throw new ScrapeStallSetupError(`${opened.failed} of ${idle.attempted} connections failed: ${opened.firstError}`);

    const gap = monitorEventLoopDelay({ resolution: 1 });
    const gcs: { start: number; end: number }[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    cleanup.unshift(async () => gcObserver.disconnect());
    const measure = async (fn: () => Promise<void>): Promise<Window> => {
      gap.reset();
      gap.enable();
      const cpu0 = threadCpuMs(process.pid);
      const start = performance.now();
      await fn();
      const end = performance.now();
      const cpuMs = threadCpuMs(process.pid) - cpu0;
      gap.disable();
      // GC entries are delivered after the pause: give the observer a turn before reading them.
      await sleep(0);
      const inside = gcs.filter((g) => g.start < end && g.end > start);
      return { gapMs: gap.max / 1e6, cpuMs, gcMs: Math.max(0, ...inside.map((g) => g.end - g.start)) };
    };
    // Enough ticks to outlast every scrape and quiet window.
    const seconds = Math.ceil((opts.scrapes * (2 * BETWEEN_SCRAPES_MS + 100)) / 1000) + 10;
    // Not awaited: stopping the producer at the end abandons it.
    producer.rpc.call<ProduceResult>('produce', { stream: STREAM, rate: opts.rate, count: opts.rate * seconds, symbols: SYMBOLS, maxlen: 100_000, pipeline: 64 })
      .catch(() => undefined);
    await sleep(1000);

    const scrapes: Window[] = [];
    const quiet: Window[] = [];
    const walls: number[] = [];
    let metricsBytes = 0;
    for (let i = 0; i < opts.scrapes; i++) {
      let wall = 0;
      scrapes.push(await measure(async () => {
        const t0 = performance.now();
        const res = await fetch(`${http}/metrics`);
        metricsBytes = (await res.text()).length;
        wall = performance.now() - t0;
        if (res.status !== 200) throw new ScrapeStallSetupError(`/metrics answered ${res.status}`);
      }));
      walls.push(wall);
      quiet.push(await measure(() => sleep(wall)));
      await sleep(BETWEEN_SCRAPES_MS);
    }
    return {
      connections: opened.opened,
      ticksPerSecond: opts.rate,
      scrapes: opts.scrapes,
      firstScrapeCpuMs: round(scrapes[0].cpuMs),
      firstScrapeGapMs: round(scrapes[0].gapMs),
      scrape: summarize(scrapes),
      quiet: summarize(quiet),
      scrapeWallMsMedian: round(median(walls)),
      metricsBytes,
    };
  } finally {
    for (const step of cleanup) await step().catch((err: Error) => process.stderr.write(`scrape-stall: cleanup: ${err.message}\n`));
  }
}

function summarize(windows: Window[]): GapSummary {
  const gaps = windows.map((w) => w.gapMs);
  const withGc = windows.filter((w) => w.gcMs > 0);
  const cpu = windows.map((w) => w.cpuMs);
  return {
    cpuMsMedian: round(median(cpu)),
    cpuMsMax: round(Math.max(...cpu)),
    medianMs: round(median(gaps)),
    maxMs: round(Math.max(...gaps)),
    maxWithoutGcMs: round(Math.max(0, ...windows.filter((w) => w.gcMs === 0).map((w) => w.gapMs))),
    windowsWithGc: withGc.length,
    longestGcMs: round(Math.max(0, ...withGc.map((w) => w.gcMs))),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (x: number) => Number(x.toFixed(2));
