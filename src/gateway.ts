/**
 * The gateway process. The main thread owns ingest: one consumer-group reader and the fan-out that encodes each
 * batch once per format, with its rate tiers; with --delay-s, the delayed tier (a feed tapped into the reader's sink,
 * its own fan-out, rate tiers and catch-up); N worker threads each run a uWS App on the same port and publish the frames to their
 * clients. This module wires them and owns the shutdown order: drain (/readyz 503, stop accepting, clients closed
 * with 4007 as they drain, while ingest still runs) → stop reading, publish and ack what was read → close every
 * worker (those still there after --drain-timeout-ms are closed with 4007 too) → close Redis.
 */
import { ConfigError, GatewayConfig, redisUrls, serverThreads, streamKeys } from './config';
import { createLogger, Logger } from './log';
import { createMetrics } from './metrics/metrics';
import { PartitionedRegistry } from './registry/partitioned-registry';
import { WorkerPool } from './server/worker-pool';
import { Fanout } from './ingest/fanout';
import { StreamReader } from './ingest/reader';
import { StreamReaders } from './ingest/readers';
import { ReadPacer } from './ingest/read-pacer';
import { startLagSampler } from './ingest/lag-sampler';
import { Catchup, CatchupOptions } from './ingest/catchup';
import { RateTiers } from './ingest/rate-tiers';
import { DelayedFeed, tapDelayed } from './ingest/delayed-feed';
import type { EntrySink } from './ingest/reader';
import { tierAt } from './protocol/tiers';
import { startMetricsServer } from './server/metrics-server';
import { controlFor, openEndpoints } from './redis/endpoints';
import { keyOf } from './streams/shards';
import { CLOSES } from './protocol/codes';
import { createAuthenticator } from './server/auth';
import { authOptions } from './server/auth-options';
import { FORMAT_NAMES } from './wire/formats';
import { encodeFrame, uncompressedFrameBytes } from './wire/frame-encode';
import { loadUws } from './server/uws';

export interface RunningGateway {
  port: number;
  stop(): Promise<void>;
  /**
   * For a stop that missed its deadline (Redis frozen mid-read, say): closes the worker threads and their clients
   * (1001) at once, whatever ingest is doing, so the process can exit. A thread that exits while uWS still holds
   * sockets aborts Node with a native assertion instead.
   */
  abort(): Promise<void>;
  /** Restarts the worker threads one after another (SIGUSR2). */
  recycleWorkers(): void;
}

export async function startGateway(cfg: GatewayConfig, log: Logger = createLogger(cfg.logLevel)): Promise<RunningGateway> {
  // The workers load the addon too, but a worker that fails to is only "exited before listening": load it here
  // first, so a platform without it fails with NativeAddonError (exit 3) and the message that says what to do.
  loadUws();
  // Fails here, at startup, for a short secret or an unreadable or unsupported key, rather than in every worker.
  let auth;
  try {
    auth = createAuthenticator(authOptions(cfg));
  } catch (err) {
    throw err instanceof ConfigError ? err : new ConfigError(`authentication: ${(err as Error).message}`);
  }
  log.info({ auth: auth ? 'jwt' : 'off', allowedOrigins: cfg.allowedOrigins }, 'authentication');
  const registry = new PartitionedRegistry(serverThreads(cfg), { topicCapacity: cfg.topicCapacity, sessionCapacity: cfg.sessionCapacity });
  const metrics = createMetrics({ processMetrics: true, registryStats: () => registry.stats() });
  const pool = new WorkerPool(cfg, registry, metrics, log);
  const rateTiers = (delayed: boolean) => new RateTiers({ formats: FORMAT_NAMES, delayed, encode: encodeFrame,
    uncompressedBytes: uncompressedFrameBytes, registry, publisher: pool, metrics, log });
  const fanoutOf = (rates: RateTiers, delayed: boolean, tap?: DelayedFeed) => new Fanout(FORMAT_NAMES, encodeFrame, uncompressedFrameBytes,
    registry, pool, metrics, log, cfg.historyPerSymbol, { delayed, rates, tap });
  const streams = streamKeys(cfg);
  const endpoints = openEndpoints({ urls: redisUrls(cfg), cluster: cfg.redisCluster, streams, name: `tickgate-${cfg.consumer}`,
    backoffMaxMs: cfg.redisBackoffMaxMs, log, onReconnecting: () => metrics.redisReconnects.inc() });
  const control = controlFor(endpoints);
  // Sharded (or one stream): a symbol's ticks are in one known stream. Several unsharded streams: in any of them.
  const streamOf = cfg.shards > 1 || streams.length === 1 ? (sym: string) => keyOf(sym, streams) : () => undefined;
  const catchupOpts: CatchupOptions = { streams, streamOf, maxReplayTicks: cfg.maxReplayTicks,
    scanLimit: cfg.resumeScanLimit, scanRate: cfg.catchupScanRate, timeoutMs: cfg.resumeTimeoutMs };
  const delayed = cfg.delayS > 0 ? startDelayedTier() : undefined;
  function startDelayedTier() {
    const rates = rateTiers(true);
    const delayedFanout = fanoutOf(rates, true);
    const feed = new DelayedFeed(delayedFanout, control, { streams, delayMs: cfg.delayS * 1000, bufferEntries: cfg.delayBufferEntries,
      commandTimeoutMs: cfg.redisCommandTimeoutMs }, metrics, log);
    return { rates, feed, catchup: new Catchup(delayedFanout, control, catchupOpts, encodeFrame, log) };
  }
  const liveRates = rateTiers(false);
  // The real-time fan-out hands the delayed feed the ticks it parsed: each entry is parsed once.
  const fanout = fanoutOf(liveRates, false, delayed?.feed);
  const catchup = new Catchup(fanout, control, catchupOpts, encodeFrame, log);
  const sink: EntrySink = delayed ? tapDelayed(fanout, delayed.feed) : fanout;
  const load = { subscriptions: () => registry.subscriptions(), delivered: () => fanout.deliveries() };
  const readers = new StreamReaders(endpoints.length, (i, onReady) => new StreamReader(endpoints[i], {
    streams: endpoints[i].streams, group: cfg.group, consumer: cfg.consumer, count: cfg.readCount, blockMs: cfg.readBlockMs,
    claimIdleMs: cfg.claimIdleMs, claimIntervalMs: cfg.claimIntervalMs, maxDeliveries: cfg.maxDeliveries,
    deadLetterSuffix: cfg.deadLetterSuffix, backoffMaxMs: cfg.redisBackoffMaxMs, commandTimeoutMs: cfg.redisCommandTimeoutMs,
    ackIntervalMs: cfg.ackIntervalMs, ackBatch: cfg.ackBatch,
  }, sink, metrics, log, onReady, new ReadPacer({ idleMs: cfg.readIdleMs, coalesceMs: cfg.coalesceMs, coalesceAbove: cfg.coalesceAboveDeliveries }, load)),
  (ready) => pool.setReady(ready));

  // A real-time snapshot or resume starts from what Redis holds at its request, even while a reader's pacer has it
  // waiting. A delayed one is answered from what the delayed tier has released (sessions refuse delayed subscribes
  // when --delay-s is 0; the error is for a request that got past them).
  pool.serveCatchup({ prepare: (request, signal) => {
    if (!tierAt(request.tier).delayed) return readers.caughtUp().then(() => catchup.prepare(request, signal));
    return delayed ? delayed.catchup.prepare(request, signal) : Promise.reject(new Error('this gateway serves no delayed tier'));
  } });
  const port = await pool.start();
  const stopMetricsServer = cfg.metricsPort > 0 ? await startMetricsServer(cfg.host, cfg.metricsPort, () => pool.scrape()) : undefined;
  readers.start();
  catchup.start();
  delayed?.feed.start();
  delayed?.catchup.start();
  const stopLagSampler = startLagSampler(control, streams, cfg.group, cfg.lagSampleMs, cfg.redisCommandTimeoutMs, metrics, log);
  log.info({ port, host: cfg.host, workers: cfg.workers, instance: cfg.instance, url: `ws://${cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host}:${port}/v1/stream`,
    metricsPort: cfg.metricsPort || port, streams, redisCluster: cfg.redisCluster, group: cfg.group, consumer: cfg.consumer }, 'serving');

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    log.info('shutting down');
    // Clients first, while the reader still runs: a client still connected misses nothing, and 4007 sends it to
    // another instance to resume at once.
    await pool.drain();
    stopLagSampler();
    catchup.stop();
    delayed?.catchup.stop();
    await readers.stop();
    // After the readers: their last reads still feed the rate tiers and the delayed buffer, which then go quiet.
    liveRates.stop();
    delayed?.feed.stop();
    delayed?.rates.stop();
    await pool.close(CLOSES.DRAINING.code, CLOSES.DRAINING.reason());
    await stopMetricsServer?.();
    await Promise.allSettled(endpoints.map((e) => e.close()));
    log.info('stopped');
  })());
  const recycleWorkers = () => {
    for (let id = 0; id < serverThreads(cfg); id++) setTimeout(() => pool.recycle(id), id * 1000);
  };
  const abort = () => pool.close(CLOSES.GOING_AWAY.code, CLOSES.GOING_AWAY.reason());
  return { port, stop, abort, recycleWorkers };
}
