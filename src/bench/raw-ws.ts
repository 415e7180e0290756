/**
 * A minimal WebSocket client for the load generator: HTTP upgrade over a plain TCP socket, masked text frames
 * out, and a frame parser that hands each received message's payload to a callback without copying it (unless a
 * frame straddles two TCP reads), without UTF-8 validation, without an event per frame.
 *
 * Why not `ws`: at one tick per frame its per-message cost (events, buffers, UTF-8 validation) made the load
 * generator the ceiling of every system at about half a million frames per second on one core. What this client
 * skips is work a measuring instrument does not need; the receive time it reports is when the bytes came off the
 * socket, which is what latency is about. Server-to-client frames are never masked (RFC 6455 §5.1), and neither
 * tickgate nor the peers fragment or compress messages, so a fragmented or compressed frame is a protocol error here.
 */
import { randomBytes } from 'node:crypto';
import { connect, Socket } from 'node:net';

const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
const MAX_HEADER = 14 * 1024;

export class RawWsError extends Error {
  readonly code = 'BENCH_WS_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'RawWsError';
  }
}

export interface RawWsHandlers {
  /** One message; `payload` is valid only during the call. `receivedUs` is when its bytes were read. */
  message(opcode: number, payload: Buffer, receivedUs: number): void;
  close(reason: string): void;
}

export interface RawWsOptions {
  host: string;
  port: number;
  path: string;
  localAddress?: string;
  timeoutMs: number;
  now(): number;
}

export class RawWs {
  private pending: Buffer | undefined;
  private closed = false;

  private constructor(private readonly socket: Socket, private readonly handlers: RawWsHandlers, private readonly now: () => number) {}

  static open(opts: RawWsOptions, handlers: RawWsHandlers): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress, noDelay: true });
      const timer = setTimeout(() => fail('handshake timed out'), opts.timeoutMs);
      let head = Buffer.alloc(0);
      const fail = (why: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new RawWsError(why));
      };
      socket.once('error', (err) => fail(err.message));
      socket.once('connect', () => {
        socket.write(`GET ${opts.path} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      const onHead = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return head.length > MAX_HEADER ? fail('oversized handshake response') : undefined;
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!status.startsWith('HTTP/1.1 101')) return fail(`upgrade refused: ${status}`);
        clearTimeout(timer);
        socket.removeListener('data', onHead);
        socket.removeAllListeners('error');
        const ws = new RawWs(socket, handlers, opts.now);
        socket.on('data', (d: Buffer) => ws.onData(d));
        socket.on('error', (err) => ws.end(err.message));
        socket.on('close', () => ws.end('connection closed'));
        resolve(ws);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) ws.onData(rest);
      };
      socket.on('data', onHead);
    });
  }

  sendText(text: string): void {
    this.sendFrame(OP_TEXT, Buffer.from(text));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /**
   * Stops reading for good (src/bench/stalled-client.ts): Node reads until its stream buffer is full, then stops
   * reading the socket, so the kernel's buffers fill and then the server's.
   */
  stopReading(): void {
    this.socket.pause();
  }

  private sendFrame(opcode: number, payload: Buffer): void {
    if (payload.length > 0xffff) throw new RawWsError('client frames over 64 KiB are not needed by the bench');
    const mask = randomBytes(4);
    const header = payload.length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
      : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const masked = Buffer.allocUnsafe(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i & 3];
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.handlers.close(reason);
  }

  private onData(chunk: Buffer): void {
    const receivedUs = this.now();
    const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let at = 0;
    while (buf.length - at >= 2) {
      const b0 = buf[at];
      const b1 = buf[at + 1];
      if ((b1 & 0x80) !== 0 || (b0 & 0x70) !== 0 || (b0 & 0x80) === 0) return this.end('masked, compressed or fragmented frame from the server');
      let len = b1 & 0x7f;
      let header = 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        header = 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = Number(buf.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (buf.length - at < header + len) break;
      const payload = buf.subarray(at + header, at + header + len);
      at += header + len;
      const opcode = b0 & 0x0f;
      if (opcode === OP_TEXT || opcode === OP_BINARY) this.handlers.message(opcode, payload, receivedUs);
      else if (opcode === OP_PING) this.sendFrame(OP_PONG, payload);
      else if (opcode === OP_CLOSE) return this.end(`closed by server (${len >= 2 ? payload.readUInt16BE(0) : 1005})`);
    }
    // A copy: the rest of a straddling frame must not keep the whole chunk alive.
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
  }
}
