/**
 * A server thread: one uWS App on the shared port, its sessions, and publishing of the frames ingest hands it. It
 * never reads Redis and never encodes: that happens once per process, in ingest. It runs in a worker thread
 * (src/server/worker.ts) or, with `--workers 0`, on the main thread beside ingest (src/server/local-thread.ts); either
 * way it talks to ingest only through the messages of thread-messages.ts, over a ThreadChannel.
 */
import { serverThreads } from '../config';
import { createLogger, Logger } from '../log';
import { countOpenFds, createMetrics } from '../metrics/metrics';
import { SharedRegistry } from '../registry/shared-registry';
import { FORMAT_NAMES } from '../wire/formats';
import { GatewayServer } from './app';
import { createAuthenticator } from './auth';
import { authOptions } from './auth-options';
import { SlowConsumerLadder } from './slow-consumers';
import { NewestFrames } from './newest-frames';
import { Heartbeats } from './heartbeats';
import { SharedCounterMap } from '../registry/shared-map';
import type { CatchupAnswer } from '../contracts/catchup';
import { DescriptorGuard } from './descriptors';
import { PendingReplies } from './pending-replies';
import {
  FramesMessage, MainToWorker, STATUS_ALIVE, STATUS_CONFIGURED, STATUS_DRAINING, STATUS_READY, WorkerData, WorkerToMain,
} from './thread-messages';

/** How a server thread and ingest reach each other: a worker's parentPort, or direct calls on the main thread. */
export interface ThreadChannel {
  post(m: WorkerToMain): void;
  onMessage(handler: (m: MainToWorker) => void): void;
  /** The server thread is done (closed, or it could not listen). */
  exit(code: number): void;
}

/** The one thread a server thread asks, as PendingReplies names the threads that answer. */
const MAIN_THREAD = 0;

export interface ServerThread {
  /** The thread's logger (bound to its worker id). */
  log: Logger;
  /** Closes every socket at once: a thread must not exit holding them. */
  abort(): void;
  /** On the main thread, the fan-out publishes each frame directly, with nothing to copy or post. */
  publish(topic: string, frame: string | Uint8Array, isBinary: boolean): void;
}

export function runServerThread(data: WorkerData, channel: ThreadChannel): ServerThread {
  const cfg = data.config;
  const log = createLogger(cfg.logLevel, 'tickgate', cfg.logPretty).child({ worker: data.workerId });
  const metrics = createMetrics();
  const status = new Int32Array(data.status);
  const scrapes = new PendingReplies<{ contentType: string; body: string }>();
  const catchups = new PendingReplies<CatchupAnswer>();
  /** The catch-up in flight per session (a session has at most one: later requests queue behind it). */
  const catchupOf = new Map<number, number>();
  let descriptors: DescriptorGuard | undefined;

  const send = (m: WorkerToMain) => channel.post(m);
  const frames = new NewestFrames();

  /** Sends the request `post` builds to the main thread; resolves with its answer. */
  async function askMain<A>(requests: PendingReplies<A>, post: (id: number) => void): Promise<A> {
    const [answer] = await requests.ask((id) => {
      post(id);
      return [MAIN_THREAD];
    })!;
    return answer;
  }

  const server = new GatewayServer(
    {
      host: cfg.host, idleTimeoutS: cfg.idleTimeoutS, maxBackpressure: cfg.maxBackpressure, formats: new Set(FORMAT_NAMES),
      serveMetrics: cfg.metricsPort === 0, maxLifetimeS: cfg.maxLifetimeS, maxConnectionsPerIp: cfg.maxConnectionsPerIp,
      allowedOrigins: cfg.allowedOrigins, auth: createAuthenticator(authOptions(cfg)), ipCounts: SharedCounterMap.attach(data.ipCounts),
      ladder: new SlowConsumerLadder(cfg, metrics, frames), frames,
      heartbeats: new Heartbeats(cfg.quietHeartbeatS * 1000, frames, metrics, Date.now()), sweepMs: Math.min(250, cfg.conflateIntervalMs),
    },
    {
      catchup: async (session, request) => {
        const answer = await askMain(catchups, (id) => {
          catchupOf.set(session, id);
          send({ type: 'catchup', id, request });
        });
        catchupOf.delete(session);
        return answer;
      },
      cancelCatchup: (session) => {
        const id = catchupOf.get(session);
        if (id === undefined) return;
        catchupOf.delete(session);
        catchups.drop(id);
        send({ type: 'catchup-cancel', id });
      },
      registry: SharedRegistry.attach(data.registry),
      metrics,
      log,
      workerId: data.workerId,
      delayedTier: cfg.delayS > 0,
      limits: {
        maxSymbols: cfg.maxSymbols, maxPayload: cfg.maxPayload, rateLimit: cfg.rateLimit, rateBurst: cfg.rateBurst,
        floodCloseAfter: cfg.floodCloseAfter, floodWindowMs: cfg.floodWindowS * 1000,
      },
    },
    {
      health: () => {
        const alive = Atomics.load(status, STATUS_ALIVE);
        const workers = Atomics.load(status, STATUS_CONFIGURED);
        return { status: alive === workers ? 'ok' : 'degraded', workersAlive: alive, workers };
      },
      isReady: () => {
        if (Atomics.load(status, STATUS_DRAINING) === 1) return { ready: false, reason: 'draining: shutting down, send new connections elsewhere' };
        return Atomics.load(status, STATUS_READY) === 1 ? { ready: true } : { ready: false, reason: 'stream reader is not connected to Redis' };
      },
      metricsText: () => askMain(scrapes, (id) => send({ type: 'scrape', id })),
      admitUpgrade: () => descriptors?.admitUpgrade() ?? true,
    },
  );

  /** Hot path, worker side: every frame of one read, published to its topic; uWS fans it out natively. */
  function publishRead(m: FramesMessage): void {
    const bytes = new Uint8Array(m.bytes);
    let start = 0;
    for (let i = 0; i < m.topics.length; i++) {
      const end = m.ends[i];
      server.publish(m.topics[i], bytes.subarray(start, end), m.binary[i]);
      start = end;
    }
    send({ type: 'published', seq: m.seq });
  }

  channel.onMessage((m: MainToWorker) => {
    switch (m.type) {
      case 'frames':
        return publishRead(m);
      case 'collect':
        metrics.backpressuredSockets.set(server.backpressuredSockets(cfg.backpressureSoftLimit));
        void metrics.registry.getMetricsAsJSON().then((json) => send({ type: 'collected', id: m.id, metrics: json }));
        return;
      case 'scraped':
        return scrapes.answer(m.id, MAIN_THREAD, { contentType: m.contentType, body: m.body });
      case 'broadcast':
        return server.broadcast(m.text);
      case 'caughtup':
        return catchups.answer(m.id, MAIN_THREAD, m.answer);
      case 'drain':
        // The guard would listen again once descriptors are back.
        descriptors?.stop();
        void server.drain().then(() => send({ type: 'drained', id: m.id }));
        return;
      case 'close':
        descriptors?.stop();
        void server.close(m.code, m.reason).then(() => channel.exit(0));
        return;
    }
  });

  server.listen(data.port).then(
    (port) => {
      descriptors = DescriptorGuard.forThisProcess({ listener: server, metrics, log, workers: serverThreads(cfg), countOpen: countOpenFds });
      descriptors?.start();
      send({ type: 'listening', port });
    },
    (err: Error) => {
      log.fatal({ err: err.message }, 'worker cannot listen');
      server.abort();
      channel.exit(1);
    },
  );
  return { log, abort: () => server.abort(), publish: (topic, frame, isBinary) => server.publish(topic, frame, isBinary) };
}
