/**
 * Prometheus metrics, every one defined here so names, units and label sets are reviewed in one place. Labels are
 * bounded sets (format, error code, close reason, malformed kind, stream), never a symbol or a client.
 *
 * Each thread has its own prom-client registry; the main thread serves the whole process by aggregating the
 * workers' counters with its own (summed), and computes the registry gauges once from the shared registry, so a
 * connection is counted exactly once whichever worker holds it. Every series it serves carries the gateway's
 * `instance` label (--instance), added there, once.
 *
 * Counters move once per batch or per event, never per tick inside a loop.
 */
import { readdir } from 'node:fs/promises';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What the connection and subscription gauges read, defined here so that metrics depends on no other module: the
 * process-wide registry view (src/registry/partitioned-registry.ts) provides it.
 */
export interface ConnectionStats {
  /** sessionsByWorker[i]: connections held by worker thread i. */
  sessionsByWorker: number[];
  activeSymbols: number;
  subscriptions: number;
  activeTopics: number;
  topicProbeSlots: number;
}

export interface MetricsOptions {
  /** Node's process metrics (CPU, RSS, heap, event-loop lag, GC): the main thread's, once per process. */
  processMetrics: boolean;
  /** Source of the connection/subscription gauges: the main thread's process-wide registry view. */
  registryStats?: () => Promise<ConnectionStats>;
}

export function createMetrics(options: MetricsOptions = { processMetrics: false }) {
  const registry = new Registry();
  const r = [registry];
  if (options.processMetrics) {
    collectDefaultMetrics({ register: registry, prefix: 'tickgate_' });
    replaceOpenFdsGauge(registry);
  }
  // The four registry gauges of one scrape share one walk of the registry: refreshRegistryStats() starts it at the
  // start of each scrape, and the gauges await that result.
  let current: Promise<ConnectionStats> | undefined;
  const refreshRegistryStats = () => {
    current = options.registryStats?.();
  };
  const stats = options.registryStats && (() => (current ??= options.registryStats!()));
  const statGauge = (name: string, help: string, pick: (s: ConnectionStats) => number) =>
    stats && new Gauge({ name, help, registers: r, async collect() { this.set(pick(await stats())); } });
  return {
    registry,
    refreshRegistryStats,
    connectionsOpen: stats && new Gauge({
      name: 'tickgate_connections_open', help: 'Open WebSocket connections, by worker thread', labelNames: ['worker'], registers: r,
      async collect() {
        (await stats()).sessionsByWorker.forEach((n, worker) => this.set({ worker: String(worker) }, n));
      },
    }),
    activeSymbols: statGauge('tickgate_active_symbols', 'Symbols with at least one subscriber in any format', (s) => s.activeSymbols),
    subscriptions: statGauge('tickgate_subscriptions', 'Subscriptions across all connections', (s) => s.subscriptions),
    activeTopics: statGauge('tickgate_active_topics', 'Topics (symbol, format) with at least one subscriber', (s) => s.activeTopics),
    topicProbeSlots: statGauge('tickgate_registry_probe_slots',
      'Slots a lookup of a topic without subscribers visits per worker table, mean over buckets (1 in a fresh table)', (s) => s.topicProbeSlots),
    connectionsOpened: new Counter({ name: 'tickgate_connections_opened_total', help: 'WebSocket connections accepted', registers: r }),
    connectionsClosed: new Counter({
      name: 'tickgate_connections_closed_total', help: 'WebSocket connections closed, by reason', labelNames: ['reason'], registers: r,
    }),
    upgradesRejected: new Counter({
      name: 'tickgate_upgrades_rejected_total', help: 'WebSocket upgrades refused with an HTTP error, by reason', labelNames: ['reason'], registers: r,
    }),
    clientErrors: new Counter({
      name: 'tickgate_client_errors_total', help: 'Error replies sent to clients, by code', labelNames: ['code'], registers: r,
    }),
    ticksRead: new Counter({ name: 'tickgate_ticks_read_total', help: 'Stream entries read from Redis', labelNames: ['stream'], registers: r }),
    malformedEntries: new Counter({
      name: 'tickgate_malformed_entries_total', help: 'Stream entries skipped as malformed, by kind', labelNames: ['kind'], registers: r,
    }),
    staleEntries: new Counter({
      name: 'tickgate_stale_entries_total', help: 'Entries not published because a tick of the symbol at or after their id already was (re-deliveries, a recreated group or key)', registers: r,
    }),
    groupRecreations: new Counter({
      name: 'tickgate_group_recreations_total', help: 'Consumer groups found gone while running and recreated after the last entry read, by stream', labelNames: ['stream'], registers: r,
    }),
    streamLosses: new Counter({
      name: 'tickgate_stream_losses_total', help: 'Gaps announced to clients: entries removed from a stream before the gateway read them, by stream and reason', labelNames: ['stream', 'reason'], registers: r,
    }),
    entriesLost: new Counter({
      name: 'tickgate_entries_lost_total', help: 'Entries removed before the gateway read them, where they could be counted (trims), by stream', labelNames: ['stream'], registers: r,
    }),
    deadLettered: new Counter({
      name: 'tickgate_dead_lettered_total', help: 'Entries moved to the dead-letter stream after too many deliveries', registers: r,
    }),
    framesPublished: new Counter({
      name: 'tickgate_frames_published_total', help: 'Frames published to topics, by format', labelNames: ['format'], registers: r,
    }),
    ticksDelivered: new Counter({
      name: 'tickgate_ticks_delivered_total', help: 'Ticks handed to client sockets: ticks per frame times the topic\'s subscribers, by format', labelNames: ['format'], registers: r,
    }),
    rawBytesPublished: new Counter({
      name: 'tickgate_published_raw_bytes_total', help: 'Bytes of the same frames before LZ4 compression, by format (raw / wire = compression ratio)', labelNames: ['format'], registers: r,
    }),
    encodeErrors: new Counter({
      name: 'tickgate_encode_errors_total', help: 'Batches a format could not encode (its subscribers missed them), by format', labelNames: ['format'], registers: r,
    }),
    bytesPublished: new Counter({
      name: 'tickgate_published_bytes_total', help: 'Bytes of frames published to topics (once per topic, before fan-out), by format', labelNames: ['format'], registers: r,
    }),
    readBatchSize: new Histogram({
      name: 'tickgate_read_batch_entries', help: 'Entries returned by one XREADGROUP',
      buckets: [1, 4, 16, 64, 256, 1024, 4096], registers: r,
    }),
    readToPublish: new Histogram({
      name: 'tickgate_read_to_publish_seconds', help: 'Time from a read returning to its last frame published',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1], registers: r,
    }),
    producerToPublish: new Histogram({
      name: 'tickgate_producer_to_publish_seconds', help: 'Producer timestamp (ts) of the oldest tick published from one read to that read\'s publish',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers: r,
    }),
    backpressuredSockets: new Gauge({
      name: 'tickgate_backpressured_sockets', help: 'Client sockets whose unsent bytes exceed --backpressure-soft-limit', registers: r,
    }),
    slowConsumerDisconnects: new Counter({
      name: 'tickgate_slow_consumer_disconnects_total', help: 'Clients closed as too slow (4001): send buffer past --max-backpressure, or at the bottom of the slow-consumer ladder', registers: r,
    }),
    modeChanges: new Counter({
      name: 'tickgate_mode_changes_total', help: 'Slow-consumer ladder steps, by the mode entered (full, conflated, snapshot-only)', labelNames: ['mode'], registers: r,
    }),
    tierFramesPublished: new Counter({
      name: 'tickgate_tier_frames_published_total', help: 'Frames published to topics (once per topic, before fan-out), by subscription tier (full, 1/s … 10/s, delayed, delayed 1/s …)', labelNames: ['tier'], registers: r,
    }),
    tierSubscriptions: new Gauge({
      name: 'tickgate_tier_subscriptions', help: 'Symbols subscribed across all connections, by subscription tier', labelNames: ['tier'], registers: r,
    }),
    heartbeats: new Counter({
      name: 'tickgate_heartbeats_sent_total', help: 'Quiet-symbol heartbeat messages sent to clients (one per connection per interval with a quiet symbol)', registers: r,
    }),
    delayBuffered: new Gauge({
      name: 'tickgate_delay_buffer_entries', help: 'Stream entries the delayed tier holds in memory, waiting for their time', registers: r,
    }),
    delayRangeReads: new Counter({
      name: 'tickgate_delay_range_reads_total', help: 'XRANGE reads of the delayed tier for entries its memory buffer no longer held', registers: r,
    }),
    conflatedFrames: new Counter({
      name: 'tickgate_conflated_frames_total', help: 'Frames of only the latest tick sent to clients in conflated mode', registers: r,
    }),
    groupLag: new Gauge({
      name: 'tickgate_consumer_group_lag', help: 'Entries in the stream not yet delivered to this gateway\'s group (XINFO GROUPS lag)', labelNames: ['stream'], registers: r,
    }),
    groupPending: new Gauge({
      name: 'tickgate_consumer_group_pending', help: 'Entries delivered to this gateway\'s group and not yet acked (XINFO GROUPS pending)', labelNames: ['stream'], registers: r,
    }),
    redisReconnects: new Counter({ name: 'tickgate_redis_reconnects_total', help: 'Reconnections to Redis', registers: r }),
    readerReady: new Gauge({ name: 'tickgate_reader_ready', help: '1 while the stream reader is connected and reading', registers: r }),
    workersAlive: new Gauge({ name: 'tickgate_workers_alive', help: 'Server worker threads running', registers: r }),
    acceptPaused: new Gauge({
      name: 'tickgate_accept_paused', help: 'Worker threads whose listen socket is closed because the process is near its descriptor limit (RLIMIT_NOFILE)', registers: r,
    }),
    acceptPauses: new Counter({
      name: 'tickgate_accept_pauses_total', help: 'Times a worker closed its listen socket near the descriptor limit', registers: r,
    }),
    workerRestarts: new Counter({ name: 'tickgate_worker_restarts_total', help: 'Server worker threads restarted after they exited', registers: r }),
  };
}

/**
 * prom-client counts open descriptors with a synchronous readdir of /proc/self/fd, and every client socket is one:
 * measured here, 7–8 ms of blocked event loop per scrape at 10,000 descriptors and 49 ms the first time. The same
 * count read asynchronously lists the directory on libuv's thread pool instead.
 */
function replaceOpenFdsGauge(registry: Registry): void {
  const name = 'tickgate_process_open_fds';
  if (!registry.getSingleMetric(name)) return; // Linux only, as in prom-client
  registry.removeSingleMetric(name);
  new Gauge({
    name, help: 'Number of open file descriptors.', registers: [registry],
    async collect() {
      this.set(await countOpenFds());
    },
  });
}

/** The process's open descriptors, listed on libuv's thread pool (Linux). */
export async function countOpenFds(): Promise<number> {
  // Minus the descriptor readdir itself held open.
  return (await readdir('/proc/self/fd')).length - 1;
}

/**
 * The process's metrics text from each thread's `getMetricsAsJSON()`: counters and gauges summed, and `labels` (the
 * gateway's `instance`) on every series, so several gateways' series stay apart in one Prometheus and one dashboard.
 */
export async function aggregateMetrics(perThread: object[][], labels: Record<string, string>): Promise<{ contentType: string; body: string }> {
  const merged = AggregatorRegistry.aggregate(perThread);
  merged.setDefaultLabels(labels);
  return { contentType: merged.contentType, body: await merged.metrics() };
}

export type Metrics = ReturnType<typeof createMetrics>;
