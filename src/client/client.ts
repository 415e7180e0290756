/**
 * The tickgate client: one WebSocket to /v1/stream, requests as text JSON, data frames in the negotiated format,
 * and automatic reconnection that restores the subscribed symbol set.
 *
 * Failover (issue 15): the client holds a list of gateway URLs (or one, e.g. a load balancer's) and each reconnect
 * goes to the next one in turn, so a client whose gateway died resumes on another. The stream ids it holds are valid
 * on every instance, so the resubscription's `since` carries over unchanged. Delays follow reconnectDelay (the
 * backoff steps per full round of URLs that all failed); a drain (CLOSES.DRAINING) of a connection that was serving
 * skips the delay and is not counted as a failure: the instance is healthy but leaving, and the next one can serve the
 * resume now.
 *
 * Platform-neutral: the WebSocket class is injected (the `ws` package in Node, the native one in browsers; see
 * node.ts and browser.ts), so this module pulls in neither.
 *
 * Request semantics across reconnects: the client keeps the set of symbols the application wants. A subscribe made
 * while disconnected, or in flight when the connection drops, is settled by the resubscription the client sends on
 * the next open (so is a resume in flight). A pause made while disconnected, or in flight at a drop, is settled by the
 * pause the client re-sends after that resubscription. Unsubscribe and ping in flight at a drop reject with
 * DISCONNECTED.
 *
 * Continuity (protocol v1, issue 6): the client holds the last stream id it delivered per subscribed symbol. Every
 * data frame names the id published just before its first tick (`prev`): a live or replay frame whose `prev` is
 * newer than the held id (or absent while one is held) means ticks were missed, reported as a `gap` event; a
 * `conflated` frame skips ticks on purpose and is accepted silently. Ticks at or below the held id are duplicates
 * and are dropped before `ticks` is emitted (a frame whose `prev` is older than the held id overlaps what was
 * delivered: no gap, its old ticks are dropped). Snapshot frames move the held ids forward. On reconnect the
 * resubscription carries `since` (the held ids), so the server replays what the client missed; symbols the server
 * can no longer replay are reported as `resumeUnavailable` and come back as a snapshot.
 *
 * Tiers (issue 16, tiers.ts): each wanted symbol has the tier the application asked for, restored on reconnect by one
 * subscribe per tier. A rate tier's `conflated` frames chain by `prev` (each names the tier's previous frame), so
 * there a `prev` newer than the held id is a gap; the slow-consumer ladder's conflated frames skip on purpose and are
 * not. A heartbeat naming an id newer than the held one means the client missed frames (stalled, not quiet): a gap,
 * refreshed by a snapshot like an announced loss.
 */
import { CLOSES, isTransientError, reconnectsAtOnce, shouldReconnect } from '../protocol/codes';
import { decodeGapMessage, StreamLoss } from '../protocol/gap';
import { decodeError, decodeHeartbeat, decodeMode, decodeSnapshot, ErrorReply, Heartbeat, ModeChange, SnapshotFrame, StreamMode } from '../protocol/messages';
import { encodeRequest, OutgoingRequest } from '../protocol/requests';
import { Tier } from '../protocol/tiers';
import { decodeFrame } from '../wire/frame';
import { Compression } from '../wire/formats';
import { DEFAULT_MAX_RAW_LENGTH } from '../wire/lz4-block';
import { compareStreamIds, DataFrame } from '../wire/tick';
import { BackoffOptions, DEFAULT_BACKOFF, reconnectDelay } from './backoff';
import { Emitter } from './emitter';
import { TickgateError } from './errors';
import { SubscribeFields, SubscribePlan, TierBook, TierOptions } from './tiers';
import { gatewayUrls } from './urls';

/**
 * The subset of the WHATWG WebSocket API the client uses; browsers and the `ws` package both provide it. Handler
 * parameters are `any` because each implementation declares its own event classes.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /* eslint-disable @typescript-eslint/no-explicit-any -- any parameter type of ours would make neither implementation's handlers assignable */
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** Wire encoding of data frames. Default 'json'. */
  format?: 'json' | 'binary';
  /** Default 'none'. */
  compression?: Compression;
  /** false disables reconnecting (a drain included); an object tunes the backoff. */
  reconnect?: boolean | Partial<BackoffOptions>;
  /** Largest decompressed frame accepted, bytes. */
  maxFrameBytes?: number;
}

/**
 * `maxRate` and `delayed` choose the symbols' tier (TierOptions); a held symbol asked for on another tier moves there
 * without a gap.
 */
export interface SubscribeOptions extends TierOptions {
  /** Ask for one snapshot frame (the latest tick of each symbol) before the live flow; emitted as `snapshot`. */
  snapshot?: boolean;
}

/**
 * Ticks of `sym` may have been missed. Either a frame's `prev` (`got`; undefined if the frame had none) is not the
 * held id `expected`, or the gateway announced entries lost before it could read them (`loss`; `expected` is then
 * the held id, undefined if none yet), or a heartbeat named a newer id `got` than the held one (`stalled`). For the
 * last two the client asks for a fresh snapshot of the symbols concerned, emitted as `snapshot`.
 */
export interface GapEvent {
  sym: string;
  expected: string | undefined;
  got: string | undefined;
  loss?: StreamLoss;
  stalled?: true;
}

export interface ClientEvents {
  open: [];
  /** A data frame, without the ticks already delivered (duplicates). `kind` tells live, replay and conflated apart. */
  ticks: [frame: DataFrame];
  /**
   * A snapshot frame (after subscribe with `snapshot`, resume(), a resume the server could not serve, or a return to
   * `full` mode): the latest tick per symbol. Render its ticks like those of a `ticks` event; the client has already
   * moved its held ids to them, so the live flow continues from there without a gap.
   */
  snapshot: [frame: SnapshotFrame];
  /** Ticks were missed (see GapEvent). The frame's ticks are still emitted as `ticks` afterwards. */
  gap: [gap: GapEvent];
  /** The server could not replay these symbols from the held ids on reconnect; a snapshot of them follows. */
  resumeUnavailable: [event: { symbols: string[] }];
  /**
   * The subscribed symbols that had no data frame for the gateway's quiet interval, each with the last id on its
   * topic (null: none yet). Restricted to the symbols the client wants; a stalled one is also reported as `gap`.
   */
  heartbeat: [heartbeat: Heartbeat];
  /** The server changed this connection's delivery mode (slow consumer ladder); every connection starts in `full`. */
  mode: [change: ModeChange];
  close: [code: number, reason: string];
  /** Undecodable frames, request errors nobody awaits (e.g. a failed resubscription), socket errors. */
  error: [error: Error];
  /**
   * The connection closed and the client will open another, to `url` (the next gateway URL in turn; the same with
   * one URL) after `delayMs`. `attempt` counts the connections that failed since the last one that restored the
   * subscriptions, this one included; a drain of a serving connection is no failure: `attempt` and `delayMs` 0.
   */
  reconnecting: [attempt: number, delayMs: number, url: string];
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** A request before the client numbers it. */
type RequestBody = Unnumbered<OutgoingRequest>;
type Unnumbered<R> = R extends unknown ? Omit<R, 'id'> : never;
type Op = RequestBody['op'];

interface PendingRequest {
  op: Op;
  waiters: Waiter[];
  /** The symbols the request names: a heartbeat does not judge them while their catch-up is on its way. */
  symbols?: string[];
  /** What this subscribe changed in the wanted set: undone if the server refuses the request. */
  plan?: SubscribePlan;
  /** A subscribe sent on a new connection to restore the wanted set (one per tier). */
  restoring?: boolean;
}

const OPEN = 1;

export class TickgateClient extends Emitter<ClientEvents> {
  /** The gateway URLs as given, tried in turn from the first. */
  private readonly urls: readonly string[];
  /** The same with the format query each connection asks for. */
  private readonly streamUrls: readonly string[];
  /** The URL of the current connection, or of the next one while the client waits to reconnect. */
  private urlIndex = 0;
  private readonly backoff: BackoffOptions | null;
  private readonly maxFrameBytes: number;
  private socket: WebSocketLike | null = null;
  private readonly wanted = new TierBook();
  private readonly pending = new Map<number, PendingRequest>();
  /** Subscribe (and resume) calls to settle with the resubscription sent on the next open. */
  private waitingForOpen: Waiter[] = [];
  /** Pause calls to settle with the pause sent on the next open. */
  private pauseWaitingForOpen: Waiter[] = [];
  /**
   * The next resubscription asks for a snapshot of the symbols without a held id: set by a subscribe with `snapshot`
   * queued for the first open, and by every open (a later connection is a reconnect, and a symbol without a held id
   * then missed its earlier ticks).
   */
  private snapshotFresh = false;
  /** Last delivered stream id per wanted symbol; kept across reconnects for `since`. */
  private readonly lastIds = new Map<string, string>();
  /** The application's intent: re-applied on every new connection. */
  private pausedByApp = false;
  private currentMode: StreamMode = 'full';
  private duplicates = 0;
  private nextId = 1;
  private attempt = 0;
  /**
   * Whether the current connection has restored the wanted set (or had none to restore): only a drain of such a
   * connection reconnects at once, so a load balancer that keeps routing to a draining instance cannot cause a
   * loop of immediate reconnects.
   */
  private restored = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  /** `urls`: one gateway URL, or several tried in turn (see gatewayUrls); throws a TickgateError INVALID_URL. */
  constructor(urls: string | readonly string[], private readonly WebSocketImpl: WebSocketConstructor, options: ClientOptions = {}) {
    super();
    this.urls = gatewayUrls(urls);
    this.streamUrls = this.urls.map((url) => {
      const u = new URL(url);
      u.searchParams.set('format', options.format ?? 'json');
      u.searchParams.set('compression', options.compression ?? 'none');
      return u.toString();
    });
    // Spreading `true` (reconnect with the defaults) adds nothing.
    this.backoff = options.reconnect === false ? null : { ...DEFAULT_BACKOFF, ...(options.reconnect as Partial<BackoffOptions> | undefined) };
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_RAW_LENGTH;
    this.openSocket();
  }

  /**
   * The gateway URL, as given to connect(), of the current connection: the one open or opening, or while the client
   * waits to reconnect, the one it will try next.
   */
  get url(): string {
    return this.urls[this.urlIndex];
  }

  /** The symbols the client keeps subscribed, across reconnects. */
  get symbols(): string[] {
    return this.wanted.symbols();
  }

  /** The tier the client asks for `sym` and restores on reconnect (rounded as the server rounds); undefined if not subscribed. */
  tierOf(sym: string): Tier | undefined {
    return this.wanted.tierOf(sym);
  }

  /** The tier the server's last subscribe ack for `sym` stated. */
  grantedTier(sym: string): Tier | undefined {
    return this.wanted.grantedOf(sym);
  }

  get isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  /** Whether the application paused the flow (pause() without a later resume()). */
  get paused(): boolean {
    return this.pausedByApp;
  }

  /** The server's delivery mode for the current connection (the last `mode` message; `full` on every new connection). */
  get mode(): StreamMode {
    return this.currentMode;
  }

  /** Ticks dropped as duplicates (id at or below the held id) since the client was created. */
  get duplicatesDropped(): number {
    return this.duplicates;
  }

  /** The last stream id delivered for `sym` (by a data frame or a snapshot): where a resume continues from. */
  lastId(sym: string): string | undefined {
    return this.lastIds.get(sym);
  }

  /**
   * Resolves on the server's ack; rejects with TickgateError carrying the server's code. With `snapshot`, a
   * `snapshot` event precedes the ack.
   */
  subscribe(symbols: string[], options: SubscribeOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const plan = this.wanted.subscribe(symbols, options, (sym) => this.lastIds.get(sym));
    if (!this.isOpen) {
      for (const s of plan.rechained) this.lastIds.delete(s); // the resubscription starts them from a snapshot
      if (options.snapshot) this.snapshotFresh = true;
      return new Promise((resolve, reject) => this.waitingForOpen.push({ resolve, reject }));
    }
    return new Promise((resolve, reject) => this.send({ op: 'subscribe', ...plan.fields }, [{ resolve, reject }], { plan }));
  }

  unsubscribe(symbols: string[]): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    for (const s of symbols) {
      this.wanted.forget(s);
      this.lastIds.delete(s); // a later subscribe starts a new chain, not a gap
    }
    // A new connection starts with no subscriptions: there is nothing to undo on the server.
    if (!this.isOpen) return Promise.resolve();
    return this.request({ op: 'unsubscribe', symbols });
  }

  /**
   * Stops all data frames on this connection (and on later ones, until resume()). Resolves on the server's ack;
   * frames already on their way before it are still delivered.
   */
  pause(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.pausedByApp = true;
    if (!this.isOpen) return new Promise((resolve, reject) => this.pauseWaitingForOpen.push({ resolve, reject }));
    return this.request({ op: 'pause' });
  }

  /**
   * Restarts the flow: the server sends one snapshot (emitted as `snapshot`) of every subscribed symbol, then the
   * ack this promise resolves on, then live frames continuing from the snapshot. While disconnected it resolves at
   * once: the next connection starts unpaused.
   */
  resume(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.pausedByApp = false;
    if (!this.isOpen) {
      this.settle(this.pauseWaitingForOpen.splice(0)); // those pauses are undone before they reached a server
      return Promise.resolve();
    }
    return this.request({ op: 'resume' });
  }

  /** Round trip to the server, in ms. */
  async ping(): Promise<number> {
    if (this.closed) throw closedError();
    if (!this.isOpen) throw new TickgateError('DISCONNECTED', 'not connected');
    const start = Date.now();
    await this.request({ op: 'ping' });
    return Date.now() - start;
  }

  /** Closes the connection for good: no reconnect, every unsettled request rejects with CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(CLOSES.NORMAL.code);
    this.rejectAll(closedError());
  }

  private request(body: RequestBody): Promise<void> {
    return new Promise((resolve, reject) => this.send(body, [{ resolve, reject }]));
  }

  /** Sends a request whose ack or error settles `waiters`. */
  private send(body: RequestBody, waiters: Waiter[], about: Pick<PendingRequest, 'plan' | 'restoring'> = {}): void {
    const id = this.nextId++;
    this.pending.set(id, { op: body.op, waiters, ...('symbols' in body && { symbols: body.symbols }), ...about });
    this.socket!.send(encodeRequest({ ...body, id }));
  }

  private settle(waiters: Waiter[]): void {
    for (const w of waiters) w.resolve();
  }

  private openSocket(): void {
    const socket = new this.WebSocketImpl(this.streamUrls[this.urlIndex]);
    this.socket = socket;
    this.restored = false;
    socket.binaryType = 'arraybuffer';
    // Handlers check identity: events of a socket we already gave up on must not touch the current one.
    socket.onopen = () => {
      if (socket === this.socket) this.handleOpen();
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (socket === this.socket) this.handleMessage(event.data);
    };
    socket.onerror = (event: { error?: unknown; message?: string }) => {
      if (socket !== this.socket || this.closed) return; // aborting a handshake in close() reports an error too
      const err = event.error instanceof Error ? event.error : new Error(event.message ?? 'WebSocket error');
      this.emit('error', err);
    };
    socket.onclose = (event: { code: number; reason: string }) => {
      if (socket === this.socket) this.handleClose(event.code, event.reason);
    };
  }

  private handleOpen(): void {
    this.currentMode = 'full';
    const snapshotFresh = this.snapshotFresh;
    this.snapshotFresh = true;
    const waiters = this.waitingForOpen;
    this.waitingForOpen = [];
    if (this.wanted.size > 0) {
      // Resume, one subscribe per tier: symbols with a held id continue from it (`since`); the others start from a
      // snapshot when this is a reconnect (their earlier ticks were never seen) or when a queued subscribe asked for
      // one. The backoff restarts only once all of them are acked (see the error path in applyError).
      const groups: SubscribeFields[] = this.wanted.restore((sym) => this.lastIds.get(sym), snapshotFresh);
      const split = allOf(waiters, groups.length);
      groups.forEach((fields, i) => this.send({ op: 'subscribe', ...fields }, split[i], { restoring: true }));
    } else {
      this.markRestored();
      this.settle(waiters); // unsubscribed again before the connection opened
    }
    const pauseWaiters = this.pauseWaitingForOpen;
    this.pauseWaitingForOpen = [];
    if (this.pausedByApp) this.send({ op: 'pause' }, pauseWaiters);
    else this.settle(pauseWaiters);
    this.emit('open');
  }

  private handleMessage(data: unknown): void {
    if (typeof data !== 'string') {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (bytes) this.emitFrame(bytes);
      return;
    }
    // The gateway writes data frames with "type" first: skip parsing them twice on the common path.
    if (data.startsWith('{"type":"ticks"')) return this.emitFrame(data);
    let msg: { type?: unknown; id?: unknown; maxRate?: unknown; delayed?: unknown };
    try {
      msg = JSON.parse(data);
    } catch {
      this.emit('error', new TickgateError('BAD_MESSAGE', 'server sent a text frame that is not JSON'));
      return;
    }
    if (msg === null || typeof msg !== 'object') {
      this.emit('error', new TickgateError('BAD_MESSAGE', 'server sent a text frame that is not a JSON object'));
      return;
    }
    if (msg.type === 'ticks') return this.emitFrame(data);
    if (msg.type === 'snapshot') return this.applySnapshot(msg);
    if (msg.type === 'mode') return this.applyMode(msg);
    if (msg.type === 'gap') return this.applyLoss(msg as Record<string, unknown>);
    if (msg.type === 'heartbeat') return this.applyHeartbeat(msg);
    if (msg.type === 'error') return this.applyError(decodeError(msg));
    const request = this.pending.get(msg.id as number);
    if (request) {
      this.pending.delete(msg.id as number);
      if (request.op === 'subscribe') this.wanted.grant(request.symbols ?? [], msg);
      // A chain the request's snapshot did not restart (no tick of the symbol on the new tier yet) starts afresh.
      for (const s of request.plan?.rechained ?? []) this.lastIds.delete(s);
      if (request.restoring && ![...this.pending.values()].some((r) => r.restoring)) this.markRestored();
      for (const w of request.waiters) w.resolve();
    }
  }

  /** The connection serves what the application wants: the next drop starts the backoff over. */
  private markRestored(): void {
    this.attempt = 0;
    this.restored = true;
  }

  /** A request failed; RESUME_UNAVAILABLE only tells which symbols come back as a snapshot instead. */
  private applyError(reply: ErrorReply): void {
    if (reply.code === 'RESUME_UNAVAILABLE') return this.resumeUnavailable(reply.symbols ?? []);
    const request = this.pending.get(reply.id as number);
    const err = new TickgateError(reply.code, reply.message);
    if (!request) return this.emit('error', err);
    if (request.restoring && isTransientError(err.code)) {
      // A connection that cannot restore its symbols would stay open and silent: start over with backoff. The
      // request stays pending, so the close hands its waiters to the next connection's resubscription.
      this.emit('error', err);
      this.socket!.close(CLOSES.INTERNAL_ERROR.code, CLOSES.INTERNAL_ERROR.reason());
      return;
    }
    this.pending.delete(reply.id as number);
    if (request.plan) this.wanted.undo(request.plan);
    if (request.op === 'pause') this.pausedByApp = false;
    else if (request.op === 'resume') this.pausedByApp = true;
    for (const w of request.waiters) w.reject(err);
    if (request.waiters.length === 0) this.emit('error', err);
  }

  private emitFrame(data: string | Uint8Array): void {
    let frame: DataFrame;
    try {
      frame = decodeFrame(data, { maxRawLength: this.maxFrameBytes });
    } catch (err) {
      this.emit('error', err as Error);
      return;
    }
    const sym = frame.sym;
    // Continuity is tracked for the symbols the application wants; a frame still in flight after an unsubscribe
    // is delivered but must not start a chain that a later subscribe would report as a gap.
    if (!this.wanted.has(sym)) return this.emit('ticks', frame);
    const last = this.lastIds.get(sym);
    let ticks = frame.ticks;
    if (last !== undefined) {
      if (this.missed(frame, last)) this.emit('gap', { sym, expected: last, got: frame.prev });
      const kept = ticks.filter((t) => compareStreamIds(t.id, last) > 0);
      if (kept.length !== ticks.length) {
        this.duplicates += ticks.length - kept.length;
        if (kept.length === 0) return;
        ticks = kept;
        frame = { ...frame, ticks };
      }
    }
    for (const t of ticks) this.hold(sym, t.id);
    this.emit('ticks', frame);
  }

  /**
   * Whether a frame of a symbol holding `last` shows ticks were missed: a live or replay frame whose `prev` is not
   * chained to the held id, or on a rate tier a conflated frame whose `prev` is newer (a missed tier frame; its first
   * frame has no `prev`). The ladder's conflated frames skip ticks on purpose.
   */
  private missed(frame: DataFrame, last: string): boolean {
    const prev = frame.prev;
    if (frame.kind !== 'conflated') return prev === undefined || compareStreamIds(prev, last) > 0;
    return this.currentMode === 'full' && this.wanted.onRateTier(frame.sym) && prev !== undefined && compareStreamIds(prev, last) > 0;
  }

  private applySnapshot(msg: object): void {
    const snapshot = this.decoded(decodeSnapshot, msg);
    if (snapshot === undefined) return;
    // The snapshot of a move between real-time and delayed starts the symbols' new chain: the old held ids go (frames
    // before it were of the old chain, and no frame of the new one precedes it).
    const request = snapshot.id === undefined ? undefined : this.pending.get(snapshot.id as number);
    if (request?.plan) {
      for (const s of request.plan.rechained) this.lastIds.delete(s);
      request.plan.rechained = [];
    }
    for (const t of snapshot.ticks) if (this.wanted.has(t.sym)) this.hold(t.sym, t.id);
    this.emit('snapshot', snapshot);
  }

  /** Moves the held id of `sym` to `id` if that is newer: forward only, so an older id cannot re-admit ticks already delivered. */
  private hold(sym: string, id: string): void {
    const last = this.lastIds.get(sym);
    if (last === undefined || compareStreamIds(id, last) > 0) this.lastIds.set(sym, id);
  }

  /** A control message decoded, or undefined after an `error` event naming what was malformed. */
  private decoded<T>(decode: (input: object) => T, msg: object): T | undefined {
    try {
      return decode(msg);
    } catch (err) {
      this.emit('error', err as Error);
      return undefined;
    }
  }

  private applyMode(msg: object): void {
    const change = this.decoded(decodeMode, msg);
    if (change === undefined) return;
    this.currentMode = change.mode;
    this.emit('mode', change);
  }

  /**
   * Entries were lost before the gateway read them; it cannot say which symbols they carried, so every held symbol
   * of the tiers it concerns (delayed ones for a `delayed` announcement, real-time ones otherwise) may have a gap.
   * Each is reported, and one snapshot request refreshes them all.
   */
  private applyLoss(msg: Record<string, unknown>): void {
    const loss = decodeGapMessage(msg);
    if (loss === undefined) {
      this.emit('error', new TickgateError('BAD_MESSAGE', 'server sent a malformed gap message'));
      return;
    }
    const symbols = this.wanted.onSide(loss.delayed === true);
    for (const sym of symbols) this.emit('gap', { sym, expected: this.lastIds.get(sym), got: undefined, loss });
    this.refresh(symbols);
  }

  /**
   * A heartbeat names quiet symbols with the last id on their topic. One newer than the held id means frames were
   * missed. Not judged: symbols without a held id (they asked for no history), symbols whose subscribe or snapshot
   * is on its way (its reply moves the held id), and any while the ladder conflates (it skips frames on purpose).
   */
  private applyHeartbeat(msg: object): void {
    const heartbeat = this.decoded(decodeHeartbeat, msg);
    if (heartbeat === undefined) return;
    const quiet: Record<string, string | null> = {};
    const stalled: GapEvent[] = [];
    const busy = new Set([...this.pending.values()].flatMap((r) => r.symbols ?? []));
    for (const [sym, id] of Object.entries(heartbeat.quiet)) {
      if (!this.wanted.has(sym)) continue;
      quiet[sym] = id;
      const held = this.lastIds.get(sym);
      if (id === null || held === undefined || busy.has(sym) || this.currentMode !== 'full') continue;
      if (compareStreamIds(id, held) > 0) stalled.push({ sym, expected: held, got: id, stalled: true });
    }
    this.emit('heartbeat', { time: heartbeat.time, quiet });
    for (const gap of stalled) this.emit('gap', gap);
    this.refresh(stalled.map((g) => g.sym));
  }

  /**
   * One snapshot request for symbols that may have missed ticks. A paused connection gets its snapshot on resume; a
   * closed one resumes with `since`.
   */
  private refresh(symbols: string[]): void {
    if (symbols.length > 0 && this.isOpen && !this.pausedByApp) this.send({ op: 'snapshot', symbols }, []);
  }

  /** The request goes on: the server sends a snapshot of these symbols, which restarts their chains. */
  private resumeUnavailable(symbols: string[]): void {
    for (const s of symbols) this.lastIds.delete(s);
    this.emit('resumeUnavailable', { symbols });
  }

  private handleClose(code: number, reason: string): void {
    this.socket = null;
    const reconnect = !this.closed && this.backoff !== null && shouldReconnect(code);
    for (const request of this.pending.values()) {
      // Their snapshot never came: the resubscription starts them from one (their held ids are of the old chain).
      for (const s of request.plan?.rechained ?? []) this.lastIds.delete(s);
      if (reconnect && (request.op === 'subscribe' || request.op === 'resume')) this.waitingForOpen.push(...request.waiters);
      else if (reconnect && request.op === 'pause' && this.pausedByApp) this.pauseWaitingForOpen.push(...request.waiters);
      else if (reconnect && request.op === 'pause') this.settle(request.waiters); // resumed since: nothing to re-send
      else for (const w of request.waiters) w.reject(new TickgateError('DISCONNECTED', `connection closed (${code}) before the server answered`));
    }
    this.pending.clear();
    if (reconnect) {
      const atOnce = this.restored && reconnectsAtOnce(code);
      const delay = atOnce ? 0 : reconnectDelay(this.attempt, this.urls.length, this.backoff!);
      if (!atOnce) this.attempt++;
      this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      this.retryTimer = setTimeout(() => this.openSocket(), delay);
      this.emit('reconnecting', this.attempt, delay, this.url);
    } else {
      this.closed = true;
      this.rejectAll(new TickgateError('CLOSED', `connection closed for good (${code}${reason ? ': ' + reason : ''})`));
    }
    this.emit('close', code, reason);
  }

  private rejectAll(err: TickgateError): void {
    for (const request of this.pending.values()) for (const w of request.waiters) w.reject(err);
    this.pending.clear();
    for (const w of this.waitingForOpen) w.reject(err);
    this.waitingForOpen = [];
    for (const w of this.pauseWaitingForOpen) w.reject(err);
    this.pauseWaitingForOpen = [];
  }
}

/**
 * Splits `waiters` over `n` requests: each of the `n` returned lists settles one share; the waiters resolve once
 * every share has, and reject with the first error.
 */
function allOf(waiters: Waiter[], n: number): Waiter[][] {
  if (waiters.length === 0) return Array.from({ length: n }, () => []);
  let left = n;
  return Array.from({ length: n }, () => {
    let settled = false;
    return [{
      resolve: () => {
        if (settled) return;
        settled = true;
        if (--left === 0) for (const w of waiters) w.resolve();
      },
      reject: (err: Error) => {
        settled = true;
        for (const w of waiters) w.reject(err);
      },
    }];
  });
}

function closedError(): TickgateError {
  return new TickgateError('CLOSED', 'the client was closed');
}
