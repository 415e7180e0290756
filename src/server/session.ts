/**
 * One client session: its state, and what it does with each request. Control replies are text JSON; live data
 * never passes through here (it is published to topics by the ingest fan-out), only per-client catch-up data:
 * snapshots and resume replays.
 *
 * Every failure a client can cause ends in `reject`: one specific error to that client, one metric, nothing else.
 *
 * Three views of a session's symbols, kept consistent here:
 * - `symbols`: what the client subscribed to;
 * - the registry: what the fan-out must publish to this worker (symbols, unless paused, plus those whose
 *   catch-up is in flight);
 * - the socket's uWS topics: what reaches the client live (symbols, when neither paused nor degraded by the
 *   slow-consumer ladder).
 */
import type { WebSocket } from 'uWebSockets.js';
import { CLOSE_CODES, ErrorCode } from '../protocol/codes';
import { parseRequest, Request, RequestError, RequestId, SubscribeRequest } from '../protocol/requests';
import { ConnectionRegistry, RegistryFullError } from '../registry/registry';
import { FormatName, topicFor } from '../wire/formats';
import { Metrics } from '../metrics/metrics';
import { Logger } from '../log';
import type { CatchupAnswer, CatchupRequest, SnapshotTick } from '../ingest/catchup';
import type { Entitlements } from './auth';
import { Bucket, FloodWindow, newBucket, refusedIsFlooding, takeToken } from './rate-limit';
import { GAP_TOPIC } from '../protocol/gap';

export type Mode = 'full' | 'conflated' | 'snapshot-only';

export interface SessionData extends FloodWindow {
  id: number;
  format: FormatName;
  ip: string;
  connectedAt: number;
  entitlements: Entitlements | undefined;
  symbols: Set<string>;
  bucket: Bucket;
  closed: boolean;
  paused: boolean;
  /** A snapshot/resume is in flight: later requests wait in `queue`, so replies keep the requests' order. */
  busy: boolean;
  queue: Request[] | undefined;
  /** Symbols counted in the registry for an in-flight catch-up, not yet in `symbols`. */
  pending: readonly string[];
  /**
   * Slow-consumer ladder state, created the first time the client backs up and dropped when it is back at full
   * rate: most connections never need it, and every field on this object costs memory on each of them.
   */
  ladder: LadderState | undefined;
}

export interface LadderState {
  mode: Mode;
  aboveSince: number;
  belowSince: number;
  conflatedAt: number;
  /** In conflated mode: the last id sent per symbol, so each conflated frame states the range it covers. */
  lastSent: Map<string, string>;
}

/** Whether the socket is subscribed to its live topics: not while the ladder has it degraded. */
export function isFullRate(s: SessionData): boolean {
  return s.ladder === undefined || s.ladder.mode === 'full';
}

const NONE: readonly string[] = [];

export interface SessionLimits {
  maxSymbols: number;
  maxPayload: number;
  rateLimit: number;
  rateBurst: number;
  floodCloseAfter: number;
  floodWindowMs: number;
}

export interface SessionDeps {
  registry: ConnectionRegistry;
  metrics: Metrics;
  log: Logger;
  limits: SessionLimits;
  workerId: number;
  /** Asks the main thread for a snapshot and/or resume replay (see src/ingest/catchup.ts). */
  catchup(session: number, request: CatchupRequest): Promise<CatchupAnswer>;
  /** The session's catch-up in flight is no longer wanted (its client is gone): the main thread stops reading for it. */
  cancelCatchup(session: number): void;
}

export function newSessionData(id: number, format: FormatName, ip: string, limits: SessionLimits,
  entitlements: Entitlements | undefined): SessionData {
  const now = Date.now();
  return {
    id, format, ip, connectedAt: now, entitlements, symbols: new Set(), bucket: newBucket(limits.rateBurst, now),
    floodOpenedAt: -Infinity, floodRefused: 0, closed: false, paused: false, busy: false, queue: undefined, pending: NONE, ladder: undefined,
  };
}

/**
 * The socket's user data is one property holding the session. Measured with 5,000 idle subscribed connections
 * (one worker): with the session's fields on the user data itself and the ladder state inline, 5.6 KB of RSS per
 * connection; with the ladder state created on demand and this one-property holder, 4.0 KB.
 */
export interface SocketData {
  session: SessionData;
}

export type Socket = WebSocket<SocketData>;

/** Subscribes the socket to the live topics of all its symbols: the ladder's and resume's way back to full rate. */
export function attachTopics(ws: Socket, s: SessionData): void {
  for (const sym of s.symbols) ws.subscribe(topicFor(s.format, sym));
}

export function detachTopics(ws: Socket, s: SessionData): void {
  for (const sym of s.symbols) ws.unsubscribe(topicFor(s.format, sym));
}

/** `{"type":"snapshot",...}`: always text JSON; one per request, never on the hot path. */
export function snapshotMessage(id: RequestId, position: string, ticks: SnapshotTick[]): string {
  return JSON.stringify({ type: 'snapshot', id, position, ticks });
}

export class SessionHandler {
  constructor(private readonly deps: SessionDeps) {}

  open(ws: Socket): void {
    const s = ws.getUserData().session;
    try {
      this.deps.registry.openSession(s.id, this.deps.workerId, s.connectedAt);
    } catch (err) {
      if (!(err instanceof RegistryFullError)) throw err;
      this.deps.metrics.clientErrors.inc({ code: 'TOO_MANY_CONNECTIONS' });
      ws.end(CLOSE_CODES.TOO_MANY_CONNECTIONS, 'gateway at its connection capacity; retry with backoff');
      return;
    }
    // Loss announcements reach every connection, paused or degraded ones too: they concern every symbol it holds.
    ws.subscribe(GAP_TOPIC);
    this.deps.metrics.connectionsOpened.inc();
    this.deps.log.debug({ session: s.id, ip: s.ip, format: s.format }, 'session opened');
  }

  /** Removes every trace of the session; uWS has already dropped its topic subscriptions. */
  close(ws: Socket, code: number): void {
    const s = ws.getUserData().session;
    s.closed = true;
    if (s.busy) this.deps.cancelCatchup(s.id);
    const { registry, metrics } = this.deps;
    if (!s.paused) for (const sym of s.symbols) registry.removeSubscription(s.id, topicFor(s.format, sym));
    for (const sym of s.pending) registry.removeSubscription(s.id, topicFor(s.format, sym));
    s.symbols.clear();
    s.pending = NONE;
    s.queue = undefined;
    registry.closeSession(s.id);
    metrics.connectionsClosed.inc({ reason: closeReason(code) });
    this.deps.log.debug({ session: s.id, code }, 'session closed');
  }

  message(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    const s = ws.getUserData().session;
    const { limits } = this.deps;
    if (message.byteLength > limits.maxPayload) {
      this.deps.metrics.clientErrors.inc({ code: 'MESSAGE_TOO_BIG' });
      ws.end(CLOSE_CODES.MESSAGE_TOO_BIG, `frame of ${message.byteLength} bytes exceeds the ${limits.maxPayload}-byte limit`);
      return;
    }
    // The buffer is only valid during this callback: decode before anything else.
    const text = isBinary ? '' : Buffer.from(message).toString('utf8');
    const now = Date.now();
    if (!takeToken(s.bucket, limits.rateLimit, limits.rateBurst, now)) {
      if (refusedIsFlooding(s, limits.floodCloseAfter, limits.floodWindowMs, now)) {
        this.deps.metrics.clientErrors.inc({ code: 'FLOODING' });
        ws.end(CLOSE_CODES.FLOODING, `more than ${limits.floodCloseAfter} RATE_LIMITED requests within ${limits.floodWindowMs / 1000} s`);
        return;
      }
      this.reject(ws, new RequestError('RATE_LIMITED', `more than ${limits.rateLimit} requests per second (burst ${limits.rateBurst})`, peekId(text)));
      return;
    }
    if (isBinary) {
      this.reject(ws, new RequestError('UNSUPPORTED_FRAME', 'requests must be text frames containing JSON'));
      return;
    }
    let req: Request;
    try {
      req = parseRequest(text, limits.maxSymbols);
    } catch (err) {
      if (err instanceof RequestError) return this.reject(ws, err);
      throw err;
    }
    if (s.busy) (s.queue ??= []).push(req);
    else this.handle(ws, s, req);
  }

  private handle(ws: Socket, s: SessionData, req: Request): void {
    switch (req.op) {
      case 'subscribe':
        return this.subscribe(ws, s, req);
      case 'unsubscribe':
        return this.unsubscribe(ws, s, req.id, req.symbols);
      case 'snapshot':
        return this.snapshot(ws, s, req.id, req.symbols);
      case 'ping':
        return this.ack(ws, req.id, 'ping', { time: Date.now() });
      case 'subscriptions':
        return this.ack(ws, req.id, 'subscriptions', { symbols: [...s.symbols] });
      case 'pause':
        return this.pause(ws, s, req.id);
      case 'resume':
        return this.resume(ws, s, req.id);
    }
  }

  /** Requests that arrived during a catch-up, in order, until one starts another catch-up. */
  private drain(ws: Socket, s: SessionData): void {
    while (!s.busy && !s.closed && s.queue !== undefined && s.queue.length > 0) this.handle(ws, s, s.queue.shift()!);
  }

  private subscribe(ws: Socket, s: SessionData, req: SubscribeRequest): void {
    const { id, symbols } = req;
    const forbidden = s.entitlements ? symbols.filter((sym) => !s.entitlements!.allows(sym)) : [];
    if (forbidden.length > 0) {
      return this.reject(ws, new RequestError('FORBIDDEN', `not entitled to ${forbidden.slice(0, 10).join(', ')}${forbidden.length > 10 ? ', …' : ''}`, id));
    }
    // Symbols already subscribed are live already: a snapshot or replay of them would duplicate ticks.
    const added = symbols.filter((sym) => !s.symbols.has(sym));
    if (s.symbols.size + added.length > this.deps.limits.maxSymbols) {
      return this.reject(ws, new RequestError('TOO_MANY_SYMBOLS',
        `subscribing to ${added.length} more symbols would exceed the limit of ${this.deps.limits.maxSymbols} per connection (${s.symbols.size} held)`, id));
    }
    if (s.paused) {
      // Counted and attached on resume, which starts with a snapshot of every symbol.
      for (const sym of added) s.symbols.add(sym);
      return this.ack(ws, id, 'subscribe', { symbols });
    }
    if (!this.count(ws, s, id, added)) return;
    const since: Record<string, string> = {};
    for (const sym of added) if (req.since[sym] !== undefined) since[sym] = req.since[sym];
    const snapshot = req.snapshot ? added.filter((sym) => since[sym] === undefined) : [];
    if (snapshot.length === 0 && Object.keys(since).length === 0) {
      for (const sym of added) s.symbols.add(sym);
      if (isFullRate(s)) for (const sym of added) ws.subscribe(topicFor(s.format, sym));
      return this.ack(ws, id, 'subscribe', { symbols });
    }
    this.catchUp(ws, s, id, added, { format: s.format, snapshot, since }, () => this.ack(ws, id, 'subscribe', { symbols }));
  }

  /** Counts `syms` in the registry, all or none; on failure the client gets CAPACITY_EXCEEDED. */
  private count(ws: Socket, s: SessionData, id: RequestId, syms: string[]): boolean {
    const { registry } = this.deps;
    const done: string[] = [];
    try {
      for (const sym of syms) {
        registry.addSubscription(s.id, topicFor(s.format, sym));
        done.push(sym);
      }
      return true;
    } catch (err) {
      if (!(err instanceof RegistryFullError)) throw err;
      // All or nothing: a client must never hold half of what it asked for without knowing which half.
      for (const sym of done) registry.removeSubscription(s.id, topicFor(s.format, sym));
      this.reject(ws, new RequestError('CAPACITY_EXCEEDED', 'the gateway cannot track more topics now; retry later', id));
      return false;
    }
  }

  /**
   * Asks the main thread for a snapshot and/or replay. Requests that arrive meanwhile wait in the queue, so every
   * reply keeps the order of the requests; a rejection is answered like a failed catch-up.
   */
  private withCatchup(ws: Socket, s: SessionData, request: CatchupRequest, answered: (answer: CatchupAnswer) => void): void {
    s.busy = true;
    this.deps.catchup(s.id, request).catch((err: Error): CatchupAnswer => ({ frames: [], unavailable: [], failed: err.message })).then((answer) => {
      s.busy = false;
      if (s.closed) return;
      answered(answer);
      this.drain(ws, s);
    });
  }

  /**
   * The catch-up of `added` (already counted in the registry), then, in one corked write: replay frames,
   * RESUME_UNAVAILABLE, the snapshot, the socket's live subscription, the ack. On failure the counted symbols are
   * released and the client is told.
   */
  private catchUp(ws: Socket, s: SessionData, id: RequestId, added: string[], request: CatchupRequest, ack: () => void): void {
    s.pending = added;
    this.withCatchup(ws, s, request, (answer) => {
      s.pending = NONE;
      if (answer.failed !== undefined) {
        for (const sym of added) this.deps.registry.removeSubscription(s.id, topicFor(s.format, sym));
        return this.reject(ws, new RequestError('INTERNAL', 'snapshot or resume failed: the gateway cannot reach Redis; retry later', id));
      }
      ws.cork(() => {
        for (const f of answer.frames) ws.send(f.frame, f.binary);
        if (answer.unavailable.length > 0) {
          this.deps.metrics.clientErrors.inc({ code: 'RESUME_UNAVAILABLE' });
          ws.send(JSON.stringify({ type: 'error', id, code: 'RESUME_UNAVAILABLE', symbols: answer.unavailable,
            message: 'resume position cannot be replayed; a snapshot follows' }), false);
        }
        if (answer.snapshot) ws.send(snapshotMessage(id, answer.snapshot.position, answer.snapshot.ticks), false);
        for (const sym of added) s.symbols.add(sym);
        if (isFullRate(s)) for (const sym of added) ws.subscribe(topicFor(s.format, sym));
        ack();
      });
    });
  }

  /**
   * A fresh snapshot of the requested symbols the connection holds (others are ignored: an unsubscribe may have
   * crossed the request). They are live already, so nothing is counted or subscribed; the snapshot is built at the
   * frontier after every frame already handed to this worker, so it never moves a client backwards. While paused
   * there is nothing to refresh: resume starts with a snapshot anyway.
   */
  private snapshot(ws: Socket, s: SessionData, id: RequestId, symbols: string[]): void {
    const held = s.paused ? [] : symbols.filter((sym) => s.symbols.has(sym));
    if (held.length === 0) return this.ack(ws, id, 'snapshot', { symbols });
    this.withCatchup(ws, s, { format: s.format, snapshot: held, since: {} }, (answer) => {
      if (answer.failed !== undefined) {
        return this.reject(ws, new RequestError('INTERNAL', 'snapshot failed: the gateway cannot reach Redis; retry later', id));
      }
      ws.cork(() => {
        if (answer.snapshot) ws.send(snapshotMessage(id, answer.snapshot.position, answer.snapshot.ticks), false);
        this.ack(ws, id, 'snapshot', { symbols });
      });
    });
  }

  private unsubscribe(ws: Socket, s: SessionData, id: RequestId, symbols: string[]): void {
    for (const sym of symbols) {
      if (!s.symbols.delete(sym)) continue;
      if (s.paused) continue;
      const topic = topicFor(s.format, sym);
      ws.unsubscribe(topic);
      s.ladder?.lastSent.delete(sym);
      this.deps.registry.removeSubscription(s.id, topic);
    }
    this.ack(ws, id, 'unsubscribe', { symbols });
  }

  /** A hidden browser tab: no data at all until resume; nothing is counted for it meanwhile. */
  private pause(ws: Socket, s: SessionData, id: RequestId): void {
    if (!s.paused) {
      detachTopics(ws, s);
      for (const sym of s.symbols) this.deps.registry.removeSubscription(s.id, topicFor(s.format, sym));
      s.paused = true;
    }
    this.ack(ws, id, 'pause', {});
  }

  /** Back from pause: a fresh snapshot of every symbol, then live. */
  private resume(ws: Socket, s: SessionData, id: RequestId): void {
    if (!s.paused) return this.ack(ws, id, 'resume', {});
    const symbols = [...s.symbols];
    if (!this.count(ws, s, id, symbols)) return;
    s.paused = false;
    s.symbols.clear();
    this.catchUp(ws, s, id, symbols, { format: s.format, snapshot: symbols, since: {} }, () => this.ack(ws, id, 'resume', {}));
  }

  private ack(ws: Socket, id: RequestId, op: Request['op'], body: Record<string, unknown>): void {
    if (id === null) return;
    ws.send(JSON.stringify({ type: 'ack', id, op, ...body }), false);
  }

  private reject(ws: Socket, err: RequestError): void {
    this.deps.metrics.clientErrors.inc({ code: err.code });
    ws.send(errorMessage(err.code, err.message, err.id), false);
  }
}

export function errorMessage(code: ErrorCode, message: string, id: RequestId = null): string {
  return JSON.stringify({ type: 'error', id, code, message });
}

/** The id of a request we will not process, so the client can still match the RATE_LIMITED error to it. */
function peekId(text: string): RequestId {
  try {
    const o = JSON.parse(text) as { id?: unknown };
    return typeof o?.id === 'number' || (typeof o?.id === 'string' && o.id.length <= 64) ? o.id : null;
  } catch {
    return null;
  }
}

const CLOSE_REASONS: Record<number, string> = Object.fromEntries(
  Object.entries(CLOSE_CODES).map(([name, code]) => [code, name.toLowerCase()]),
);

/** A bounded label value for the close metric. 1005/1006 are the peer going away without a close code. */
function closeReason(code: number): string {
  return CLOSE_REASONS[code] ?? (code === 1005 || code === 1006 ? 'client_gone' : 'other');
}
