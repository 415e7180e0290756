/**
 * Does a topic table that filled and emptied cost the ingest path what a fresh one costs? Measured on the real
 * gateway (a child process, two workers) with a private redis-server and the bench producer:
 *
 *   1. fresh: an observer subscribes to a few symbols; the producer writes `--rate` ticks/s over 100 symbols for
 *      `--seconds`, twice; the gateway's main-thread CPU over each window is read from schedstat.
 *   2. fill and release: connections from one IP (this one) subscribe to distinct symbols, `--max-symbols` at a time,
 *      until `--refusals` connections in a row were refused CAPACITY_EXCEEDED (every worker's table is full), then
 *      all of them close, and the gateway's subscription count is back to the observer's.
 *   3. after: the same two windows again.
 *
 * The ratio of the mean CPU after to the mean CPU fresh is the figure (two windows each, since one 5-s window on a
 * shared machine varies by 10-20%): the fan-out looks every (symbol, format) up in every worker's table, so what
 * the tables cost shows up in the main thread. `--cli` points at another build to measure it the same way.
 *
 *   node dist/bench/registry-reclaim.js [--cli dist/cli.js] [--rate 10000] [--seconds 5] [--topic-capacity 65536]
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPrivateRedis } from '../demo/private-redis';
import { symbolNames } from '../producer/random-walk';
import { repoRoot, spawnNode, stopChild, whenServing } from './children';
import { startProducer } from './helpers';
import { threadCpuMs } from './proc-stats';
import { RawWs } from './raw-ws';
import { untilReady } from './systems';
import type { ProduceRequest, ProduceResult } from './bench-producer';

const SYMBOLS = 100;
const OBSERVED = 10;
const STREAM = 'ticks';

interface Reply {
  type: string;
  id?: number;
  code?: string;
}

/** One WebSocket connection that sends requests and awaits their replies by id; tick frames are ignored. */
class Requester {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  private constructor(private ws: RawWs | undefined) {}

  static async open(port: number): Promise<Requester> {
    const r = new Requester(undefined);
    r.ws = await RawWs.open({ host: '127.0.0.1', port, path: '/v1/stream', timeoutMs: 10_000, now: () => 0 }, {
      message: (_opcode, payload) => {
        const m = JSON.parse(payload.toString()) as Reply;
        if (m.type === 'ticks' || m.id === undefined) return;
        r.waiting.get(m.id)?.(m);
        r.waiting.delete(m.id);
      },
      close: (reason) => {
        for (const done of r.waiting.values()) done({ type: 'closed', code: reason });
        r.waiting.clear();
      },
    });
    return r;
  }

  subscribe(symbols: string[]): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws!.sendText(JSON.stringify({ op: 'subscribe', id, symbols }));
    });
  }

  close(): void {
    this.ws!.close();
  }
}

async function metric(http: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${http}/metrics`)).text();
  // Unlabelled but for the gateway's `instance`.
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cli: { type: 'string', default: join(repoRoot(), 'dist', 'cli.js') },
      rate: { type: 'string', default: '10000' },
      seconds: { type: 'string', default: '5' },
      'topic-capacity': { type: 'string', default: '65536' },
      'max-symbols': { type: 'string', default: '1000' },
      refusals: { type: 'string', default: '8' },
    },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const chunk = Number(values['max-symbols']);
  const redis = await startPrivateRedis();
  const gateway = spawnNode(values.cli!, ['gateway', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url,
    '--stream', STREAM, '--workers', '2', '--topic-capacity', values['topic-capacity']!, '--max-symbols', String(chunk),
    '--max-connections-per-ip', '100000', '--rate-limit', '100000', '--rate-burst', '100000',
    '--instance', 'registry-reclaim']);
  const producer = startProducer(redis.url, undefined);
  const open: Requester[] = [];
  try {
    const { port } = await whenServing('gateway', gateway);
    const http = `http://127.0.0.1:${port}`;
    await untilReady(http);
    const pid = gateway.pid!;
    const observer = await Requester.open(port);
    const observed = await observer.subscribe(symbolNames(SYMBOLS).slice(0, OBSERVED));
    if (observed.type !== 'ack') throw new Error(`observer not subscribed: ${JSON.stringify(observed)}`);

    const window = async (): Promise<{ cpuPercent: number; achievedRate: number }> => {
      const req: ProduceRequest = { stream: STREAM, rate, count: rate * seconds, symbols: SYMBOLS, maxlen: 100_000, pipeline: 100 };
      const cpu0 = threadCpuMs(pid);
      const t0 = performance.now();
      const r = await producer.rpc.call<ProduceResult>('produce', req);
      // Let the gateway read what is still in flight, so both windows end with the same work done.
      await sleep(200);
      return { cpuPercent: (100 * (threadCpuMs(pid) - cpu0)) / (performance.now() - t0), achievedRate: r.achievedRate };
    };

    await window(); // warm-up: JIT, first symbols
    const probeFresh = await metric(http, 'tickgate_registry_probe_slots');
    const fresh = [await window(), await window()];

    let refusedInARow = 0;
    let filled = 0;
    const fillStarted = performance.now();
    for (let c = 0; refusedInARow < Number(values.refusals); c++) {
      const conn = await Requester.open(port);
      open.push(conn);
      const reply = await conn.subscribe(Array.from({ length: chunk }, (_, i) => `F${c}-${i}`));
      if (reply.type === 'ack') {
        filled += chunk;
        refusedInARow = 0;
      } else if (reply.code === 'CAPACITY_EXCEEDED') {
        refusedInARow++;
      } else {
        throw new Error(`fill connection ${c}: ${JSON.stringify(reply)}`);
      }
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const probeFull = await metric(http, 'tickgate_registry_probe_slots');
    for (const conn of open.splice(0)) conn.close();
    await until('the fill released', async () => (await metric(http, 'tickgate_subscriptions')) === OBSERVED);
    const probeReleased = await metric(http, 'tickgate_registry_probe_slots');
    const after = [await window(), await window()];
    const cpu = (ws: { cpuPercent: number }[]) => ws.reduce((n, w) => n + w.cpuPercent, 0) / ws.length;

    console.log(JSON.stringify({
      cli: values.cli,
      rate,
      seconds,
      topicCapacity: Number(values['topic-capacity']),
      filledTopics: filled,
      fillSeconds: Number(fillSeconds.toFixed(1)),
      fresh,
      after,
      ratio: Number((cpu(after) / cpu(fresh)).toFixed(2)),
      probeSlots: { fresh: probeFresh, full: probeFull, released: probeReleased },
    }));
    observer.close();
  } finally {
    for (const conn of open) conn.close();
    await producer.stop();
    await stopChild(gateway);
    await redis.stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
