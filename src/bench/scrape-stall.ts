/**
 * How long one /metrics scrape stalls the gateway's main thread, measured on a real gateway: two uWS workers, N open
 * subscribed connections (each a descriptor, which the process metrics count), ticks flowing from Redis, and
 * Prometheus-style scrapes over HTTP.
 *
 * The gateway runs in this process so the stall can be observed from inside its event loop: a 1 ms
 * monitorEventLoopDelay histogram records the gap between timer ticks, and its maximum is an upper bound on the
 * longest time the loop was blocked (the gap includes the 1 ms period itself). Each scrape is paired with an equal
 * window without one, so what the scrape adds is told apart from the fan-out's own work. The HTTP client is in
 * this process too, which only makes the figure pessimistic.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayConfig } from '../config';
import { startPrivateRedis } from '../demo/private-redis';
import { startGateway } from '../gateway';
import { createLogger } from '../log';
import { startProducer } from './helpers';
import { IdleClients } from './memory';
import { untilReady } from './systems';
import type { ProduceResult } from './bench-producer';

export interface ScrapeStallOptions {
  connections: number;
  scrapes: number;
  /** Ticks per second the producer writes while scrapes run (over 100 symbols). */
  rate: number;
  loadgenThreads: number;
}

export interface ScrapeStallResult {
  connections: number;
  ticksPerSecond: number;
  scrapes: number;
  /** The longest timer gap while a scrape was in flight, per scrape: the first (cold), then median and maximum of all. */
  firstScrapeGapMs: number;
  scrapeGapMsMedian: number;
  scrapeGapMsMax: number;
  /** The same over equal windows without a scrape. */
  quietGapMsMedian: number;
  quietGapMsMax: number;
  /** Wall time of one scrape, request to last byte (the main thread is free for most of it). */
  scrapeWallMsMedian: number;
  metricsBytes: number;
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
    const gapDuring = async (fn: () => Promise<void>): Promise<number> => {
      gap.reset();
      gap.enable();
      await fn();
      gap.disable();
      return gap.max / 1e6;
    };
    // Enough ticks to outlast every scrape and quiet window.
    const seconds = Math.ceil((opts.scrapes * (2 * BETWEEN_SCRAPES_MS + 100)) / 1000) + 10;
    // Not awaited: stopping the producer at the end abandons it.
    producer.rpc.call<ProduceResult>('produce', { stream: STREAM, rate: opts.rate, count: opts.rate * seconds, symbols: SYMBOLS, maxlen: 100_000, pipeline: 64 })
      .catch(() => undefined);
    await sleep(1000);

    const scrapeGaps: number[] = [];
    const quietGaps: number[] = [];
    const walls: number[] = [];
    let metricsBytes = 0;
    for (let i = 0; i < opts.scrapes; i++) {
      let wall = 0;
      scrapeGaps.push(await gapDuring(async () => {
        const t0 = performance.now();
        const res = await fetch(`${http}/metrics`);
        metricsBytes = (await res.text()).length;
        wall = performance.now() - t0;
        if (res.status !== 200) throw new ScrapeStallSetupError(`/metrics answered ${res.status}`);
      }));
      walls.push(wall);
      quietGaps.push(await gapDuring(() => sleep(Math.max(wall, BETWEEN_SCRAPES_MS))));
      await sleep(BETWEEN_SCRAPES_MS);
    }
    return {
      connections: opened.opened,
      ticksPerSecond: opts.rate,
      scrapes: opts.scrapes,
      firstScrapeGapMs: round(scrapeGaps[0]),
      scrapeGapMsMedian: round(median(scrapeGaps)),
      scrapeGapMsMax: round(Math.max(...scrapeGaps)),
      quietGapMsMedian: round(median(quietGaps)),
      quietGapMsMax: round(Math.max(...quietGaps)),
      scrapeWallMsMedian: round(median(walls)),
      metricsBytes,
    };
  } finally {
    for (const step of cleanup) await step().catch((err: Error) => process.stderr.write(`scrape-stall: cleanup: ${err.message}\n`));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (x: number) => Number(x.toFixed(2));
