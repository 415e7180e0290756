/**
 * One benchmark client per connection, in either protocol the systems under test speak:
 *   'tickgate': a WebSocket to /v1/stream (tickgate and the ws peer; raw-ws.ts), subscribe by text request,
 *               data frames.
 *   'socketio': socket.io-client over its WebSocket transport, subscribe by an acknowledged 'subscribe' event,
 *               data as 'ticks' events.
 * A client resolves once its subscription is acknowledged; everything it receives after that goes to the stats.
 */
import { io } from 'socket.io-client';
import { FormatName } from '../wire/formats';
import { DeliveryStats, isDataText } from './delivery-stats';
import { monotonicMicros } from './monotonic';
import { OP_BINARY, RawWs } from './raw-ws';

export type Protocol = 'tickgate' | 'socketio';

export interface ClientSpec {
  symbols: string[];
  format: FormatName;
  localAddress?: string;
}

export interface OpenClient {
  close(): void;
}

export class ClientOpenError extends Error {
  readonly code = 'BENCH_CLIENT_OPEN_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ClientOpenError';
  }
}

const OPEN_TIMEOUT_MS = 30_000;

export function openClient(protocol: Protocol, base: string, spec: ClientSpec, stats: DeliveryStats): Promise<OpenClient> {
  return protocol === 'tickgate' ? openTickgate(base, spec, stats) : openSocketIo(base, spec, stats);
}

function query(format: FormatName): string {
  const [encoding, compression] = format.split('+');
  return `?format=${encoding === 'json' ? 'json' : 'binary'}&compression=${compression ?? 'none'}`;
}

function openTickgate(base: string, spec: ClientSpec, stats: DeliveryStats): Promise<OpenClient> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let subscribed = false;
    let closing = false;
    const onMessage = (opcode: number, payload: Buffer, receivedUs: number): void => {
      if (opcode === OP_BINARY) return stats.binary(payload, receivedUs);
      if (isDataText(payload)) return stats.jsonText(payload, receivedUs);
      const control = JSON.parse(payload.toString()) as { type: string; id?: unknown; message?: string };
      if (control.type === 'ack' && control.id === 1 && !subscribed) {
        subscribed = true;
        resolve({ close: () => ((closing = true), ws.then((w) => w.close())) });
      } else if (control.type === 'error') {
        if (subscribed) stats.invalid++;
        else fail(`subscribe refused: ${control.message}`);
      }
    };
    const onClose = (reason: string): void => {
      if (subscribed && !closing) stats.closed++;
      else if (!subscribed) fail(reason);
    };
    const fail = (why: string) => {
      void ws.then((w) => w.close(), () => undefined);
      reject(new ClientOpenError(why));
    };
    const ws = RawWs.open({
      host: url.hostname, port: Number(url.port), path: `/v1/stream${query(spec.format)}`, localAddress: spec.localAddress,
      timeoutMs: OPEN_TIMEOUT_MS, now: monotonicMicros,
    }, { message: onMessage, close: onClose });
    ws.then((w) => w.sendText(JSON.stringify({ op: 'subscribe', id: 1, symbols: spec.symbols })), (err: Error) => fail(err.message));
  });
}

interface SocketIoTicks {
  ticks: { ts: number; tus?: string }[];
}

function openSocketIo(base: string, spec: ClientSpec, stats: DeliveryStats): Promise<OpenClient> {
  return new Promise((resolve, reject) => {
    const socket = io(base.replace(/^ws/, 'http'), {
      transports: ['websocket'], forceNew: true, reconnection: false, timeout: OPEN_TIMEOUT_MS, localAddress: spec.localAddress,
    } as Parameters<typeof io>[1]);
    let subscribed = false;
    let closing = false;
    // 'packet' fires before the packet is decoded into the event, so this is the size of the frame being handled.
    let frameBytes = 0;
    socket.io.on('open', () => socket.io.engine.on('packet', (p: { data?: unknown }) => (frameBytes = typeof p.data === 'string' ? p.data.length : 0)));
    socket.on('ticks', (frame: SocketIoTicks) => stats.decoded(frame.ticks, frameBytes));
    socket.on('connect', () => {
      socket.emit('subscribe', { op: 'subscribe', id: 1, symbols: spec.symbols }, (ack: { type: string }) => {
        if (ack?.type !== 'ack') {
          socket.close();
          return reject(new ClientOpenError(`subscribe refused: ${JSON.stringify(ack)}`));
        }
        subscribed = true;
        resolve({ close: () => ((closing = true), socket.close()) });
      });
    });
    socket.on('connect_error', (err) => {
      socket.close();
      reject(new ClientOpenError(err.message));
    });
    socket.on('disconnect', () => subscribed && !closing && stats.closed++);
  });
}
