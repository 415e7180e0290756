/**
 * The main thread's side of the server threads: starts them on one port, hands each read's frames to all of them,
 * tells the reader when every live worker has published (so it can XACK), restarts workers that exit, aggregates
 * their metrics, and shuts them down in order. With `--workers 0` the one server thread is the main thread itself
 * (local-thread.ts): each frame is published as the fan-out produces it, so flush() has nothing to hand over and a
 * read is published (and may be acked) as soon as publishEntries returns.
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { GatewayConfig, serverThreads } from '../config';
import { freePort } from '../net';
import { Logger } from '../log';
import { aggregateMetrics, Metrics } from '../metrics/metrics';
import { PartitionedRegistry } from '../registry/partitioned-registry';
import { FramePublisher } from '../ingest/fanout';
import { Catchup } from '../ingest/catchup';
import type { CatchupRequest } from '../contracts/catchup';
import { CatchupCancelled } from '../ingest/catchup/scan';
import { SharedCounterMap } from '../registry/shared-map';
import { gapMessage, StreamLoss } from '../protocol/gap';
import { PendingReplies } from './pending-replies';
import { LocalThread } from './local-thread';
import { CLOSES } from '../protocol/codes';
import {
  MainToWorker, MetricsJson, STATUS_ALIVE, STATUS_CONFIGURED, STATUS_DRAINING, STATUS_FIELDS, STATUS_READY, WorkerData, WorkerToMain,
} from './thread-messages';

type ServerThreadHandle = Worker | LocalThread;

export class WorkerPool implements FramePublisher {
  private readonly workers: (ServerThreadHandle | undefined)[];
  /** `--workers 0`: the main thread serves clients; workers[0] is a LocalThread while it runs. */
  private readonly inThread: boolean;
  private readonly status = new Int32Array(new SharedArrayBuffer(STATUS_FIELDS * Int32Array.BYTES_PER_ELEMENT));
  /** Reads handed to the workers, by seq: the reader acks a read once every live worker has published it. */
  private readonly published = new PendingReplies<void>();
  private readonly collected = new PendingReplies<MetricsJson>();
  private readonly drains = new PendingReplies<void>();
  private port = 0;
  private closing = false;
  // The frames of the read being published; flush() hands them over as one message.
  private topics: string[] = [];
  private frames: (string | Uint8Array)[] = [];
  private binary: boolean[] = [];

  private catchup: Pick<Catchup, 'prepare'> | undefined;
  /** Catch-ups in flight, by worker then request id: a client that goes away aborts its own. */
  private readonly inFlight = new Map<number, Map<number, AbortController>>();
  private readonly ipCounts: SharedCounterMap;

  constructor(
    private readonly cfg: GatewayConfig,
    private readonly registry: PartitionedRegistry,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    const threads = serverThreads(cfg);
    this.inThread = cfg.workers === 0;
    this.workers = new Array(threads).fill(undefined);
    Atomics.store(this.status, STATUS_CONFIGURED, threads);
    // Distinct client IPs the process can count: one per possible connection, whatever the spread.
    // maxLive makes it exact: the slot count alone is rounded up to a power of two.
    const addresses = Math.min(cfg.sessionCapacity * threads, 1 << 20);
    this.ipCounts = SharedCounterMap.create({ capacity: addresses, maxLive: addresses });
  }

  /** The service that answers snapshot and resume requests (set once ingest exists). */
  serveCatchup(catchup: Pick<Catchup, 'prepare'>): void {
    this.catchup = catchup;
  }

  /** Starts every worker on the configured port; for port 0, on one free port picked first. */
  async start(): Promise<number> {
    this.port = this.cfg.port === 0 ? await freePort(this.cfg.host) : this.cfg.port;
    const started = await Promise.allSettled(this.workers.map((_, id) => this.spawn(id, this.port)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // The ones that did start hold sockets: the process must not exit before they are closed.
      await this.close(CLOSES.GOING_AWAY.code, CLOSES.GOING_AWAY.reason(true));
      throw failed.reason;
    }
    return this.port;
  }

  setReady(ready: boolean): void {
    Atomics.store(this.status, STATUS_READY, ready ? 1 : 0);
  }

  publish(topic: string, frame: string | Uint8Array, isBinary: boolean): void {
    if (this.inThread) {
      // A main thread that is restarting its server (SIGUSR2) has no clients to publish to.
      (this.workers[0] as LocalThread | undefined)?.publish(topic, frame, isBinary);
      return;
    }
    this.topics.push(topic);
    this.frames.push(frame);
    this.binary.push(isBinary);
  }

  /**
   * Hands the read's frames to every live worker. The bytes are copied once, into one SharedArrayBuffer all
   * workers read; resolves when each has published them (a worker that exits first no longer counts).
   */
  flush(): Promise<void> | undefined {
    const n = this.topics.length;
    if (n === 0) return undefined;
    const ends = new Array<number>(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const f = this.frames[i];
      total += typeof f === 'string' ? Buffer.byteLength(f) : f.byteLength;
      ends[i] = total;
    }
    const bytes = new SharedArrayBuffer(total);
    const view = Buffer.from(bytes);
    for (let i = 0; i < n; i++) {
      const f = this.frames[i];
      const start = i === 0 ? 0 : ends[i - 1];
      if (typeof f === 'string') view.write(f, start);
      else view.set(f, start);
    }
    const { topics, binary } = this;
    this.topics = [];
    this.frames = [];
    this.binary = [];
    return this.published.ask((seq) => this.postToAll({ type: 'frames', seq, bytes, topics, ends, binary }))?.then(() => undefined);
  }

  announceLoss(loss: StreamLoss): void {
    const message: MainToWorker = { type: 'broadcast', text: gapMessage(loss) };
    for (const w of this.workers) w?.postMessage(message);
  }

  /** The whole process's metrics: the main thread's and every worker's, aggregated, labelled with the instance. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    this.metrics.refreshRegistryStats();
    const own = await this.metrics.registry.getMetricsAsJSON();
    const workers = (await this.collected.ask((id) => this.postToAll({ type: 'collect', id }))) ?? [];
    return aggregateMetrics([own, ...workers], { instance: this.cfg.instance });
  }

  /** Posts `message` to every live worker; returns their ids. */
  private postToAll(message: MainToWorker): number[] {
    const ids: number[] = [];
    this.workers.forEach((w, id) => {
      if (!w) return;
      w.postMessage(message);
      ids.push(id);
    });
    return ids;
  }

  /** Restarts worker `id` (SIGUSR2): its clients are closed with 1012 and reconnect to the others or to it. */
  recycle(id: number): void {
    this.workers[id]?.postMessage({ type: 'close', code: CLOSES.SERVICE_RESTART.code, reason: CLOSES.SERVICE_RESTART.reason() } satisfies MainToWorker);
  }

  /**
   * The first step of a graceful stop: /readyz answers 503 at once, every server thread stops accepting and closes
   * its clients with 4007 as they drain (see GatewayServer.drain). Resolves when no thread holds a client any more, or
   * after --drain-timeout-ms; close() then ends whoever is left. Ingest keeps running meanwhile, so a client still
   * connected misses nothing.
   */
  async drain(): Promise<void> {
    const started = Date.now();
    // A worker that exits from now on is not restarted: a new one would listen again.
    this.closing = true;
    Atomics.store(this.status, STATUS_DRAINING, 1);
    const before = this.clients();
    const drained = this.drains.ask((id) => this.postToAll({ type: 'drain', id }));
    this.log.info({ clients: before, timeoutMs: this.cfg.drainTimeoutMs }, 'draining: /readyz 503, accept stopped, clients closed with 4007');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.cfg.drainTimeoutMs)));
    const late = await Promise.race([drained?.then(() => false) ?? false, timedOut]);
    clearTimeout(timer);
    const left = late ? this.clients() : 0;
    this.log.info({ durationMs: Date.now() - started, clients: before, left }, late ? 'drain timed out; closing the clients left' : 'drained');
  }

  async close(code: number, reason: string): Promise<void> {
    this.closing = true;
    const exits = this.workers.map((w) => w && new Promise<void>((resolve) => w.once('exit', () => resolve())));
    for (const w of this.workers) w?.postMessage({ type: 'close', code, reason } satisfies MainToWorker);
    await Promise.all(exits);
  }

  private spawn(id: number, port: number): Promise<number> {
    const data: WorkerData = {
      workerId: id, config: this.cfg, port, registry: this.registry.partition(id).buffers,
      status: this.status.buffer as SharedArrayBuffer, ipCounts: this.ipCounts.buffer,
    };
    const worker = this.inThread ? new LocalThread(data) : new Worker(join(__dirname, 'worker.js'), { workerData: data });
    return new Promise((resolve, reject) => {
      worker.on('message', (m: WorkerToMain) => {
        if (m.type === 'listening') {
          this.workers[id] = worker;
          this.updateAlive();
          resolve(m.port);
        } else {
          this.onMessage(id, worker, m);
        }
      });
      worker.once('error', (err) => this.log.error({ worker: id, err: err.message }, 'worker error'));
      worker.once('exit', (exitCode) => {
        const wasRunning = this.workers[id] === worker;
        if (wasRunning) this.workers[id] = undefined;
        this.updateAlive();
        this.forget(id);
        if (!wasRunning) return reject(new Error(`worker ${id} exited (${exitCode}) before listening`));
        if (this.closing) return;
        this.log.warn({ worker: id, exitCode }, 'worker exited; restarting it');
        this.metrics.workerRestarts.inc();
        this.registry.reset(id);
        this.spawn(id, this.port).catch((err: Error) => this.log.error({ worker: id, err: err.message }, 'worker restart failed'));
      });
    });
  }

  private onMessage(id: number, worker: ServerThreadHandle, m: WorkerToMain): void {
    switch (m.type) {
      case 'published':
        return this.published.answer(m.seq, id, undefined);
      case 'collected':
        return this.collected.answer(m.id, id, m.metrics);
      case 'drained':
        return this.drains.answer(m.id, id, undefined);
      case 'scrape':
        void this.scrape().then(({ contentType, body }) =>
          worker.postMessage({ type: 'scraped', id: m.id, contentType, body } satisfies MainToWorker));
        return;
      case 'catchup':
        return this.catchUp(id, worker, m.id, m.request);
      case 'catchup-cancel':
        this.inFlight.get(id)?.get(m.id)?.abort();
        return;
    }
  }

  private catchUp(id: number, worker: ServerThreadHandle, requestId: number, request: CatchupRequest): void {
    const abort = new AbortController();
    let mine = this.inFlight.get(id);
    if (mine === undefined) this.inFlight.set(id, (mine = new Map()));
    mine.set(requestId, abort);
    this.catchup!.prepare(request, abort.signal).then(
      // Built and posted in one synchronous step: the answer must sit exactly between the frames already
      // posted to this worker and the next ones (see catchup.ts).
      (build) => {
        if (!abort.signal.aborted) worker.postMessage({ type: 'caughtup', id: requestId, answer: build() } satisfies MainToWorker);
      },
      (err: Error) => {
        // A client that is gone (or a worker that exited) waits for nothing.
        if (err instanceof CatchupCancelled) return;
        this.log.warn({ worker: id, err: err.message }, 'snapshot/resume failed');
        worker.postMessage({ type: 'caughtup', id: requestId, answer: { frames: [], unavailable: [], failed: err.message } } satisfies MainToWorker);
      }).finally(() => mine.delete(requestId));
  }

  /** Connections held by every server thread (O(1): the registry keeps counts). */
  private clients(): number {
    let n = 0;
    for (let id = 0; id < this.workers.length; id++) n += this.registry.partition(id).stats().sessions;
    return n;
  }

  /** A worker that is gone will never answer: stop waiting for it, and stop its catch-ups. */
  private forget(id: number): void {
    for (const abort of this.inFlight.get(id)?.values() ?? []) abort.abort();
    this.inFlight.delete(id);
    this.published.forget(id);
    this.collected.forget(id);
    this.drains.forget(id);
  }

  private updateAlive(): void {
    const alive = this.workers.filter(Boolean).length;
    Atomics.store(this.status, STATUS_ALIVE, alive);
    this.metrics.workersAlive.set(alive);
  }
}
