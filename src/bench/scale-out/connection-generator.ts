/**
 * One load generator of connections.ts: a child process that opens its share of connections from one source
 * address (its own ~28k ephemeral ports), subscribes each to one symbol, and remembers per connection whether a
 * tick has arrived. Nothing is decoded beyond recognising a data frame and the subscribe's ack: it holds many idle
 * connections, it does not measure latency. Driven over its IPC channel (rpc.ts); exits when the channel closes.
 */
import { monotonicMicros } from '../monotonic';
import { RawWs } from '../raw-ws';
import { parentProcessChannel, serveRpc } from '../rpc';

export interface OpenRequest {
  port: number;
  localAddress: string;
  count: number;
  /** Connection i subscribes to symbols[(first + i) % symbols.length]. */
  symbols: string[];
  first: number;
  /** Handshakes in flight at once. */
  concurrency: number;
}

export interface OpenResult {
  opened: number;
  failed: number;
  firstError?: string;
  /** From the first connect to the last subscribe's ack. */
  seconds: number;
}

export interface GeneratorStatus {
  open: number;
  /** Connections that have received at least one data frame. */
  withTick: number;
  /** Connections the server closed or that dropped after their subscribe was acked. */
  dropped: number;
}

const HANDSHAKE_TIMEOUT_MS = 30_000;
const DATA_FRAME = Buffer.from('{"type":"ticks"');
const SUBSCRIBE_ACK = Buffer.from('{"type":"ack","id":1,');
const SUBSCRIBE_ERROR = Buffer.from('{"type":"error","id":1,');

const startsWith = (payload: Buffer, prefix: Buffer) => payload.subarray(0, prefix.length).equals(prefix);

const sockets: RawWs[] = [];
let withTick = 0;
let dropped = 0;

/** Opens one connection and resolves once its subscribe is acked. */
function openOne(req: OpenRequest, symbol: string): Promise<RawWs> {
  let acked = false;
  let ticked = false;
  let settle: { resolve(): void; reject(err: Error): void } | undefined;
  const ackedPromise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const opening = RawWs.open({
    host: '127.0.0.1', port: req.port, path: '/v1/stream', localAddress: req.localAddress, timeoutMs: HANDSHAKE_TIMEOUT_MS, now: monotonicMicros,
  }, {
    message: (_opcode, payload) => {
      if (!ticked && startsWith(payload, DATA_FRAME)) {
        ticked = true;
        withTick++;
      } else if (!acked && startsWith(payload, SUBSCRIBE_ACK)) {
        acked = true;
        settle!.resolve();
      } else if (!acked && startsWith(payload, SUBSCRIBE_ERROR)) {
        settle!.reject(new Error(`subscribe refused: ${payload.toString()}`));
      }
    },
    close: (reason) => {
      if (acked) dropped++;
      else settle!.reject(new Error(`closed before the subscribe was acked: ${reason}`));
    },
  });
  return opening.then(async (ws) => {
    ws.sendText(JSON.stringify({ op: 'subscribe', id: 1, symbols: [symbol] }));
    try {
      await ackedPromise;
    } catch (err) {
      ws.close();
      throw err;
    }
    return ws;
  });
}

async function openAll(req: OpenRequest): Promise<OpenResult> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < req.count) {
      const i = next++;
      try {
        sockets.push(await openOne(req, req.symbols[(req.first + i) % req.symbols.length]));
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.count) }, lane));
  return { opened: req.count - failed, failed, firstError, seconds: (performance.now() - started) / 1000 };
}

serveRpc(parentProcessChannel(), {
  open: openAll,
  status: (): GeneratorStatus => ({ open: sockets.length - dropped, withTick, dropped }),
  closeAll: () => {
    for (const ws of sockets.splice(0)) ws.close();
  },
});
process.on('disconnect', () => process.exit(0));
