/**
 * A stand-in for the gateway in SDK tests: records every connection URL and request, answers each request through
 * `onRequest` (an ack echoing the symbols, by default), and lets the test push frames on any connection.
 */
import { AddressInfo } from 'net';
import { WebSocket, WebSocketServer } from 'ws';
import { Ack, encodeAck } from '../../src/protocol/messages';

/** Reconnect delays short enough for a test to watch several reconnects. */
export const FAST_RECONNECT = { initialDelayMs: 10, maxDelayMs: 40 };
/** A symbol no test subscribes: once its frame arrives, everything the gateway sent before it has been handled. */
export const SENTINEL = 'ZZZ';

export interface Request {
  op: Ack['op'];
  id: number;
  symbols?: string[];
  snapshot?: boolean;
  since?: Record<string, string>;
  maxRate?: number;
  delayed?: boolean;
}

export type Handler = (request: Request, ws: WebSocket, connection: number) => void;

export const ack: Handler = (r, ws) => ws.send(encodeAck({ id: r.id, op: r.op, symbols: r.symbols }));

export class ScriptedGateway {
  readonly wss = new WebSocketServer({ port: 0 });
  readonly sockets: WebSocket[] = [];
  /** The request URL of each connection, in order. */
  readonly urls: string[] = [];
  /** Raw request texts, and the connection (0-based) each came on. */
  readonly requests: { raw: string; body: Request; connection: number }[] = [];
  onRequest: Handler = ack;
  private waiters: (() => void)[] = [];

  constructor() {
    this.wss.on('connection', (ws, req) => {
      const connection = this.sockets.length;
      this.sockets.push(ws);
      this.urls.push(req.url ?? '');
      ws.on('message', (data) => {
        const raw = String(data);
        const body = JSON.parse(raw) as Request;
        this.requests.push({ raw, body, connection });
        this.onRequest(body, ws, connection);
        this.notify();
      });
      this.notify();
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/v1/stream`;
  }

  get last(): WebSocket {
    return this.sockets[this.sockets.length - 1];
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `condition` holds, re-checked on every connection and request. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}
