/**
 * The tickgate client: one WebSocket to /v1/stream, requests as text JSON, data frames in the negotiated format,
 * and automatic reconnection that restores the subscribed symbol set.
 *
 * Platform-neutral: the WebSocket class is injected (the `ws` package in Node, the native one in browsers; see
 * node.ts and browser.ts), so this module pulls in neither.
 *
 * Request semantics across reconnects: the client keeps the set of symbols the application wants. A subscribe made
 * while disconnected, or in flight when the connection drops, is settled by the resubscription the client sends on
 * the next open. Unsubscribe and ping in flight at a drop reject with DISCONNECTED.
 */
import { shouldReconnect } from '../protocol/codes';
import { decodeFrame } from '../wire/frame';
import { Compression } from '../wire/formats';
import { DEFAULT_MAX_RAW_LENGTH } from '../wire/lz4-block';
import { DataFrame } from '../wire/tick';
import { BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff';
import { Emitter } from './emitter';
import { TickgateError } from './errors';

/**
 * The subset of the WHATWG WebSocket API the client uses; browsers and the `ws` package both provide it. Handler
 * parameters are `any` because each implementation declares its own event classes.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** Wire encoding of data frames. Default 'json'. */
  format?: 'json' | 'binary';
  /** Default 'none'. */
  compression?: Compression;
  /** false disables reconnecting; an object tunes the backoff. */
  reconnect?: boolean | Partial<BackoffOptions>;
  /** Largest decompressed frame accepted, bytes. */
  maxFrameBytes?: number;
}

export interface ClientEvents {
  open: [];
  ticks: [frame: DataFrame];
  close: [code: number, reason: string];
  /** Undecodable frames, request errors nobody awaits (e.g. a failed resubscription), socket errors. */
  error: [error: Error];
  reconnecting: [attempt: number, delayMs: number];
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

interface PendingRequest {
  op: 'subscribe' | 'unsubscribe' | 'ping';
  waiters: Waiter[];
  /** Symbols this subscribe added to the wanted set: dropped again if the server refuses the request. */
  added: string[];
}

const OPEN = 1;
const NORMAL_CLOSURE = 1000;

export class TickgateClient extends Emitter<ClientEvents> {
  private readonly url: string;
  private readonly backoff: BackoffOptions | null;
  private readonly maxFrameBytes: number;
  private socket: WebSocketLike | null = null;
  private readonly wanted = new Set<string>();
  private readonly pending = new Map<number, PendingRequest>();
  /** Subscribe calls to settle with the resubscription sent on the next open. */
  private waitingForOpen: Waiter[] = [];
  private nextId = 1;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(url: string, private readonly WebSocketImpl: WebSocketConstructor, options: ClientOptions = {}) {
    super();
    const u = new URL(url);
    u.searchParams.set('format', options.format ?? 'json');
    u.searchParams.set('compression', options.compression ?? 'none');
    this.url = u.toString();
    this.backoff = options.reconnect === false ? null : { ...DEFAULT_BACKOFF, ...(options.reconnect === true ? {} : options.reconnect) };
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_RAW_LENGTH;
    this.openSocket();
  }

  /** The symbols the client keeps subscribed, across reconnects. */
  get symbols(): string[] {
    return [...this.wanted];
  }

  get isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  /** Resolves on the server's ack; rejects with TickgateError carrying the server's code. */
  subscribe(symbols: string[]): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const added = symbols.filter((s) => !this.wanted.has(s));
    for (const s of added) this.wanted.add(s);
    if (!this.isOpen) return new Promise((resolve, reject) => this.waitingForOpen.push({ resolve, reject }));
    return this.request({ op: 'subscribe', symbols }, added);
  }

  unsubscribe(symbols: string[]): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    for (const s of symbols) this.wanted.delete(s);
    // A new connection starts with no subscriptions: there is nothing to undo on the server.
    if (!this.isOpen) return Promise.resolve();
    return this.request({ op: 'unsubscribe', symbols }, []);
  }

  /** Round trip to the server, in ms. */
  async ping(): Promise<number> {
    if (this.closed) throw closedError();
    if (!this.isOpen) throw new TickgateError('DISCONNECTED', 'not connected');
    const start = Date.now();
    await this.request({ op: 'ping' }, []);
    return Date.now() - start;
  }

  /** Closes the connection for good: no reconnect, every unsettled request rejects with CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.socket?.close(NORMAL_CLOSURE);
    this.rejectAll(closedError());
  }

  private request(body: { op: PendingRequest['op']; symbols?: string[] }, added: string[]): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op: body.op, waiters: [{ resolve, reject }], added });
      this.socket!.send(JSON.stringify({ op: body.op, id, ...(body.symbols && { symbols: body.symbols }) }));
    });
  }

  private openSocket(): void {
    const socket = new this.WebSocketImpl(this.url);
    this.socket = socket;
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
    this.attempt = 0;
    const waiters = this.waitingForOpen;
    this.waitingForOpen = [];
    if (this.wanted.size > 0) {
      const id = this.nextId++;
      this.pending.set(id, { op: 'subscribe', waiters, added: [] });
      this.socket!.send(JSON.stringify({ op: 'subscribe', id, symbols: [...this.wanted] }));
    } else {
      for (const w of waiters) w.resolve(); // unsubscribed again before the connection opened
    }
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
    let msg: { type?: unknown; id?: unknown; code?: unknown; message?: unknown };
    try {
      msg = JSON.parse(data);
    } catch {
      this.emit('error', new TickgateError('BAD_MESSAGE', 'server sent a text frame that is not JSON'));
      return;
    }
    if (msg.type === 'ticks') return this.emitFrame(data);
    const request = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (msg.type === 'error') {
      const err = new TickgateError(String(msg.code ?? 'UNKNOWN'), String(msg.message ?? 'request failed'));
      if (!request) return this.emit('error', err);
      this.pending.delete(msg.id as number);
      for (const s of request.added) this.wanted.delete(s);
      for (const w of request.waiters) w.reject(err);
      if (request.waiters.length === 0) this.emit('error', err);
    } else if (request) {
      this.pending.delete(msg.id as number);
      for (const w of request.waiters) w.resolve();
    }
  }

  private emitFrame(data: string | Uint8Array): void {
    let frame: DataFrame;
    try {
      frame = decodeFrame(data, { maxRawLength: this.maxFrameBytes });
    } catch (err) {
      this.emit('error', err as Error);
      return;
    }
    this.emit('ticks', frame);
  }

  private handleClose(code: number, reason: string): void {
    this.socket = null;
    const reconnect = !this.closed && this.backoff !== null && shouldReconnect(code);
    for (const request of this.pending.values()) {
      if (reconnect && request.op === 'subscribe') this.waitingForOpen.push(...request.waiters);
      else for (const w of request.waiters) w.reject(new TickgateError('DISCONNECTED', `connection closed (${code}) before the server answered`));
    }
    this.pending.clear();
    if (reconnect) {
      const delay = backoffDelay(this.attempt, this.backoff!);
      this.attempt++;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.openSocket();
      }, delay);
      this.emit('reconnecting', this.attempt, delay);
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
  }
}

function closedError(): TickgateError {
  return new TickgateError('CLOSED', 'the client was closed');
}
