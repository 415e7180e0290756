/**
 * One client session: its state, and what it does with each request. Control replies are text JSON; data never
 * passes through here (it is published to topics by the ingest fan-out).
 *
 * Every failure a client can cause ends in `reject`: one specific error to that client, one metric, nothing else.
 */
import type { WebSocket } from 'uWebSockets.js';
import { CLOSE_CODES, ErrorCode } from '../protocol/codes';
import { parseRequest, Request, RequestError, RequestId } from '../protocol/requests';
import { ConnectionRegistry, RegistryFullError } from '../registry/registry';
import { FormatName, topicFor } from '../wire/formats';
import { Metrics } from '../metrics/metrics';
import { Logger } from '../log';
import { Bucket, newBucket, takeToken } from './rate-limit';

export interface SessionData {
  id: number;
  format: FormatName;
  ip: string;
  symbols: Set<string>;
  bucket: Bucket;
  rejectedInARow: number;
}

export interface SessionLimits {
  maxSymbols: number;
  maxPayload: number;
  rateLimit: number;
  rateBurst: number;
  floodCloseAfter: number;
}

export interface SessionDeps {
  registry: ConnectionRegistry;
  metrics: Metrics;
  log: Logger;
  limits: SessionLimits;
  workerId: number;
}

export function newSessionData(id: number, format: FormatName, ip: string, limits: SessionLimits): SessionData {
  return { id, format, ip, symbols: new Set(), bucket: newBucket(limits.rateBurst, Date.now()), rejectedInARow: 0 };
}

type Socket = WebSocket<SessionData>;

export class SessionHandler {
  constructor(private readonly deps: SessionDeps) {}

  open(ws: Socket): void {
    const s = ws.getUserData();
    try {
      this.deps.registry.openSession(s.id, this.deps.workerId, Date.now());
    } catch (err) {
      if (!(err instanceof RegistryFullError)) throw err;
      this.deps.metrics.clientErrors.inc({ code: 'TOO_MANY_CONNECTIONS' });
      ws.end(CLOSE_CODES.TOO_MANY_CONNECTIONS, 'gateway at its connection capacity; retry with backoff');
      return;
    }
    this.deps.metrics.connectionsOpened.inc();
    this.deps.log.debug({ session: s.id, ip: s.ip, format: s.format }, 'session opened');
  }

  /** Removes every trace of the session; uWS has already dropped its topic subscriptions. */
  close(ws: Socket, code: number): void {
    const s = ws.getUserData();
    const { registry, metrics } = this.deps;
    for (const sym of s.symbols) registry.removeSubscription(s.id, topicFor(s.format, sym));
    s.symbols.clear();
    registry.closeSession(s.id);
    metrics.connectionsClosed.inc({ reason: closeReason(code) });
    this.deps.log.debug({ session: s.id, code }, 'session closed');
  }

  message(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    const s = ws.getUserData();
    const { limits } = this.deps;
    if (message.byteLength > limits.maxPayload) {
      this.deps.metrics.clientErrors.inc({ code: 'MESSAGE_TOO_BIG' });
      ws.end(CLOSE_CODES.MESSAGE_TOO_BIG, `frame of ${message.byteLength} bytes exceeds the ${limits.maxPayload}-byte limit`);
      return;
    }
    // The buffer is only valid during this callback: decode before anything else.
    const text = isBinary ? '' : Buffer.from(message).toString('utf8');
    if (!takeToken(s.bucket, limits.rateLimit, limits.rateBurst, Date.now())) {
      s.rejectedInARow++;
      if (s.rejectedInARow >= limits.floodCloseAfter) {
        this.deps.metrics.clientErrors.inc({ code: 'FLOODING' });
        ws.end(CLOSE_CODES.FLOODING, 'too many requests after RATE_LIMITED errors');
        return;
      }
      this.reject(ws, new RequestError('RATE_LIMITED', `more than ${limits.rateLimit} requests per second (burst ${limits.rateBurst})`, peekId(text)));
      return;
    }
    s.rejectedInARow = 0;
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
    this.handle(ws, s, req);
  }

  private handle(ws: Socket, s: SessionData, req: Request): void {
    switch (req.op) {
      case 'subscribe':
        return this.subscribe(ws, s, req.id, req.symbols);
      case 'unsubscribe':
        return this.unsubscribe(ws, s, req.id, req.symbols);
      case 'ping':
        return this.ack(ws, req.id, 'ping', { time: Date.now() });
      case 'subscriptions':
        return this.ack(ws, req.id, 'subscriptions', { symbols: [...s.symbols] });
    }
  }

  private subscribe(ws: Socket, s: SessionData, id: RequestId, symbols: string[]): void {
    const added = symbols.filter((sym) => !s.symbols.has(sym));
    if (s.symbols.size + added.length > this.deps.limits.maxSymbols) {
      return this.reject(ws, new RequestError('TOO_MANY_SYMBOLS',
        `subscribing to ${added.length} more symbols would exceed the limit of ${this.deps.limits.maxSymbols} per connection (${s.symbols.size} held)`, id));
    }
    const { registry } = this.deps;
    const done: string[] = [];
    try {
      for (const sym of added) {
        registry.addSubscription(s.id, topicFor(s.format, sym));
        done.push(sym);
      }
    } catch (err) {
      if (!(err instanceof RegistryFullError)) throw err;
      // All or nothing: a client must never hold half of what it asked for without knowing which half.
      for (const sym of done) registry.removeSubscription(s.id, topicFor(s.format, sym));
      return this.reject(ws, new RequestError('CAPACITY_EXCEEDED', 'the gateway cannot track more topics now; retry later', id));
    }
    for (const sym of added) {
      ws.subscribe(topicFor(s.format, sym));
      s.symbols.add(sym);
    }
    this.ack(ws, id, 'subscribe', { symbols });
  }

  private unsubscribe(ws: Socket, s: SessionData, id: RequestId, symbols: string[]): void {
    for (const sym of symbols) {
      if (!s.symbols.delete(sym)) continue;
      const topic = topicFor(s.format, sym);
      ws.unsubscribe(topic);
      this.deps.registry.removeSubscription(s.id, topic);
    }
    this.ack(ws, id, 'unsubscribe', { symbols });
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
