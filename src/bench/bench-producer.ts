/**
 * The benchmark's tick producer (a child process, driven over IPC by run.ts): pipelined XADDs of the demo
 * producer's random-walk ticks, plus a `tus` field, the send time in monotonic microseconds, so the load generator
 * can measure latency below a millisecond. Binary formats drop unknown fields; they fall back to `ts` (ms).
 *
 * Unlike src/producer/producer.ts it runs an exact count per request, restarts the symbol rotation at symbol 0
 * each time (expected deliveries depend on it), and reports the rate it actually achieved.
 */
import { createClient } from 'redis';
import { RandomWalk } from '../producer/random-walk';
import { monotonicMicros } from './monotonic';
import { parentProcessChannel, serveRpc } from './rpc';

export interface ProduceRequest {
  stream: string;
  rate: number;
  count: number;
  symbols: number;
  /** MAXLEN ~ for XADD: keeps Redis memory bounded over a long ramp. */
  maxlen: number;
  /** XADDs per round trip. */
  pipeline: number;
}

export interface ProduceResult {
  sent: number;
  seconds: number;
  /** Ticks per second actually sent; below the requested rate when the producer or Redis was the limit. */
  achievedRate: number;
}

async function produce(client: ReturnType<typeof createClient>, req: ProduceRequest): Promise<ProduceResult> {
  const walk = new RandomWalk(req.symbols, 1);
  const trim = ['MAXLEN', '~', String(req.maxlen)];
  const started = performance.now();
  let sent = 0;
  while (sent < req.count) {
    const due = Math.floor(((performance.now() - started) / 1000) * req.rate) - sent;
    const n = Math.min(due, req.pipeline, req.count - sent);
    if (n <= 0) {
      // Sleeping bunches ticks into 1 ms bursts but adds nothing to measured latency: `tus` is stamped at send.
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    // One stamp per pipeline: these commands leave in one write.
    const now = Date.now();
    const tus = String(monotonicMicros());
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) batch.push(client.sendCommand(['XADD', req.stream, ...trim, '*', ...walk.nextFields(now), 'tus', tus]));
    await Promise.all(batch);
    sent += n;
  }
  const seconds = (performance.now() - started) / 1000;
  return { sent, seconds, achievedRate: sent / seconds };
}

async function main(): Promise<void> {
  const url = process.argv[2];
  const client = createClient({ url, name: 'tickgate-bench-producer' });
  client.on('error', (err: Error) => process.stderr.write(`bench producer: redis: ${err.message}\n`));
  await client.connect();
  serveRpc(parentProcessChannel(), {
    produce: (req: ProduceRequest) => produce(client, req),
    del: (stream: string) => client.del(stream),
  });
  // The orchestrator going away, for whatever reason, ends this helper.
  process.on('disconnect', () => process.exit(0));
}

main().catch((err: Error) => {
  process.stderr.write(`bench producer: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
