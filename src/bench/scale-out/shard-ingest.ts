/**
 * Ingest across shards (issue 15): how fast one gateway reads a backlog spread over N shard streams, on one Redis
 * or on a Redis Cluster, and what each ingested tick costs the gateway's CPU.
 *
 *   make build && node dist/bench/scale-out/shard-ingest.js            # 300,000 ticks; 1 and 3 masters × 1, 4, 8 shards
 *   node dist/bench/scale-out/shard-ingest.js --ticks 50000 --masters 3 --shards 8   # a smoke run of one configuration
 *
 * Each configuration runs on fresh private Redis processes (1 master: a plain redis-server; more: a cluster started
 * by src/demo/private-cluster.ts) and a fresh gateway (`dist/cli.js gateway --shards N`, `--redis-cluster` on a
 * cluster, default flags otherwise):
 *  1. The backlog is written first, so that no producer competes with the read for this 2-vCPU machine: M
 *     random-walk ticks over 1,000 symbols, each to its shard (keyOf), pipelined, through node-redis's cluster
 *     client on a cluster. It goes to a staging key in the slot of its shard key, where the gateway's consumer group
 *     (`tickgate:<instance>`) is created at `0`.
 *  2. The gateway starts and is ready (/readyz), one client subscribes to every symbol (binary frames), and only
 *     then each staging key is RENAMEd onto its shard key: the gateway's blocked read wakes on a stream whose group
 *     starts at `0` and reads the whole backlog as fast as it can. Why not create the group at `0` on the shard key
 *     itself: a gateway reads a backlog at once whether anyone is subscribed or not (the read pacer never waits after
 *     a full read), so it would have drained it before any client could subscribe (measured: 50,000 entries gone
 *     within a second of "serving"). The empty key the gateway found at its start keeps the loss check exact: a
 *     group created at `0` on a key that already holds entries is announced, conservatively, as a gap.
 *  3. Measured from the first tick the client receives to the M-th: wall time, ticks/s, CPU-seconds of the
 *     gateway (every thread) and of the redis-servers over the same window (µs of gateway CPU per ingested tick),
 *     this process's own CPU (the client: a saturated client would be the ceiling), and the gateway's reads; ticks/s
 *     and µs per tick also over the second half of the ticks alone, the gateway warm (its hot path is cold at the
 *     first tick: nothing flowed through it before).
 *  4. The client must have received exactly the backlog: every symbol's ids as written, in order (so strictly
 *     increasing, none lost or repeated), and no control message but its ack. Anything else, or no progress for
 *     STALL_MS, fails the run (exit 1) with the gateway's log and each shard's consumer-group state.
 * Placement (--no-pin turns it off), as `make bench` places its processes: the gateway on CPU 0; Redis and this
 * process on the other CPUs. Results: a markdown table on stdout and in <out>/shard-ingest-<time>/ with the JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { startPrivateCluster } from '../../demo/private-cluster';
import { startPrivateRedis } from '../../demo/private-redis';
import { onLines } from '../../lines';
import { RandomWalk } from '../../producer/random-walk';
import { createClusterClient } from '../../redis/cluster';
import { keyOf, shardKeys } from '../../streams/shards';
import { decodeBinaryBatch } from '../../wire/binary';
import { FLAG_BINARY, openFrame } from '../../wire/frame';
import { pinProcess, repoRoot, spawnNode, stopChild, whenServing } from '../children';
import { machineInfo, MachineInfo } from '../machine';
import { BenchOptionError, ints, Pinning, pinning } from '../options';
import { metricSum, scrapeMetrics } from '../prom';
import { CpuReading, readCpu } from '../proc-stats';
import { OP_BINARY, RawWs } from '../raw-ws';
import { BacklogLedger } from './shard-ingest-ledger';

const HELP = `node dist/bench/scale-out/shard-ingest.js [flags]
  --ticks M         backlog per configuration                     [300000]
  --shards LIST     shard counts, comma-separated                 [1,4,8]
  --masters LIST    1 = one redis-server, 3 or more = a cluster of that many masters [1,3]
  --no-pin          no taskset (default: gateway on CPU 0, Redis and the client on the others)
  --out DIR         results directory                             [bench-results]
`;

const DEFAULT_TICKS = 300_000;
const SYMBOLS = 1000;
const SEED = 1;
const STREAM = 'ticks';
/** XADDs in flight per round trip while filling. */
const FILL_PIPELINE = 1000;
/** No tick received for this long (from the RENAME on) is a stall. */
const STALL_MS = 20_000;
const READY_TIMEOUT_MS = 20_000;
const LOG_TAIL = 80;
/** After the M-th tick, how long a repeated tick still has to show up before the check. */
const SETTLE_MS = 500;

const log = (msg: string) => process.stderr.write(`shard-ingest: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class ShardIngestError extends Error {
  constructor(readonly code: 'BENCH_INGEST_MISMATCH' | 'BENCH_INGEST_STALLED' | 'BENCH_INGEST_UNEXPECTED' | 'BENCH_READER_NOT_READY', message: string) {
    super(message);
    this.name = 'ShardIngestError';
  }
}

export interface ShardIngestOptions {
  ticks: number;
  shards: number[];
  masters: number[];
  pinning: Pinning;
  out: string;
}

function options(argv: string[]): ShardIngestOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: { ticks: { type: 'string' }, shards: { type: 'string' }, masters: { type: 'string' }, 'no-pin': { type: 'boolean' },
      out: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (v.help) return 'help';
  const checked = (flag: string, list: number[], ok: (n: number) => boolean, rule: string) => {
    if (!list.every(ok)) throw new BenchOptionError(`${flag}: ${rule}`);
    return list;
  };
  return {
    ticks: checked('--ticks', ints(v.ticks ?? String(DEFAULT_TICKS), '--ticks'), (n) => n >= SYMBOLS, `at least ${SYMBOLS} (one per symbol)`)[0],
    shards: checked('--shards', ints(v.shards ?? '1,4,8', '--shards'), (n) => n >= 1 && n <= 1024, 'each 1 to 1024, as the gateway takes'),
    // redis-cli --cluster create wants at least 3 masters.
    masters: checked('--masters', ints(v.masters ?? '1,3', '--masters'), (n) => n === 1 || n >= 3, 'each 1 (one redis-server) or at least 3 (a cluster)'),
    pinning: pinning(v['no-pin'] !== true),
    out: v.out ?? join(repoRoot(), 'bench-results'),
  };
}

/** Redis for one configuration: what the gateway's --redis takes, the server pids, and how to stop it. */
interface Layout {
  masters: number;
  label: string;
  redisArg: string;
  cluster: boolean;
  pids: number[];
  stop(): Promise<void>;
}

async function startLayout(masters: number): Promise<Layout> {
  if (masters === 1) {
    const r = await startPrivateRedis();
    return { masters, label: '1 Redis', redisArg: r.url, cluster: false, pids: [r.child.pid!], stop: r.stop };
  }
  const c = await startPrivateCluster(masters);
  return { masters, label: `cluster, ${masters} masters`, redisArg: c.seeds, cluster: true, pids: c.nodes.map((n) => n.child.pid!), stop: c.stop };
}

/** One connection (or a cluster client) that routes each command by the key it names. */
interface KeyedRedis {
  send<T>(key: string, args: string[]): Promise<T>;
  close(): Promise<void>;
}

async function connectKeyed(layout: Layout): Promise<KeyedRedis> {
  if (layout.cluster) {
    const cluster = createClusterClient(layout.redisArg.split(','), 'tickgate-shard-ingest');
    cluster.on('error', (err: Error) => log(`cluster client: ${err.message}`));
    await cluster.connect();
    return { send: <T>(key: string, args: string[]) => cluster.sendCommand(key, false, args) as Promise<T>, close: () => cluster.quit() };
  }
  const client = createClient({ url: layout.redisArg, name: 'tickgate-shard-ingest' });
  client.on('error', (err: Error) => log(`redis client: ${err.message}`));
  await client.connect();
  return {
    send: <T>(_key: string, args: string[]) => client.sendCommand(args) as Promise<T>,
    close: async () => void (await client.quit()),
  };
}

/** Where a shard's backlog waits: in `key`'s slot (its hash tag, or the key itself as the tag), so RENAME may move it there in a cluster. */
const stagingKey = (key: string) => (key.includes('{') ? `${key}:backlog` : `{${key}}:backlog`);

async function fill(redis: KeyedRedis, keys: string[], ticks: number, ledger: BacklogLedger): Promise<void> {
  const walk = new RandomWalk(SYMBOLS, SEED);
  const target = new Map(walk.symbols.map((sym) => [sym, stagingKey(keyOf(sym, keys))]));
  for (let sent = 0; sent < ticks; sent += FILL_PIPELINE) {
    const now = Date.now();
    const batch = Array.from({ length: Math.min(FILL_PIPELINE, ticks - sent) }, () => walk.nextFields(now));
    const ids = await Promise.all(batch.map((f) => redis.send<string>(target.get(f[1])!, ['XADD', target.get(f[1])!, '*', ...f])));
    batch.forEach((f, i) => ledger.write(f[1], ids[i]));
  }
}

/** A gateway child, with the tail of its log for a failure report. */
interface Gateway {
  pid: number;
  port: number;
  tail: string[];
  stop(): Promise<void>;
}

async function startGateway(layout: Layout, shards: number, instance: string, cpus: string | undefined): Promise<Gateway> {
  const child = spawnNode(join(repoRoot(), 'dist', 'cli.js'), ['gateway', '--port', '0', '--host', '127.0.0.1', '--instance', instance,
    '--redis', layout.redisArg, ...(layout.cluster ? ['--redis-cluster'] : []), '--stream', STREAM, '--shards', String(shards),
    '--log-level', 'info'], { cpus });
  const tail: string[] = [];
  const keep = (line: string) => tail.push(line) > LOG_TAIL && tail.shift();
  onLines(child.stdout!, keep);
  onLines(child.stderr!, keep);
  const stop = () => stopChild(child);
  try {
    const { port } = await whenServing('gateway', child);
    return { pid: child.pid!, port, tail, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function untilReady(gw: Gateway): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    // A gateway that does not answer at all must not hang the run.
    const [status, body] = await fetch(`http://127.0.0.1:${gw.port}/readyz`, { signal: AbortSignal.timeout(2000) })
      .then(async (res) => [res.status, await res.text()], (err: Error) => [0, err.message]);
    if (status === 200) return;
    if (Date.now() > deadline) throw new ShardIngestError('BENCH_READER_NOT_READY', `/readyz not 200 after ${READY_TIMEOUT_MS} ms: ${status} ${body}`);
    await sleep(100);
  }
}

/** The measurement window, read when the first tick arrived, when half of them had, and when all had. */
interface Window {
  first: CpuReading;
  half: CpuReading;
  /** Ticks received when `half` was read (a frame may carry several). */
  halfTicks: number;
  last: CpuReading;
  clientCpuUs: number;
  frames: number;
}

/**
 * One client on every symbol in binary frames: each tick goes to the ledger; resolves once `ticks` ticks have
 * arrived, rejects on a control message other than its ack, a close, or no progress for STALL_MS after `go`.
 */
class BacklogClient {
  private first: CpuReading | undefined;
  private half: CpuReading | undefined;
  private halfTicks = 0;
  private clientCpu0: NodeJS.CpuUsage | undefined;
  private frames = 0;
  private done!: (w: Window) => void;
  private failed!: (err: Error) => void;
  private readonly finished = new Promise<Window>((resolve, reject) => {
    this.done = resolve;
    this.failed = reject;
  });
  private watchdog: NodeJS.Timeout | undefined;
  private ws: RawWs | undefined;

  constructor(private readonly ledger: BacklogLedger, private readonly ticks: number, private readonly pids: Record<string, number>) {
    // Until run() awaits it, a failure is kept, not reported as unhandled.
    this.finished.catch(() => undefined);
  }

  async open(port: number, symbols: string[]): Promise<void> {
    let acked!: () => void;
    const ack = new Promise<void>((resolve) => (acked = resolve));
    this.ws = await RawWs.open({ host: '127.0.0.1', port, path: '/v1/stream?format=binary&compression=none', timeoutMs: 10_000, now: () => 0 }, {
      message: (opcode, payload) => (opcode === OP_BINARY ? this.frame(payload) : this.control(payload.toString(), acked)),
      close: (reason) => this.failed(new ShardIngestError('BENCH_INGEST_UNEXPECTED', `the client's connection ended: ${reason}`)),
    });
    this.ws.sendText(JSON.stringify({ op: 'subscribe', id: 1, symbols }));
    await Promise.race([ack, this.finished]);
  }

  /** Waits for every tick; the stall clock starts now. */
  run(): Promise<Window> {
    let seen = -1;
    let since = Date.now();
    this.watchdog = setInterval(() => {
      if (this.ledger.receivedTotal !== seen) {
        seen = this.ledger.receivedTotal;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        this.failed(new ShardIngestError('BENCH_INGEST_STALLED', `no tick for ${STALL_MS} ms after ${seen} of ${this.ticks}`));
      }
    }, 250);
    return this.finished;
  }

  close(): void {
    clearInterval(this.watchdog);
    this.ws?.close();
  }

  private control(text: string, acked: () => void): void {
    const m = JSON.parse(text) as { type: string; id?: unknown };
    if (m.type === 'ack' && m.id === 1) return acked();
    this.failed(new ShardIngestError('BENCH_INGEST_UNEXPECTED', `unexpected message after ${this.ledger.receivedTotal} ticks: ${text.slice(0, 500)}`));
  }

  private frame(payload: Buffer): void {
    if (this.first === undefined) {
      this.first = readCpu(this.pids);
      this.clientCpu0 = process.cpuUsage();
    }
    this.frames++;
    const { flags, kind, payload: body } = openFrame(payload);
    if (!(flags & FLAG_BINARY) || kind !== 'live') {
      return this.failed(new ShardIngestError('BENCH_INGEST_UNEXPECTED', `a ${kind} frame (flags ${flags}) after ${this.ledger.receivedTotal} ticks`));
    }
    const batch = decodeBinaryBatch(body, 0, body.length, kind);
    for (const t of batch.ticks) this.ledger.receive(batch.sym, t.id);
    if (this.half === undefined && this.ledger.receivedTotal >= this.ticks / 2) {
      this.half = readCpu(this.pids);
      this.halfTicks = this.ledger.receivedTotal;
    }
    if (this.ledger.receivedTotal >= this.ticks) {
      const last = readCpu(this.pids);
      const cpu = process.cpuUsage(this.clientCpu0);
      this.done({ first: this.first, half: this.half!, halfTicks: this.halfTicks, last, clientCpuUs: cpu.user + cpu.system, frames: this.frames });
    }
  }
}

export interface ShardIngestRun {
  layout: string;
  masters: number;
  shards: number;
  ticks: number;
  fillSeconds: number;
  /** From the first tick received to the M-th. */
  seconds: number;
  ticksPerS: number;
  gatewayCpuSeconds: number;
  gatewayCpuUsPerTick: number;
  /**
   * The same two over the second half of the ticks only: no tick has flowed through the gateway before the first
   * one, so the whole window includes its warm-up (JIT); the second half is the warm rate.
   */
  secondHalf: { ticksPerS: number; gatewayCpuUsPerTick: number };
  /** Gateway CPU over the window, percent of one core. */
  gatewayCpuPct: number;
  /** Every redis-server of the layout, summed. */
  redisCpuSeconds: number;
  /** This process: the client decoding and checking every tick. */
  clientCpuSeconds: number;
  frames: number;
  /** The gateway's counters after the last tick arrived: entries read, and XREADGROUP replies (every reader's; one may carry several shards). */
  gatewayTicksRead: number;
  gatewayReads: number;
}

export interface ShardIngestResults {
  startedAt: string;
  seconds: number;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  options: ShardIngestOptions;
  /** Fewer ticks than DEFAULT_TICKS: a smoke run, its figures are not the measurement. */
  smoke: boolean;
  runs: ShardIngestRun[];
}

/** Every shard's key, length and consumer-group state: where the gateway stopped, for a failure report. */
async function groupStates(redis: KeyedRedis, keys: string[], group: string): Promise<string> {
  const lines = await Promise.all(keys.map(async (key) => {
    try {
      const groups = await redis.send<unknown[][]>(key, ['XINFO', 'GROUPS', key]);
      const mine = groups.map((g) => Object.fromEntries(pairs(g))).find((g) => g.name === group);
      return `${key}: length ${await redis.send<number>(key, ['XLEN', key])}, group ${JSON.stringify(mine ?? 'missing')}`;
    } catch (err) {
      return `${key}: ${(err as Error).message}`;
    }
  }));
  return lines.join('\n');
}

function pairs(flat: unknown[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), flat[i + 1]]);
  return out;
}

/** What the current configuration has started, stopped in reverse order on every way out (signals included). */
const cleanups: (() => Promise<unknown>)[] = [];

async function cleanUp(): Promise<void> {
  for (const stop of cleanups.splice(0).reverse()) {
    await stop().catch((err: Error) => log(`cleanup: ${err.message}`));
  }
}

async function runOne(opts: ShardIngestOptions, masters: number, shards: number): Promise<ShardIngestRun> {
  const layout = await startLayout(masters);
  cleanups.push(layout.stop);
  if (opts.pinning.generators !== undefined) for (const pid of layout.pids) await pinProcess(pid, opts.pinning.generators);
  const redis = await connectKeyed(layout);
  cleanups.push(redis.close);
  const keys = shardKeys(STREAM, shards);
  const instance = `shard-ingest-${masters}m-${shards}s`;
  const group = `tickgate:${instance}`;
  const walk = new RandomWalk(SYMBOLS, SEED);
  const ledger = new BacklogLedger(walk.symbols);
  const fillStart = performance.now();
  await fill(redis, keys, opts.ticks, ledger);
  const fillSeconds = (performance.now() - fillStart) / 1000;
  for (const key of keys) await redis.send(stagingKey(key), ['XGROUP', 'CREATE', stagingKey(key), group, '0']);
  log(`${layout.label}, ${shards} shards: ${opts.ticks} ticks written in ${fillSeconds.toFixed(1)} s`);

  const gw = await startGateway(layout, shards, instance, opts.pinning.system);
  cleanups.push(gw.stop);
  const pids: Record<string, number> = { gateway: gw.pid };
  layout.pids.forEach((pid, i) => (pids[`redis${i}`] = pid));
  const client = new BacklogClient(ledger, opts.ticks, pids);
  cleanups.push(async () => client.close());
  let window: Window;
  try {
    await untilReady(gw);
    await client.open(gw.port, walk.symbols);
    await Promise.all(keys.map((key) => redis.send(stagingKey(key), ['RENAME', stagingKey(key), key])));
    window = await client.run();
  } catch (err) {
    throw await withDiagnosis(err as Error, gw, redis, keys, group, ledger);
  }
  await sleep(SETTLE_MS);
  const problems = ledger.problems();
  if (problems.length > 0) {
    throw await withDiagnosis(new ShardIngestError('BENCH_INGEST_MISMATCH', `the client did not get exactly the backlog:\n  ${problems.join('\n  ')}`),
      gw, redis, keys, group, ledger);
  }
  const metrics = await scrapeMetrics(`http://127.0.0.1:${gw.port}`);
  const seconds = (window.last.at - window.first.at) / 1000;
  const cpu = (name: string, from = window.first) => window.last.seconds[name] - from.seconds[name];
  const gatewayCpuSeconds = cpu('gateway');
  const lateTicks = opts.ticks - window.halfTicks;
  return {
    layout: layout.label, masters, shards, ticks: opts.ticks, fillSeconds, seconds, ticksPerS: opts.ticks / seconds,
    gatewayCpuSeconds, gatewayCpuUsPerTick: (gatewayCpuSeconds * 1e6) / opts.ticks,
    secondHalf: { ticksPerS: (lateTicks * 1000) / (window.last.at - window.half.at), gatewayCpuUsPerTick: (cpu('gateway', window.half) * 1e6) / lateTicks },
    gatewayCpuPct: (100 * gatewayCpuSeconds) / seconds,
    redisCpuSeconds: layout.pids.reduce((sum, _, i) => sum + cpu(`redis${i}`), 0), clientCpuSeconds: window.clientCpuUs / 1e6,
    frames: window.frames, gatewayTicksRead: metricSum(metrics, 'tickgate_ticks_read_total'),
    gatewayReads: metricSum(metrics, 'tickgate_read_to_publish_seconds_count'),
  };
}

/** The error with what explains it: the client's count, every shard's group, the gateway's last log lines. */
async function withDiagnosis(err: Error, gw: Gateway, redis: KeyedRedis, keys: string[], group: string, ledger: BacklogLedger): Promise<Error> {
  const states = await groupStates(redis, keys, group);
  err.message += `\nclient: ${ledger.receivedTotal} of ${ledger.writtenTotal} ticks\nshards:\n${states}\n` +
    `gateway log (last ${gw.tail.length} lines):\n${gw.tail.join('\n')}`;
  return err;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function markdownReport(r: ShardIngestResults): string {
  const o = r.options;
  let md = `## Ingest across shards (${r.startedAt}, ${fmt(o.ticks)} ticks over ${fmt(SYMBOLS)} symbols per configuration)\n\n`;
  if (r.smoke) md += `**Smoke run**: fewer ticks than the default ${fmt(DEFAULT_TICKS)}; these figures are not the measurement.\n\n`;
  md += `- ${r.machine.cores} × ${r.machine.cpuModel}, node ${r.machine.node}, redis-server ${r.machine.redis}; ` +
    `load average ${r.machine.loadAverage.join(' / ')} at the start, ${r.loadAverageAtEnd.join(' / ')} at the end\n` +
    `- placement: ${o.pinning.system === undefined ? 'none' : `gateway on CPU ${o.pinning.system}, Redis and the client on CPU ${o.pinning.generators}`}\n` +
    '- window: first tick received → the M-th; the client received exactly the backlog (every symbol\'s ids as written, in order) in every row\n\n';
  md += '| layout | shards | ticks/s | gateway µs CPU per tick | 2nd half: ticks/s | 2nd half: µs per tick | gateway CPU % | redis CPU-s | client CPU-s | window s | entries per read | ticks per frame |\n';
  md += '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n';
  for (const x of r.runs) {
    md += `| ${x.layout} | ${x.shards} | ${fmt(x.ticksPerS)} | ${fmt(x.gatewayCpuUsPerTick, 2)} | ${fmt(x.secondHalf.ticksPerS)} | ` +
      `${fmt(x.secondHalf.gatewayCpuUsPerTick, 2)} | ${fmt(x.gatewayCpuPct)} | ` +
      `${fmt(x.redisCpuSeconds, 2)} | ${fmt(x.clientCpuSeconds, 2)} | ${fmt(x.seconds, 2)} | ${fmt(x.gatewayTicksRead / x.gatewayReads)} | ` +
      `${fmt(x.ticks / x.frames, 2)} |\n`;
  }
  return md;
}

async function main(argv: string[]): Promise<void> {
  const opts = options(argv);
  if (opts === 'help') return void process.stdout.write(HELP);
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const machine = machineInfo();
  if (opts.pinning.generators !== undefined) await pinProcess(process.pid, opts.pinning.generators);
  const runs: ShardIngestRun[] = [];
  for (const masters of opts.masters) {
    for (const shards of opts.shards) {
      try {
        const run = await runOne(opts, masters, shards);
        log(`${run.layout}, ${shards} shards: ${fmt(run.ticksPerS)} ticks/s, ${fmt(run.gatewayCpuUsPerTick, 2)} µs gateway CPU per tick`);
        runs.push(run);
      } finally {
        await cleanUp();
      }
    }
  }
  const results: ShardIngestResults = {
    startedAt, seconds: (performance.now() - started) / 1000, machine, loadAverageAtEnd: machineInfo().loadAverage, options: opts,
    smoke: opts.ticks < DEFAULT_TICKS, runs,
  };
  const markdown = markdownReport(results);
  const dir = join(opts.out, `shard-ingest-${startedAt.replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(dir, 'results.md'), markdown);
  process.stdout.write(markdown);
  log(`results in ${dir} (${results.seconds.toFixed(0)} s)`);
}

// A signal stops what the configuration started (which also removes Redis's temporary directories) before exiting;
// process.exit then runs the exit hooks that kill any child left (children.ts, private-redis.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    setTimeout(() => process.exit(130), 10_000).unref();
    void cleanUp().finally(() => process.exit(130));
  });
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  async (err: unknown) => {
    await cleanUp();
    // The message, not the stack's first line: withDiagnosis appended to it after the stack was taken.
    const e = err instanceof Error ? err : new Error(String(err));
    const frames = (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at ')).join('\n');
    process.stderr.write(`shard-ingest: FAILED: ${(e as { code?: string }).code ?? e.name}: ${e.message}\n${frames}\n`);
    process.exit(1);
  },
);
