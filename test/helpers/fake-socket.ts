/**
 * An in-memory WebSocket for SDK tests that need exact control: the test opens, feeds and drops each connection
 * itself, synchronously, and reads what the client sent (parsed) and how it closed the socket.
 */
import { WebSocketConstructor, WebSocketLike } from '../../src/client/client';

export class FakeSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  /** Every text frame the client sent, parsed. */
  readonly sent: Record<string, unknown>[] = [];
  /** The arguments of the client's close() calls. */
  readonly closeCalls: [number | undefined, string | undefined][] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  /** As a real socket: closing until the server's close arrives (`drop`). */
  close(code?: number, reason?: string): void {
    this.closeCalls.push([code, reason]);
    this.readyState = 2;
  }

  /** The server accepts the connection. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** The server sends `data` (a text frame, or bytes as an ArrayBuffer or a view). */
  receive(data: unknown): void {
    this.onmessage?.({ data });
  }

  /** The server sends a JSON message. */
  message(msg: object): void {
    this.receive(JSON.stringify(msg));
  }

  /** Acks the request the client sent last on this socket. */
  ackLast(): void {
    const last = this.sent[this.sent.length - 1];
    this.message({ type: 'ack', id: last.id, op: last.op });
  }

  /** Refuses the request the client sent last on this socket with `code`. */
  refuseLast(code: string): void {
    this.message({ type: 'error', id: this.sent[this.sent.length - 1].id, code, message: `refused: ${code}` });
  }

  /** The connection ends with `code` (sent by the server, or the socket failing). */
  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/** A WebSocket class whose instances are collected in `sockets`, newest last. */
export function fakeWebSocket(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[]; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  class Collected extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return { WebSocket: Collected, sockets, last: () => sockets[sockets.length - 1] };
}

/**
 * The server side: a uWS socket as sessions, subscriptions, the ladder and heartbeats use it, recording what they
 * send and which topics it holds.
 */
export class FakeUwsSocket<D> {
  buffered = 0;
  /** Everything sent, oldest first. */
  readonly sent: { data: string | Uint8Array; binary: boolean }[] = [];
  readonly topics = new Set<string>();
  closedWith: number | undefined;
  corks = 0;

  constructor(private readonly data: D) {}

  getUserData(): D {
    return this.data;
  }

  getBufferedAmount(): number {
    return this.buffered;
  }

  send(data: string | Uint8Array, binary = false): number {
    this.sent.push({ data, binary });
    return 1;
  }

  subscribe(topic: string): boolean {
    this.topics.add(topic);
    return true;
  }

  unsubscribe(topic: string): boolean {
    return this.topics.delete(topic);
  }

  cork(f: () => void): this {
    this.corks++;
    f();
    return this;
  }

  end(code: number): void {
    this.closedWith = code;
  }

  /** The text messages sent, parsed, oldest first. */
  messages(): Record<string, unknown>[] {
    return this.sent.filter((m) => typeof m.data === 'string').map((m) => JSON.parse(m.data as string) as Record<string, unknown>);
  }
}
