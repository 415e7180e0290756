/**
 * The HTTP and WebSocket surface of one uWebSockets.js App: `/v1/stream`, `/healthz`, `/readyz`, `/metrics`.
 * It owns the listen socket and the open connections; sessions own their requests; ingest owns the data path and
 * reaches clients only through `publish`.
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, us_socket_context_t, WebSocket } from 'uWebSockets.js';
import { CLOSE_CODES } from '../protocol/codes';
import { COMPRESSIONS, Compression, ENCODINGS, Encoding, FormatName, formatName } from '../wire/formats';
import { join } from 'node:path';
import { loadUws } from './uws';
import { mountStaticDir } from './static-files';
import { newSessionData, SessionData, SessionDeps, SessionHandler } from './session';

export interface ServerOptions {
  host: string;
  idleTimeoutS: number;
  maxBackpressure: number;
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
}

/** uWS closes frames above its own limit abruptly (1006). Ours is checked first, and answers with 1009. */
const UWS_PAYLOAD_HEADROOM = 4;
/** Time for close frames to leave before the remaining sockets are cut. */
const CLOSE_GRACE_MS = 100;

export class GatewayServer {
  private readonly app: TemplatedApp;
  private readonly sockets = new Set<WebSocket<SessionData>>();
  private listenSocket: us_listen_socket | undefined;
  private nextSessionId = 1;

  constructor(private readonly opts: ServerOptions, private readonly deps: SessionDeps, private readonly hooks: ServerHooks) {
    const uws = loadUws();
    const sessions = new SessionHandler(deps);
    this.app = uws.App();
    this.app.ws<SessionData>('/v1/stream', {
      maxPayloadLength: deps.limits.maxPayload * UWS_PAYLOAD_HEADROOM,
      idleTimeout: opts.idleTimeoutS,
      sendPingsAutomatically: true,
      maxBackpressure: opts.maxBackpressure,
      compression: uws.DISABLED,
      upgrade: (res, req, ctx) => this.upgrade(res, req, ctx),
      open: (ws) => {
        this.sockets.add(ws);
        sessions.open(ws);
      },
      message: (ws, msg, isBinary) => sessions.message(ws, msg, isBinary),
      // uWS drops a published frame for a client over maxBackpressure and tells nobody; we close it instead, so
      // the client knows it missed data and can resume.
      dropped: (ws) => {
        deps.metrics.slowConsumerDisconnects.inc();
        ws.end(CLOSE_CODES.SLOW_CONSUMER, 'client too slow: send buffer over limit');
      },
      close: (ws, code) => {
        this.sockets.delete(ws);
        sessions.close(ws, code);
      },
    });
    this.app.get('/healthz', (res) => json(res, '200 OK', hooks.health()));
    this.app.get('/readyz', (res) => {
      const r = hooks.isReady();
      json(res, r.ready ? '200 OK' : '503 Service Unavailable', r);
    });
    if (opts.serveMetrics) this.app.get('/metrics', (res) => this.metrics(res));
    // The demo page (dist/web) and the browser SDK bundle it loads (dist/client), when they were built.
    const dist = join(__dirname, '..');
    mountStaticDir(this.app, join(dist, 'web'), '/');
    mountStaticDir(this.app, join(dist, 'client'), '/client/');
    this.app.any('/*', (res) => json(res, '404 Not Found', { error: 'NOT_FOUND' }));
  }

  /** Every worker listens on the same port: uWS sets SO_REUSEPORT, and Linux spreads connections across them. */
  listen(port: number): Promise<number> {
    const uws = loadUws();
    return new Promise((resolve, reject) => {
      this.app.listen(this.opts.host, port, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${this.opts.host}:${port} (address in use or not permitted)`));
        this.listenSocket = socket;
        resolve(uws.us_socket_local_port(socket as unknown as import('uWebSockets.js').us_socket));
      });
    });
  }

  /** The fan-out's only way to reach clients. */
  publish(topic: string, frame: string | Uint8Array, isBinary: boolean): void {
    this.app.publish(topic, frame, isBinary);
  }

  numSubscribers(topic: string): number {
    return this.app.numSubscribers(topic);
  }

  /** Sockets with more than `limit` bytes not yet sent. O(connections): for a metrics scrape, not the hot path. */
  backpressuredSockets(limit: number): number {
    let n = 0;
    for (const ws of this.sockets) if (ws.getBufferedAmount() > limit) n++;
    return n;
  }

  /**
   * Stops accepting, closes every client with `code`, then closes whatever is left (HTTP keep-alive sockets
   * included). A thread must not exit while uWS still holds a socket: Node aborts the whole process then.
   */
  async close(code: number, reason: string): Promise<void> {
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
    this.app.close();
  }

  private upgrade(res: HttpResponse, req: HttpRequest, ctx: us_socket_context_t): void {
    const encoding = (req.getQuery('format') ?? 'json') as Encoding;
    const compression = (req.getQuery('compression') ?? 'none') as Compression;
    let problem: string | undefined;
    if (!ENCODINGS.includes(encoding)) problem = `unsupported format ${JSON.stringify(encoding)}: use ${ENCODINGS.join(' or ')}`;
    else if (!COMPRESSIONS.includes(compression)) problem = `unsupported compression ${JSON.stringify(compression)}: use ${COMPRESSIONS.join(' or ')}`;
    else if (!this.opts.formats.has(formatName(encoding, compression))) problem = `format ${formatName(encoding, compression)} is not available in this build`;
    if (problem) {
      this.deps.metrics.upgradesRejected.inc({ reason: 'bad_format' });
      json(res, '400 Bad Request', { error: 'BAD_REQUEST', message: problem });
      return;
    }
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    const data = newSessionData(this.nextSessionId++, formatName(encoding, compression), ip, this.deps.limits);
    res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'), ctx);
  }

  private metrics(res: HttpResponse): void {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    this.hooks.metricsText().then(
      ({ contentType, body }) => {
        if (!aborted) res.cork(() => res.writeHeader('content-type', contentType).end(body));
      },
      (err: unknown) => {
        if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end(String(err)));
      },
    );
  }
}

function json(res: HttpResponse, status: string, body: unknown): void {
  res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body));
}
