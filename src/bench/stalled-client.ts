/**
 * The slow consumer of src/bench/slow-consumer.ts, alone in its process so that nothing it does (or stops doing)
 * shares an event loop with the clients being measured. One WebSocket over a plain TCP socket (raw-ws.ts: the `ws`
 * library resumes its socket by itself, so it cannot be stalled reliably) subscribes to many symbols, reads at full
 * rate until told to stall, then never reads again: the kernel's buffers fill, then the gateway's.
 *
 * argv: <base ws:// URL>. Driven over IPC; exits when the orchestrator disconnects, which closes the socket.
 */
import { monotonicMicros } from './monotonic';
import { isDataText } from './delivery-stats';
import { OP_BINARY, RawWs } from './raw-ws';
import { parentProcessChannel, serveRpc } from './rpc';

export class StalledClientError extends Error {
  readonly code = 'BENCH_STALLED_CLIENT_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'StalledClientError';
  }
}

export interface OpenStalledRequest {
  symbols: string[];
}

/** What the client read before it stopped reading. */
export interface StalledReading {
  dataFrames: number;
  bytes: number;
}

const OPEN_TIMEOUT_MS = 10_000;
const base = new URL(process.argv[2]);
const reading: StalledReading = { dataFrames: 0, bytes: 0 };
let ws: RawWs | undefined;

function open(req: OpenStalledRequest): Promise<void> {
  if (ws !== undefined) throw new StalledClientError('already open');
  return new Promise((resolve, reject) => {
    const onMessage = (opcode: number, payload: Buffer): void => {
      reading.bytes += payload.length;
      if (opcode === OP_BINARY || isDataText(payload)) {
        reading.dataFrames++;
        return;
      }
      const m = JSON.parse(payload.toString()) as { type: string; id?: unknown; message?: string };
      if (m.type === 'ack' && m.id === 1) resolve();
      else if (m.type === 'error') reject(new StalledClientError(`subscribe refused: ${m.message}`));
    };
    RawWs.open({ host: base.hostname, port: Number(base.port), path: '/v1/stream?format=json', timeoutMs: OPEN_TIMEOUT_MS, now: monotonicMicros },
      { message: onMessage, close: (why) => reject(new StalledClientError(why)) }).then(
      (opened) => {
        ws = opened;
        opened.sendText(JSON.stringify({ op: 'subscribe', id: 1, symbols: req.symbols }));
      },
      reject,
    );
  });
}

function stall(): StalledReading {
  if (ws === undefined) throw new StalledClientError('not open');
  ws.stopReading();
  return { ...reading };
}

serveRpc(parentProcessChannel(), { open, stall });
process.on('disconnect', () => process.exit(0));
