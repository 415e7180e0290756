/**
 * The HTTP and WebSocket surface of one uWebSockets.js App: `/v1/stream`, `/healthz`, `/readyz`, `/metrics`.
 * It owns the listen socket and the open connections; sessions own their requests; ingest owns the data path and
 * reaches clients only through `publish`.
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, us_socket_context_t } from 'uWebSockets.js';
import { Refusal, RefusalDetails, REFUSALS, UpgradeRefusal } from '../protocol/codes';
import { encodeRefusal } from '../protocol/messages';
import { COMPRESSIONS, Compression, ENCODINGS, Encoding, FormatName, formatName } from '../wire/formats';
import { join } from 'node:path';
import { loadUws } from './uws';
import { mountStaticDir, SDK_BUNDLE } from './static-files';
import { getAndHead, json, send } from './http';
import { SessionDeps, SessionHandler } from './session';
import { newSessionData, Socket, SocketData } from './session-data';
import { endWith } from './close';
import { AuthError, Authenticator, Entitlements, originAllowed, tokenFrom } from './auth';
import { SlowConsumerLadder } from './slow-consumers';
import { NewestFrames } from './newest-frames';
import { Heartbeats } from './heartbeats';
import { SharedCounterMap } from '../registry/shared-map';
import { RegistryFullError } from '../registry/registry';

/** What an upgrade needs after the request object is gone (auth verification is asynchronous). */
interface Handshake {
  key: string;
  protocol: string;
  extensions: string;
  ctx: us_socket_context_t;
  format: FormatName;
  ip: string;
}

export interface ServerOptions {
  host: string;
  idleTimeoutS: number;
  maxBackpressure: number;
  /** 0: no limit. Checked by the sweep, so enforced within a second. */
  maxLifetimeS: number;
  maxConnectionsPerIp: number;
  /** Empty: any origin. */
  allowedOrigins: readonly string[];
  /** Undefined: authentication off. */
  auth: Authenticator | undefined;
  /** Connections per client IP across every worker of the process. */
  ipCounts: SharedCounterMap;
  ladder: SlowConsumerLadder;
  /** The newest frame published per topic, which the ladder and the heartbeats read. */
  frames: NewestFrames;
  heartbeats: Heartbeats;
  /** How often the sweep runs the ladder, the heartbeats, and the lifetime and token-expiry checks. */
  sweepMs: number;
  /** Formats this build can encode; others are refused at upgrade with 400. */
  formats: ReadonlySet<FormatName>;
  /** False when /metrics is served on a separate admin port instead. */
  serveMetrics: boolean;
}

export interface ServerHooks {
  /** Liveness of the whole process (every worker), not only this thread. */
  health(): { status: 'ok' | 'degraded'; workersAlive: number; workers: number };
  isReady(): { ready: boolean; reason?: string };
  metricsText(): Promise<{ contentType: string; body: string }>;
  /** Counts an upgrade against the descriptors left; false near the limit (see descriptors.ts): refused with 503. */
  admitUpgrade(): boolean;
}

/** uWS closes frames above its own limit abruptly (1006). Ours is checked first, and answers with 1009. */
const UWS_PAYLOAD_HEADROOM = 4;
/** Time for close frames to leave before the remaining sockets are cut. */
const CLOSE_GRACE_MS = 100;

export class GatewayServer {
  private readonly app: TemplatedApp;
  private readonly sockets = new Set<Socket>();
  private listenSocket: us_listen_socket | undefined;
  /** The port actually bound (`--port 0` picks one), for listening again after a pause. */
  private port = 0;
  /** Sockets that dropped a frame, closed on the next turn of the loop (see closeDropped). */
  private readonly dropping = new Set<Socket>();
  private nextSessionId = 1;
  private readonly sweeper: NodeJS.Timeout;
  /** Set while draining (see drain): resolves the drain once the last client has gone. */
  private drained: (() => void) | undefined;

  constructor(private readonly opts: ServerOptions, private readonly deps: SessionDeps, private readonly hooks: ServerHooks) {
    const uws = loadUws();
    const sessions = new SessionHandler(deps);
    this.app = uws.App();
    this.app.ws<SocketData>('/v1/stream', {
      maxPayloadLength: deps.limits.maxPayload * UWS_PAYLOAD_HEADROOM,
      idleTimeout: opts.idleTimeoutS,
      sendPingsAutomatically: true,
      maxBackpressure: opts.maxBackpressure,
      compression: uws.DISABLED,
      upgrade: (res, req, ctx) => this.upgrade(res, req, ctx),
      open: (ws) => {
        this.sockets.add(ws);
        sessions.open(ws);
        // An upgrade that got past the closed listen socket (its token was being verified, or it came on a kept-alive
        // HTTP connection) goes elsewhere like the others.
        if (this.drained && this.sockets.has(ws)) endWith(ws, deps.metrics, 'DRAINING');
      },
      message: (ws, msg, isBinary) => sessions.message(ws, msg, isBinary),
      dropped: (ws) => this.closeDropped(ws),
      close: (ws, code) => {
        this.sockets.delete(ws);
        opts.ipCounts.decrement(ws.getUserData().session.ip);
        sessions.close(ws, code);
        if (this.sockets.size === 0) this.drained?.();
      },
    });
    this.sweeper = setInterval(() => this.sweep(), opts.sweepMs);
    getAndHead(this.app, '/healthz', (res, head) => json(res, '200 OK', hooks.health(), head));
    getAndHead(this.app, '/readyz', (res, head) => {
      const r = hooks.isReady();
      json(res, r.ready ? '200 OK' : '503 Service Unavailable', r, head);
    });
    if (opts.serveMetrics) getAndHead(this.app, '/metrics', (res, head) => this.metrics(res, head));
    // The demo page (dist/web) and the browser SDK bundle (dist/client), when they were built.
    const dist = join(__dirname, '..');
    mountStaticDir(this.app, join(dist, 'web'), '/', () => true, opts.allowedOrigins);
    mountStaticDir(this.app, join(dist, 'client'), '/client/', (name) => name === SDK_BUNDLE, opts.allowedOrigins);
    this.app.any('/*', (res, req) => answerRefusal(res, REFUSALS.NOT_FOUND, undefined, req.getMethod() === 'head'));
  }

  /** Every worker listens on the same port: uWS sets SO_REUSEPORT, and Linux spreads connections across them. */
  listen(port: number): Promise<number> {
    const uws = loadUws();
    return new Promise((resolve, reject) => {
      this.app.listen(this.opts.host, port, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${this.opts.host}:${port} (address in use or not permitted)`));
        this.listenSocket = socket;
        this.port = uws.us_socket_local_port(socket as unknown as import('uWebSockets.js').us_socket);
        resolve(this.port);
      });
    });
  }

  /** Closes the listen socket: the other workers (or, when all pause, the kernel) turn new connections away. */
  pauseAccept(): void {
    if (this.listenSocket === undefined) return;
    loadUws().us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  /** Listens on the same port again (uWS sets SO_REUSEPORT); false if it cannot yet. uWS calls back synchronously. */
  resumeAccept(): boolean {
    if (this.listenSocket !== undefined) return true;
    this.app.listen(this.opts.host, this.port, (socket) => {
      if (socket) this.listenSocket = socket;
    });
    return this.listenSocket !== undefined;
  }

  /** The fan-out's only way to reach clients. */
  publish(topic: string, frame: string | Uint8Array, isBinary: boolean): void {
    this.app.publish(topic, frame, isBinary);
    this.opts.frames.published(topic, frame, isBinary);
  }

  /**
   * A control message for every client, paused or degraded ones too. Sent socket by socket, not published on a topic
   * every socket holds: it is rare (a loss announcement), and a topic subscription costs every idle connection
   * memory for its whole life. Corked: outside a uWS callback each send would otherwise be its own syscall.
   */
  broadcast(text: string): void {
    for (const ws of this.sockets) ws.cork(() => ws.send(text, false));
  }

  /** Sockets with more than `limit` bytes not yet sent. O(connections): for a metrics scrape, not the hot path. */
  backpressuredSockets(limit: number): number {
    let n = 0;
    for (const ws of this.sockets) if (ws.getBufferedAmount() > limit) n++;
    return n;
  }

  /**
   * Graceful drain: stops accepting (with SO_REUSEPORT, another process on the port takes the new connections) and
   * closes each client with 4007, "go to another instance now and resume", as soon as nothing waits in its send
   * buffer: at once for a client that keeps up; one still receiving queued frames keeps its subscriptions until it
   * has them all, so it leaves with everything published to it. Resolves once no client is left; close() ends the
   * drain, and whoever is still there.
   */
  drain(): Promise<void> {
    this.pauseAccept();
    return new Promise((resolve) => {
      this.drained = resolve;
      this.sweep();
      if (this.sockets.size === 0) resolve();
    });
  }

  /**
   * Stops accepting, closes every client with `code`, then closes whatever is left (HTTP keep-alive sockets
   * included). A thread must not exit while uWS still holds a socket: Node aborts the whole process then.
   */
  async close(code: number, reason: string): Promise<void> {
    clearInterval(this.sweeper);
    if (this.listenSocket) {
      loadUws().us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    for (const ws of [...this.sockets]) ws.end(code, reason);
    await new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS));
    this.app.close();
  }

  /** For a thread that is failing: cut every socket now, so it can exit without taking the process down. */
  abort(): void {
    clearInterval(this.sweeper);
    this.app.close();
  }

  /**
   * uWS drops a frame for a client over maxBackpressure and tells nobody; we close it instead, so the client knows
   * it missed data and can resume (counted as 4001; the close frame itself cannot get past the full buffer). Not from
   * inside the callback: any ws.end() on a socket over the limit (this one, the ladder's, a shutdown's) has its close
   * frame dropped too, and uWS calls back here from inside end() with a socket already closed, on which every call
   * throws; an exception thrown through uWS's native end() crashed the whole process (SIGSEGV), every client with it.
   */
  private closeDropped(ws: Socket): void {
    if (this.dropping.has(ws)) return;
    this.dropping.add(ws);
    setImmediate(() => {
      if (this.sockets.has(ws)) {
        endWith(ws, this.deps.metrics, 'SLOW_CONSUMER', false);
      }
      this.dropping.delete(ws);
    });
  }

  /**
   * Per-connection checks that need time to pass: the slow-consumer ladder, the quiet-symbol heartbeat, max
   * lifetime, token expiry; while draining, whether a client's send buffer is empty (the ladder and heartbeats rest
   * then: a degraded client only drains).
   */
  private sweep(): void {
    const now = Date.now();
    const maxAge = this.opts.maxLifetimeS * 1000;
    const heartbeat = this.opts.heartbeats.begin(now);
    for (const ws of this.sockets) {
      const s = ws.getUserData().session;
      if (s.entitlements?.expiresAt !== undefined && s.entitlements.expiresAt <= now) {
        endWith(ws, this.deps.metrics, 'TOKEN_EXPIRED');
      } else if (this.drained) {
        if (ws.getBufferedAmount() === 0) endWith(ws, this.deps.metrics, 'DRAINING');
      } else if (maxAge > 0 && now - s.connectedAt >= maxAge) {
        endWith(ws, this.deps.metrics, 'MAX_LIFETIME');
      } else {
        // Before the ladder, which may close the socket (every call on a closed uWS socket throws).
        if (heartbeat) this.opts.heartbeats.send(ws);
        this.opts.ladder.check(ws, now);
      }
    }
    if (heartbeat) this.opts.heartbeats.end();
  }

  private upgrade(res: HttpResponse, req: HttpRequest, ctx: us_socket_context_t): void {
    if (!this.hooks.admitUpgrade()) {
      return this.refuse(res, 'DESCRIPTORS');
    }
    // The request object is only valid until the first await: read everything now.
    const encoding = (req.getQuery('format') ?? 'json') as Encoding;
    const compression = (req.getQuery('compression') ?? 'none') as Compression;
    const origin = req.getHeader('origin');
    const token = tokenFrom(req.getHeader('authorization'), req.getQuery('token'));
    const handshake: Handshake = {
      key: req.getHeader('sec-websocket-key'), protocol: req.getHeader('sec-websocket-protocol'),
      extensions: req.getHeader('sec-websocket-extensions'), ctx,
      format: formatName(encoding, compression), ip: Buffer.from(res.getRemoteAddressAsText()).toString(),
    };
    let problem: string | undefined;
    if (!ENCODINGS.includes(encoding)) problem = `unsupported format ${JSON.stringify(encoding)}: use ${ENCODINGS.join(' or ')}`;
    else if (!COMPRESSIONS.includes(compression)) problem = `unsupported compression ${JSON.stringify(compression)}: use ${COMPRESSIONS.join(' or ')}`;
    else if (!this.opts.formats.has(handshake.format)) problem = `format ${handshake.format} is not available in this build`;
    if (problem) return this.refuse(res, 'BAD_FORMAT', problem);
    if (!originAllowed(origin, this.opts.allowedOrigins)) return this.refuse(res, 'ORIGIN', origin);
    const auth = this.opts.auth;
    if (!auth) return this.admit(res, handshake, undefined);
    if (token === undefined) return this.refuse(res, 'NO_TOKEN');
    let aborted = false;
    res.onAborted(() => (aborted = true));
    auth.verify(token).then(
      (entitlements) => !aborted && res.cork(() => this.admit(res, handshake, entitlements)),
      (err: Error) => !aborted && res.cork(() => this.refuse(res, 'BAD_TOKEN',
        err instanceof AuthError ? err.message : 'token verification failed')),
    );
  }

  private admit(res: HttpResponse, h: Handshake, entitlements: Entitlements | undefined): void {
    let fromIp: number;
    try {
      fromIp = this.opts.ipCounts.increment(h.ip);
    } catch (err) {
      if (!(err instanceof RegistryFullError)) throw err;
      return this.refuse(res, 'CAPACITY');
    }
    if (fromIp > this.opts.maxConnectionsPerIp) {
      this.opts.ipCounts.decrement(h.ip);
      return this.refuse(res, 'PER_IP', this.opts.maxConnectionsPerIp, h.ip);
    }
    const data = newSessionData(this.nextSessionId++, h.format, h.ip, this.deps.limits, entitlements);
    res.upgrade<SocketData>({ session: data }, h.key, h.protocol, h.extensions, h.ctx);
  }

  /** Refuses an upgrade with one of the protocol's refusals, counted. */
  private refuse<N extends UpgradeRefusal>(res: HttpResponse, name: N, ...details: RefusalDetails<N>): void {
    const r = REFUSALS[name];
    this.deps.metrics.upgradesRejected.inc({ reason: r.label });
    answerRefusal(res, r, (r.message as (...d: RefusalDetails<N>) => string)(...details), false);
  }

  private metrics(res: HttpResponse, head: boolean): void {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    this.hooks.metricsText().then(
      ({ contentType, body }) => {
        if (!aborted) res.cork(() => send(res.writeHeader('content-type', contentType), body, head));
      },
      (err: unknown) => {
        if (!aborted) res.cork(() => send(res.writeStatus('500 Internal Server Error'), String(err), head));
      },
    );
  }
}

function answerRefusal(res: HttpResponse, r: Refusal, message: string | undefined, head: boolean): void {
  send(res.writeStatus(r.status).writeHeader('content-type', 'application/json'), encodeRefusal({ error: r.error, message }), head);
}
