/**
 * Recovery after a gateway restart, measured on the real thing: a private redis-server, the gateway CLI as a child
 * process, real WebSocket clients.
 *
 * Restart: half the stream is written, the gateway starts, K clients subscribe to 10 symbols each with a snapshot and
 * hold its ids; the gateway is SIGKILLed, the other half is written while it is down, the gateway restarts and every
 * client resubscribes with `since` at once. Reported: the time from the restart's "serving" until every client has
 * its ack, and whether what each received (replay, then live) equals XRANGE after its `since`, per symbol.
 *
 * Hang-up: 20 observer clients on 10 symbols each measure tick latency (receive time − the producer's `ts`) while a
 * producer writes live; one client then resumes 1,000 symbols from the stream's first entry and disconnects after
 * 1 s. Reported: the gateway's CPU and the observers' p99 in the window before and the window after.
 *
 * `--cli` runs another build (for before/after figures from one checkout).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { startPrivateRedis } from '../demo/private-redis';
import { repoRoot, spawnNode, whenServing } from './children';
import { cpuSeconds } from './proc-stats';

type Plain = ReturnType<typeof createClient>;

interface Options {
  cli: string;
  entries: number[];
  clients: number[];
  symbols: number;
  perClient: number;
  workers: number;
  timeoutMs: number;
  hangup: boolean;
  restart: boolean;
  hangupEntries: number;
}

function parse(argv: string[]): Options {
  const o: Options = {
    cli: join(repoRoot(), 'dist', 'cli.js'), entries: [10_000, 150_000], clients: [1, 20, 200], symbols: 100, perClient: 10,
    workers: 2, timeoutMs: 60_000, hangup: true, restart: true, hangupEntries: 150_000,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--cli': o.cli = v; i++; break;
      case '--entries': o.entries = v.split(',').map(Number); i++; break;
      case '--clients': o.clients = v.split(',').map(Number); i++; break;
      case '--workers': o.workers = Number(v); i++; break;
      case '--timeout-ms': o.timeoutMs = Number(v); i++; break;
      case '--hangup-entries': o.hangupEntries = Number(v); i++; break;
      case '--no-hangup': o.hangup = false; break;
      case '--no-restart': o.restart = false; break;
      default: throw new Error(`unknown option ${argv[i]}; options: --cli PATH --entries 10000,150000 --clients 1,20,200 --workers N --timeout-ms MS --hangup-entries N --no-hangup --no-restart`);
    }
  }
  return o;
}

const STREAM = 'ticks';

async function fill(c: Plain, count: number, symbols: number, offset = 0): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const n = Math.min(1000, count - start);
    const batch = c.multi();
    for (let k = 0; k < n; k++) {
      const i = offset + start + k;
      batch.xAdd(STREAM, '*', { sym: `S${i % symbols}`, px: (100 + (i % 1000) / 100).toFixed(2), sz: '1', ts: String(Date.now()) });
    }
    await batch.exec();
  }
}

interface Gw {
  child: ChildProcess;
  port: number;
}

async function startGw(o: Options, redisUrl: string, instance: string): Promise<Gw> {
  const child = spawnNode(o.cli, ['gateway', '--port', '0', '--host', '127.0.0.1', '--redis', redisUrl, '--stream', STREAM,
    '--instance', instance, '--workers', String(o.workers), '--max-symbols', '1000']);
  const s = await whenServing('gateway', child);
  return { child, port: s.port };
}

function kill(gw: Gw): Promise<void> {
  return new Promise((resolve) => {
    if (gw.child.exitCode !== null || gw.child.signalCode !== null) return resolve();
    gw.child.once('exit', () => resolve());
    gw.child.kill('SIGKILL');
  });
}

/** One client: every tick id per symbol, replies by request id, and a hook for each tick's receive time. */
class Client {
  readonly ids = new Map<string, string[]>();
  readonly replies = new Map<number, { type: string; code?: string; [k: string]: unknown }[]>();
  onTick: ((ts: number, at: number) => void) | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const at = Date.now();
      const m = JSON.parse(data.toString()) as { type: string; id?: number; sym?: string; ticks?: { id: string; ts: number }[]; code?: string };
      if (m.type === 'ticks') {
        const list = this.ids.get(m.sym!) ?? [];
        for (const t of m.ticks!) {
          list.push(t.id);
          this.onTick?.(t.ts, at);
        }
        this.ids.set(m.sym!, list);
      } else if (typeof m.id === 'number') {
        const list = this.replies.get(m.id) ?? [];
        list.push(m);
        this.replies.set(m.id, list);
      }
    });
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  /** Resolves with the final reply (ack or refusing error) of request `id`. */
  async final(id: number, deadline: number): Promise<{ type: string; code?: string; [k: string]: unknown }> {
    for (;;) {
      const r = this.replies.get(id)?.find((m) => m.type === 'ack' || (m.type === 'error' && m.code !== 'RESUME_UNAVAILABLE'));
      if (r) return r;
      if (Date.now() > deadline) throw new Error(`request ${id}: no answer in time`);
      await sleep(5);
    }
  }
}

interface RestartResult {
  entries: number;
  clients: number;
  answeredMs: number | undefined;
  answered: number;
  unavailable: number;
  exact: number;
}

async function restartRun(o: Options, redisUrl: string, c: Plain, entries: number, k: number): Promise<RestartResult> {
  await c.del(STREAM);
  const instance = `bench-${entries}-${k}`;
  await fill(c, entries / 2, o.symbols);
  let gw = await startGw(o, redisUrl, instance);
  await sleep(500);
  const clients: Client[] = [];
  const syms: string[][] = [];
  const held: Record<string, string>[] = [];
  for (let i = 0; i < k; i++) {
    const cl = await Client.open(gw.port);
    const mine = Array.from({ length: o.perClient }, (_, j) => `S${(i * o.perClient + j) % o.symbols}`);
    cl.ws.send(JSON.stringify({ op: 'subscribe', id: 1, symbols: mine, snapshot: true }));
    clients.push(cl);
    syms.push(mine);
  }
  for (let i = 0; i < k; i++) {
    await clients[i].final(1, Date.now() + 60_000);
    const snap = clients[i].replies.get(1)!.find((m) => m.type === 'snapshot') as unknown as { ticks: { sym: string; id: string }[] };
    held.push(Object.fromEntries(snap.ticks.map((t) => [t.sym, t.id])));
  }
  await kill(gw);
  for (const cl of clients) cl.ws.terminate();
  await fill(c, entries / 2, o.symbols, entries / 2);
  gw = await startGw(o, redisUrl, instance);
  const t0 = Date.now();
  const deadline = t0 + o.timeoutMs;
  const resumed = await Promise.all(held.map(() => Client.open(gw.port)));
  let answered = 0;
  let unavailable = 0;
  const times: number[] = [];
  await Promise.all(resumed.map(async (cl, i) => {
    for (let attempt = 2; ; attempt++) {
      cl.ws.send(JSON.stringify({ op: 'subscribe', id: attempt, symbols: syms[i], since: held[i] }));
      let r;
      try {
        r = await cl.final(attempt, deadline);
      } catch {
        return;
      }
      // INTERNAL: the reader has not set up its group yet; a client retries.
      if (r.type === 'error') {
        await sleep(100);
        continue;
      }
      answered++;
      times.push(Date.now() - t0);
      if (cl.replies.get(attempt)!.some((m) => m.code === 'RESUME_UNAVAILABLE')) unavailable++;
      return;
    }
  }));
  // Live ticks of the backlog may still be on their way: wait until the gateway has published the stream's end.
  await sleep(1000);
  const all = await c.xRange(STREAM, '-', '+');
  let exact = 0;
  resumed.forEach((cl, i) => {
    const ok = syms[i].every((sym) => {
      const want = all.filter((e) => e.message.sym === sym && cmp(e.id, held[i][sym]) > 0).map((e) => e.id);
      const got = cl.ids.get(sym) ?? [];
      return got.length === want.length && got.every((id, j) => id === want[j]);
    });
    if (ok) exact++;
  });
  for (const cl of resumed) cl.ws.terminate();
  await kill(gw);
  return { entries, clients: k, answeredMs: answered === k ? Math.max(...times) : undefined, answered, unavailable, exact };
}

function cmp(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

function p99(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

interface HangupResult {
  baselineP99Ms: number;
  hangupP99Ms: number;
  /** CPU percent of the gateway and of redis-server, per window: before, with the hang-up, the next one. */
  gatewayCpu: number[];
  redisCpu: number[];
}

/** Window lengths: the hang-up window covers the 1 s the client stays plus the work left behind. */
const WINDOW_MS = 8000;

async function hangupRun(o: Options, redisUrl: string, redisPid: number, c: Plain): Promise<HangupResult> {
  await c.del(STREAM);
  const syms = 1000;
  const gw = await startGw(o, redisUrl, 'bench-hangup');
  await fill(c, o.hangupEntries, syms);
  await sleep(2000);
  const first = (await c.xRange(STREAM, '-', '+', { COUNT: 1 }))[0].id;
  const observers = await Promise.all(Array.from({ length: 20 }, () => Client.open(gw.port)));
  let samples: number[] = [];
  observers.forEach((cl, i) => {
    cl.onTick = (ts, at) => samples.push(at - ts);
    cl.ws.send(JSON.stringify({ op: 'subscribe', id: 1, symbols: Array.from({ length: 10 }, (_, j) => `S${i * 10 + j}`) }));
  });
  // A live producer: 500 ticks/s over the observers' 200 symbols, in batches of 5 every 10 ms.
  let n = 0;
  const producer = setInterval(() => {
    const m = c.multi();
    for (let j = 0; j < 5; j++, n++) m.xAdd(STREAM, '*', { sym: `S${n % 200}`, px: '1.00', sz: '1', ts: String(Date.now()) });
    void m.exec();
  }, 10);
  const pids = [gw.child.pid!, redisPid];
  const cpu = () => pids.map(cpuSeconds);
  /** CPU percent of each pid over one window. */
  const window = async (): Promise<number[]> => {
    const c0 = cpu();
    await sleep(WINDOW_MS);
    return cpu().map((s1, k) => Math.round(((s1 - c0[k]) * 100_000) / WINDOW_MS));
  };
  await sleep(1000);
  samples = [];
  const before = await window();
  const baseline = samples;
  samples = [];
  // A bare socket that parses nothing: the observers' receive times are taken in this process, and decoding the
  // big client's answer here would be counted as the gateway's delay.
  const big = await new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/v1/stream`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
  const all = Array.from({ length: syms }, (_, j) => `S${j}`);
  const request = JSON.stringify({ op: 'subscribe', id: 1, symbols: all, since: Object.fromEntries(all.map((s) => [s, first])) });
  big.send(request);
  setTimeout(() => big.terminate(), 1000);
  const withHangup = await window();
  const during = samples;
  const next = await window();
  clearInterval(producer);
  for (const cl of observers) cl.ws.terminate();
  await kill(gw);
  return {
    baselineP99Ms: p99(baseline), hangupP99Ms: p99(during),
    gatewayCpu: [before[0], withHangup[0], next[0]], redisCpu: [before[1], withHangup[1], next[1]],
  };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const redis = await startPrivateRedis();
  const c = createClient({ url: redis.url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    console.log(`gateway: ${o.cli}`);
    if (o.restart) {
      console.log('| entries | clients | all answered (s) | answered | RESUME_UNAVAILABLE | exact |');
      console.log('|---:|---:|---:|---:|---:|---:|');
      for (const entries of o.entries) {
        for (const k of o.clients) {
          const r = await restartRun(o, redis.url, c, entries, k);
          const t = r.answeredMs === undefined ? `> ${o.timeoutMs / 1000}` : (r.answeredMs / 1000).toFixed(2);
          console.log(`| ${r.entries} | ${r.clients} | ${t} | ${r.answered}/${r.clients} | ${r.unavailable} | ${r.exact}/${r.clients} |`);
        }
      }
    }
    if (o.hangup) {
      const h = await hangupRun(o, redis.url, redis.child.pid!, c);
      console.log(`hang-up (${o.hangupEntries} entries, 1,000 symbols resumed from the first entry, client gone after 1 s; ${WINDOW_MS / 1000}-s windows):`);
      console.log(`  observers' p99: ${h.baselineP99Ms} ms before, ${h.hangupP99Ms} ms with the hang-up (${(h.hangupP99Ms / h.baselineP99Ms).toFixed(2)}×)`);
      console.log(`  CPU % (before, with the hang-up, next window): gateway ${h.gatewayCpu.join(', ')}; redis-server ${h.redisCpu.join(', ')}`);
    }
  } finally {
    await c.quit();
    await redis.stop();
  }
}

main().then(() => process.exit(0), (err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
