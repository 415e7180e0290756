/**
 * One client session: what it does with each request. Control replies are text JSON (src/protocol/messages.ts);
 * live data never passes through here (it is published to topics by the ingest fan-out), only per-client catch-up
 * data: snapshots and resume replays.
 *
 * Each held symbol has one tier (src/protocol/tiers.ts); a subscribe carries one tier for all its symbols and moves
 * a symbol held with another. Catch-ups are asked per tier: a request over symbols of several tiers (snapshot,
 * resume after pause) asks one after another, replies in the requests' order, one ack at the end.
 *
 * Every failure a client can cause ends in `reject`: one specific error to that client, one metric, nothing else.
 * The session's symbols change only through subscriptions.ts, its state (session-data.ts) only here.
 */
import { Ack, encodeAck, encodeError, encodeSnapshot } from '../protocol/messages';
import { parseRequest, Request, RequestError, RequestId, SubscribeRequest } from '../protocol/requests';
import { ConnectionRegistry, RegistryFullError } from '../registry/registry';
import { Metrics } from '../metrics/metrics';
import { Logger } from '../log';
import type { CatchupAnswer, CatchupRequest } from '../contracts/catchup';
import { refusedIsFlooding, takeToken } from './rate-limit';
import { closeLabel, endWith } from './close';
import { SessionData, SessionState, Socket } from './session-data';
import * as subscriptions from './subscriptions';
import { Tier, tierFor } from '../protocol/tiers';

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
  /** Whether the gateway serves the delayed tiers (--delay-s above 0); if not, a delayed subscribe is refused. */
  delayedTier: boolean;
  /** Asks the main thread for a snapshot and/or resume replay (see src/ingest/catchup.ts). */
  catchup(session: number, request: CatchupRequest): Promise<CatchupAnswer>;
  /** The session's catch-up in flight is no longer wanted (its client is gone): the main thread stops reading for it. */
  cancelCatchup(session: number): void;
}

export class SessionHandler {
  constructor(private readonly deps: SessionDeps) {}

  open(ws: Socket): void {
    const s = ws.getUserData().session;
    try {
      this.deps.registry.openSession(s.id, this.deps.workerId, s.connectedAt);
    } catch (err) {
      if (!(err instanceof RegistryFullError)) throw err;
      return endWith(ws, this.deps.metrics, 'TOO_MANY_CONNECTIONS');
    }
    this.deps.metrics.connectionsOpened.inc();
    this.deps.log.debug({ session: s.id, ip: s.ip, format: s.format }, 'session opened');
  }

  /** Removes every trace of the session; uWS has already dropped its topic subscriptions. */
  close(ws: Socket, code: number): void {
    const s = ws.getUserData().session;
    if (s.state === SessionState.CatchingUp) this.deps.cancelCatchup(s.id);
    subscriptions.drop(this.deps, s);
    s.state = SessionState.Closed;
    s.queued = undefined;
    this.deps.registry.closeSession(s.id);
    this.deps.metrics.connectionsClosed.inc({ reason: closeLabel(code) });
    this.deps.log.debug({ session: s.id, code }, 'session closed');
  }

  message(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    const s = ws.getUserData().session;
    const { limits } = this.deps;
    if (message.byteLength > limits.maxPayload) {
      return endWith(ws, this.deps.metrics, 'MESSAGE_TOO_BIG', message.byteLength, limits.maxPayload);
    }
    // The buffer is only valid during this callback: decode before anything else.
    const text = isBinary ? '' : Buffer.from(message).toString('utf8');
    const now = Date.now();
    if (!takeToken(s.bucket, limits.rateLimit, limits.rateBurst, now)) {
      if (refusedIsFlooding(s, limits.floodCloseAfter, limits.floodWindowMs, now)) {
        return endWith(ws, this.deps.metrics, 'FLOODING', limits.floodCloseAfter, limits.floodWindowMs);
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
    if (s.state === SessionState.CatchingUp) (s.queued ??= []).push(req);
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
        return this.ack(ws, { id: req.id, op: 'ping', time: Date.now() });
      case 'subscriptions':
        return this.ack(ws, { id: req.id, op: 'subscriptions', symbols: [...s.symbols.keys()] });
      case 'pause':
        return this.pause(ws, s, req.id);
      case 'resume':
        return this.resume(ws, s, req.id);
    }
  }

  /** Requests that arrived during a catch-up, in order, until one starts another catch-up. */
  private runQueued(ws: Socket, s: SessionData): void {
    const runs = () => s.state === SessionState.Open || s.state === SessionState.Paused;
    while (runs() && s.queued !== undefined && s.queued.length > 0) this.handle(ws, s, s.queued.shift()!);
  }

  private subscribe(ws: Socket, s: SessionData, req: SubscribeRequest): void {
    const { id, symbols } = req;
    const tier = tierFor(req.maxRate, req.delayed);
    if (tier.delayed && !this.deps.delayedTier) {
      return this.reject(ws, new RequestError('BAD_REQUEST', 'this gateway serves no delayed tier (--delay-s 0)', id));
    }
    if (!tier.delayed && s.entitlements?.realtime === false) {
      return this.reject(ws, new RequestError('FORBIDDEN', 'delayed data only: subscribe with "delayed":true', id));
    }
    const forbidden = s.entitlements ? symbols.filter((sym) => !s.entitlements!.allows(sym)) : [];
    if (forbidden.length > 0) {
      return this.reject(ws, new RequestError('FORBIDDEN', `not entitled to ${forbidden.slice(0, 10).join(', ')}${forbidden.length > 10 ? ', …' : ''}`, id));
    }
    // Symbols already held on this tier are live already: a snapshot or replay of them would duplicate ticks. Those
    // held on another tier move to this one, caught up from the request's since/snapshot like new ones.
    const changed = symbols.filter((sym) => s.symbols.get(sym) !== tier);
    const added = changed.filter((sym) => !s.symbols.has(sym)).length;
    if (s.symbols.size + added > this.deps.limits.maxSymbols) {
      return this.reject(ws, new RequestError('TOO_MANY_SYMBOLS',
        `subscribing to ${added} more symbols would exceed the limit of ${this.deps.limits.maxSymbols} per connection (${s.symbols.size} held)`, id));
    }
    const ack = () => this.ack(ws, { id, op: 'subscribe', symbols, maxRate: tier.maxRate, delayed: tier.delayed || undefined });
    if (s.state === SessionState.Paused) {
      // Counted and attached on resume, which starts with a snapshot of every symbol.
      subscriptions.add(ws, this.deps, s, changed, tier);
      return ack();
    }
    if (!subscriptions.reserve(this.deps, s, new Map(changed.map((sym) => [sym, tier])))) return this.capacityExceeded(ws, id);
    const since: Record<string, string> = {};
    for (const sym of changed) if (req.since[sym] !== undefined) since[sym] = req.since[sym];
    const snapshot = req.snapshot ? changed.filter((sym) => since[sym] === undefined) : [];
    if (snapshot.length === 0 && Object.keys(since).length === 0) {
      subscriptions.add(ws, this.deps, s, changed, tier);
      return ack();
    }
    this.catchUp(ws, s, id, [{ tier, symbols: changed, request: { format: s.format, tier: tier.index, snapshot, since } }], ack);
  }

  private capacityExceeded(ws: Socket, id: RequestId): void {
    this.reject(ws, new RequestError('CAPACITY_EXCEEDED', 'the gateway cannot track more topics now; retry later', id));
  }

  /**
   * Asks the main thread for a snapshot and/or replay per request, one after another. Requests that arrive
   * meanwhile wait in the queue, so every reply keeps the order of the requests; a rejection is answered like a
   * failed catch-up, and the first failed answer is the last one asked for.
   */
  private withCatchup(ws: Socket, s: SessionData, requests: readonly CatchupRequest[],
    answered: (answer: CatchupAnswer, index: number, last: boolean) => void): void {
    s.state = SessionState.CatchingUp;
    const ask = (i: number) => {
      this.deps.catchup(s.id, requests[i]).catch((err: Error): CatchupAnswer => ({ frames: [], unavailable: [], failed: err.message })).then((answer) => {
        if (s.state === SessionState.Closed) return;
        const last = i === requests.length - 1 || answer.failed !== undefined;
        if (last) s.state = SessionState.Open;
        answered(answer, i, last);
        if (last) this.runQueued(ws, s);
        else ask(i + 1);
      });
    };
    ask(0);
  }

  /**
   * The catch-up of each group's symbols (already reserved in the registry), then, per group in one corked write:
   * replay frames, RESUME_UNAVAILABLE, the snapshot, the socket's live subscription (so the first live frame follows
   * the catch-up); the ack after the last. On a failure the symbols still reserved are released and the client is
   * told; groups caught up before it stay.
   */
  private catchUp(ws: Socket, s: SessionData, id: RequestId, groups: readonly CatchupGroup[], ack: () => void): void {
    this.withCatchup(ws, s, groups.map((g) => g.request), (answer, i, last) => {
      if (answer.failed !== undefined) {
        subscriptions.release(this.deps, s);
        return this.reject(ws, new RequestError('INTERNAL', 'snapshot or resume failed: the gateway cannot reach Redis; retry later', id));
      }
      ws.cork(() => {
        for (const f of answer.frames) ws.send(f.frame, f.binary);
        if (answer.unavailable.length > 0) {
          this.deps.metrics.clientErrors.inc({ code: 'RESUME_UNAVAILABLE' });
          ws.send(encodeError({ id, code: 'RESUME_UNAVAILABLE', symbols: answer.unavailable,
            message: 'resume position cannot be replayed; a snapshot follows' }), false);
        }
        if (answer.snapshot) ws.send(encodeSnapshot({ id: id ?? undefined, ...answer.snapshot }), false);
        subscriptions.add(ws, this.deps, s, groups[i].symbols, groups[i].tier);
        if (last) ack();
      });
    });
  }

  /**
   * A fresh snapshot of the requested symbols the connection holds (others are ignored: an unsubscribe may have
   * crossed the request), one per tier they are held on. They are live already, so nothing is counted or
   * subscribed; each snapshot is built at its tier's frontier after every frame already handed to this worker, so it
   * never moves a client backwards. While paused there is nothing to refresh: resume starts with a snapshot anyway.
   */
  private snapshot(ws: Socket, s: SessionData, id: RequestId, symbols: string[]): void {
    const ack = () => this.ack(ws, { id, op: 'snapshot', symbols });
    const held = s.state === SessionState.Paused ? [] : symbols.filter((sym) => s.symbols.has(sym));
    if (held.length === 0) return ack();
    const requests = byTier(held.map((sym) => [sym, s.symbols.get(sym)!]))
      .map((g): CatchupRequest => ({ format: s.format, tier: g.tier.index, snapshot: g.symbols, since: {} }));
    this.withCatchup(ws, s, requests, (answer, _i, last) => {
      if (answer.failed !== undefined) {
        return this.reject(ws, new RequestError('INTERNAL', 'snapshot failed: the gateway cannot reach Redis; retry later', id));
      }
      ws.cork(() => {
        if (answer.snapshot) ws.send(encodeSnapshot({ id: id ?? undefined, ...answer.snapshot }), false);
        if (last) ack();
      });
    });
  }

  private unsubscribe(ws: Socket, s: SessionData, id: RequestId, symbols: string[]): void {
    subscriptions.remove(ws, this.deps, s, symbols);
    this.ack(ws, { id, op: 'unsubscribe', symbols });
  }

  /** A hidden browser tab: no data at all until resume; nothing is counted for it meanwhile. */
  private pause(ws: Socket, s: SessionData, id: RequestId): void {
    if (s.state !== SessionState.Paused) {
      subscriptions.pause(ws, this.deps, s);
      s.state = SessionState.Paused;
    }
    this.ack(ws, { id, op: 'pause' });
  }

  /** Back from pause: a fresh snapshot of every symbol (one per tier held), then live. */
  private resume(ws: Socket, s: SessionData, id: RequestId): void {
    const ack = () => this.ack(ws, { id, op: 'resume' });
    if (s.state !== SessionState.Paused) return ack();
    if (s.symbols.size === 0) {
      s.state = SessionState.Open;
      return ack();
    }
    const groups = byTier(s.symbols).map((g): CatchupGroup =>
      ({ ...g, request: { format: s.format, tier: g.tier.index, snapshot: g.symbols, since: {} } }));
    if (!subscriptions.resume(this.deps, s)) return this.capacityExceeded(ws, id);
    this.catchUp(ws, s, id, groups, ack);
  }

  /** Requests without an id get no ack. */
  private ack(ws: Socket, reply: Omit<Ack, 'id'> & { id: RequestId }): void {
    const { id } = reply;
    if (id !== null) ws.send(encodeAck({ ...reply, id }), false);
  }

  private reject(ws: Socket, err: RequestError): void {
    this.deps.metrics.clientErrors.inc({ code: err.code });
    ws.send(encodeError({ id: err.id, code: err.code, message: err.message }), false);
  }
}

/** Symbols of one tier and the catch-up that brings them live. */
interface CatchupGroup {
  tier: Tier;
  symbols: string[];
  request: CatchupRequest;
}

/** Symbols grouped by tier, groups in the order their tiers first appear. */
function byTier(entries: Iterable<[string, Tier]>): { tier: Tier; symbols: string[] }[] {
  const groups = new Map<Tier, string[]>();
  for (const [sym, tier] of entries) {
    const group = groups.get(tier);
    if (group) group.push(sym);
    else groups.set(tier, [sym]);
  }
  return [...groups].map(([tier, symbols]) => ({ tier, symbols }));
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
