/**
 * The SDK clients of src/bench/scale-out/failover.ts, in a process of their own (several share the load; driven over
 * IPC, exits when the orchestrator disconnects). Each client is the real SDK (`connect(urls)` on the `ws` package,
 * default backoff) and records, per connection, when the gateway answered its resubscription and when a frame of
 * each of its symbols arrived: the orchestrator judges them against the kill's time.
 *
 * The resubscription's ack is seen on the wire, by a WebSocket subclass handed to the SDK: the SDK has no event for
 * it, and it is the moment the surviving gateway has served the resume (replay frames, then the ack, in one write),
 * whatever the tick rate. "Resumed" is the issue's (and test/helpers/failover.ts's) measure: a data frame of every
 * symbol on a connection opened after the kill.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { connect, TickgateClient, WebSocketConstructor } from '../../client/node';
import { compareStreamIds } from '../../wire/tick';
import { parentProcessChannel, serveRpc } from '../rpc';
import { ClientSpec } from './failover-options';
import { Chain, ClientOutcome, GeneratorReport, Percentiles, percentiles } from './failover-report';

export interface OpenRequest {
  clients: ClientSpec[];
  /** Subscribes in flight at once: the gateway's accept and the SDK's first frames are not what is measured. */
  concurrency: number;
  timeoutMs: number;
}

export interface OpenResult {
  opened: number;
  failed: number;
  firstError?: string;
}

export interface Status {
  resumed: number;
  /** This process's event loop since `arm`: how late it may have seen what it timed. */
  loopMaxMs: number;
}

export interface FinishRequest {
  /** The stream's last entry per symbol once the feed stopped. */
  last: Record<string, string>;
  timeoutMs: number;
}

const ACK_PREFIX = '{"type":"ack"';
const SAMPLES = 5;
const POLL_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A `ws` WebSocket that reports when the SDK opens its second connection (the end of its backoff) and the first ack
 * on each connection after the first (its resubscription's).
 */
function watchingSocket(onRetry: () => void, onLaterAck: () => void): WebSocketConstructor {
  let connections = 0;
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      const later = ++connections > 1;
      if (connections === 2) onRetry();
      let acked = false;
      // Registered before the SDK's own handler, so both see the same message at the same moment.
      this.on('message', (data: Buffer, isBinary: boolean) => {
        if (!later || acked || isBinary || data.length < ACK_PREFIX.length) return;
        if (data.toString('latin1', 0, ACK_PREFIX.length) !== ACK_PREFIX) return;
        acked = true;
        onLaterAck();
      });
    }
  } as unknown as WebSocketConstructor;
}

const samples: GeneratorReport['samples'] = { gaps: [], unavailable: [], errors: [] };
/**
 * Live ticks' latency (receive time − the producer's `ts`, ms) while the steady window before the kill runs: seconds
 * here mean this process, not the gateway, was the limit, and so would be in the failover.
 */
let latencies: number[] | undefined;
const sample = (list: string[], line: string) => list.length < SAMPLES && list.push(line);

class Watched {
  readonly client: TickgateClient;
  private opens = 0;
  private droppedAt?: number;
  private retriedAt?: number;
  private reopenedAt?: number;
  private answeredAt?: number;
  private resumedAt?: number;
  private reconnects = 0;
  private backoffMs?: number;
  private gaps = 0;
  private unavailable = 0;
  private errors = 0;
  /** Symbols with a frame on the first connection. */
  private readonly receiving = new Set<string>();
  /** Symbols with a frame on a later connection. */
  private readonly afterDrop = new Set<string>();
  private readonly chains = new Map<string, Chain>();

  constructor(readonly spec: ClientSpec) {
    const WebSocketImpl = watchingSocket(() => (this.retriedAt = Date.now()), () => (this.answeredAt ??= Date.now()));
    this.client = connect(spec.urls, { WebSocket: WebSocketImpl });
    const c = this.client;
    c.on('open', () => {
      if (++this.opens === 2) this.reopenedAt = Date.now();
    });
    c.on('close', () => (this.droppedAt ??= Date.now()));
    c.on('reconnecting', (_attempt, delayMs) => {
      this.backoffMs ??= delayMs;
      this.reconnects++;
    });
    c.on('ticks', (frame) => {
      const at = Date.now();
      if (latencies !== undefined && frame.kind === 'live') latencies.push(at - frame.ticks[frame.ticks.length - 1].ts);
      const first = frame.ticks[0].id;
      const last = frame.ticks[frame.ticks.length - 1].id;
      const chain = this.chains.get(frame.sym);
      if (chain === undefined) this.chains.set(frame.sym, { first, last, count: frame.ticks.length });
      else {
        chain.last = last;
        chain.count += frame.ticks.length;
      }
      if (this.opens < 2) {
        this.receiving.add(frame.sym);
        return;
      }
      this.afterDrop.add(frame.sym);
      if (this.resumedAt === undefined && this.afterDrop.size === spec.symbols.length) this.resumedAt = at;
    });
    c.on('gap', (g) => {
      this.gaps++;
      sample(samples.gaps, `${g.sym}: held ${g.expected}, frame's prev ${g.got}${g.loss ? `, loss ${JSON.stringify(g.loss)}` : ''} on ${c.url}`);
    });
    c.on('resumeUnavailable', ({ symbols }) => {
      this.unavailable += symbols.length;
      sample(samples.unavailable, `${symbols.join(',')} on ${c.url}`);
    });
    c.on('error', (err) => {
      this.errors++;
      sample(samples.errors, `${(err as { code?: string }).code ?? err.name}: ${err.message} (${c.url})`);
    });
  }

  get isReceiving(): boolean {
    return this.receiving.size === this.spec.symbols.length;
  }

  get isResumed(): boolean {
    return this.resumedAt !== undefined;
  }

  /** Whether it has delivered the last entry of each of its symbols. */
  reached(last: Record<string, string>): boolean {
    return this.spec.symbols.every((s) => {
      const held = this.chains.get(s)?.last;
      return held !== undefined && last[s] !== undefined && compareStreamIds(held, last[s]) >= 0;
    });
  }

  outcome(): ClientOutcome {
    return {
      symbols: this.spec.symbols, url: this.client.url, droppedAt: this.droppedAt, retriedAt: this.retriedAt, reopenedAt: this.reopenedAt, answeredAt: this.answeredAt,
      resumedAt: this.resumedAt, backoffMs: this.backoffMs === undefined ? undefined : Math.round(this.backoffMs), reconnects: this.reconnects, gaps: this.gaps, duplicates: this.client.duplicatesDropped,
      unavailable: this.unavailable, errors: this.errors, chains: Object.fromEntries(this.chains),
    };
  }
}

const watched: Watched[] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

async function open(req: OpenRequest): Promise<OpenResult> {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const one = async (spec: ClientSpec) => {
    const w = new Watched(spec);
    watched.push(w);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no subscribe ack within ${req.timeoutMs} ms from ${spec.urls[0]}`)), req.timeoutMs);
    });
    try {
      await Promise.race([w.client.subscribe(spec.symbols), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.clients.length) }, async () => {
    while (next < req.clients.length) {
      const spec = req.clients[next++];
      await one(spec).catch((err: Error) => {
        failed++;
        firstError ??= err.message;
      });
    }
  }));
  return { opened: req.clients.length - failed, failed, firstError };
}

/** Resolves with the clients that have a frame of each symbol, once all do or `timeoutMs` has passed. */
async function receiving(timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!watched.every((w) => w.isReceiving) && Date.now() < deadline) await sleep(POLL_MS);
  return watched.filter((w) => w.isReceiving).length;
}

function status(): Status {
  return { resumed: watched.filter((w) => w.isResumed).length, loopMaxMs: loop.max / 1e6 };
}

/** Waits (up to timeoutMs) until every client has delivered the stream's last entries, then reports all of them. */
async function finish(req: FinishRequest): Promise<GeneratorReport> {
  const deadline = Date.now() + req.timeoutMs;
  while (!watched.every((w) => w.reached(req.last)) && Date.now() < deadline) await sleep(POLL_MS);
  return { clients: watched.map((w) => w.outcome()), samples };
}

serveRpc(parentProcessChannel(), {
  open,
  receiving,
  steady: () => {
    latencies = [];
  },
  /** Ends the steady window; the event loop is watched from here on (the kill). */
  arm: (): Percentiles | undefined => {
    const steady = percentiles(latencies ?? []);
    latencies = undefined;
    loop.reset();
    return steady;
  },
  status,
  finish,
});
process.on('disconnect', () => process.exit(0));
