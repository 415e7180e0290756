/**
 * The gateway process: wires config, registry, metrics, the uWS server, the fan-out and the stream reader, and
 * owns the shutdown order (stop reading → publish and ack what was read → close clients with 1001 and the listen
 * socket → close Redis).
 */
import { GatewayConfig } from './config';
import { createLogger, Logger } from './log';
import { createMetrics } from './metrics/metrics';
import { LocalRegistry } from './registry/local-registry';
import { GatewayServer } from './server/app';
import { Fanout } from './ingest/fanout';
import { StreamReader } from './ingest/reader';
import { closeRedis, connectInBackground, createRedis } from './ingest/redis';
import { FORMAT_NAMES } from './wire/formats';
import { encodeFrame } from './wire/frame-encode';

export interface RunningGateway {
  port: number;
  stop(): Promise<void>;
}

export async function startGateway(cfg: GatewayConfig, log: Logger = createLogger(cfg.logLevel)): Promise<RunningGateway> {
  const metrics = createMetrics();
  const registry = new LocalRegistry();
  const limits = {
    maxSymbols: cfg.maxSymbols, maxPayload: cfg.maxPayload, rateLimit: cfg.rateLimit, rateBurst: cfg.rateBurst,
    floodCloseAfter: cfg.floodCloseAfter,
  };
  let reader: StreamReader | undefined;
  const server = new GatewayServer(
    { host: cfg.host, port: cfg.port, idleTimeoutS: cfg.idleTimeoutS, maxBackpressure: cfg.maxBackpressure, formats: new Set(FORMAT_NAMES) },
    { registry, metrics, log, limits, workerId: 0 },
    {
      isReady: () => (reader?.ready ? { ready: true } : { ready: false, reason: 'stream reader is not connected to Redis' }),
      metricsText: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    },
  );
  const fanout = new Fanout(FORMAT_NAMES, encodeFrame, registry, server, metrics, log);
  const redisOpts = { url: cfg.redis, backoffMaxMs: cfg.redisBackoffMaxMs, log };
  const readClient = createRedis({ ...redisOpts, name: `tickgate-read-${cfg.consumer}`, onReconnecting: () => metrics.redisReconnects.inc() });
  const controlClient = createRedis({ ...redisOpts, name: `tickgate-ctl-${cfg.consumer}` });
  connectInBackground(readClient, log);
  connectInBackground(controlClient, log);
  reader = new StreamReader(readClient, controlClient, {
    streams: cfg.stream, group: cfg.group, consumer: cfg.consumer, count: cfg.readCount, blockMs: cfg.readBlockMs,
    claimIdleMs: cfg.claimIdleMs, claimIntervalMs: cfg.claimIntervalMs, maxDeliveries: cfg.maxDeliveries,
    deadLetterSuffix: cfg.deadLetterSuffix, backoffMaxMs: cfg.redisBackoffMaxMs,
  }, fanout, metrics, log);

  const port = await server.listen();
  reader.start();
  log.info({ port, host: cfg.host, url: `ws://${cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host}:${port}/v1/stream`,
    streams: cfg.stream, group: cfg.group, consumer: cfg.consumer }, 'serving');

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    log.info('shutting down');
    await reader.stop();
    server.close();
    await Promise.allSettled([closeRedis(readClient), closeRedis(controlClient)]);
    log.info('stopped');
  })());
  return { port, stop };
}
