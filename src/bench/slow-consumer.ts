/**
 * The slow-consumer ladder's proof: while one client stops reading, the 99 others lose nothing and their p99 latency stays
 * within 2× of a run without it; the stalled client goes down the slow-consumer ladder; the gateway's memory stays
 * bounded. (That the stalled client receives conflated latest prices is test/integration/guarantees.spec.ts's.)
 *
 *   make build && node dist/bench/slow-consumer.js               # 4 pairs of 20-second windows, ~3 minutes
 *   make build && BENCH_QUICK=1 node dist/bench/slow-consumer.js # 3 pairs of 4-second windows, ~30 s (smoke run)
 *
 * One gateway (2 worker threads, `make bench`'s tickgate-w2), one private redis-server, the bench producer, a load
 * generator holding the healthy clients, each a process of its own (the measuring process is not the one measured).
 * On that one running gateway, windows alternate: baseline (healthy clients only) / stalled (plus one client, in a
 * process of its own, on many symbols, that reads for --read-ms and then never again) / baseline / ... Machine noise
 * on this shared 2-core box hits both kinds alike; the verdict is the ratio of the median stalled p99 to the median
 * baseline p99. A window's p99 is its worst 1% of ticks, in 4 s its worst ~40 ms: the 15-20 ms hiccups the pipeline
 * shows every few seconds, with or without a stalled client, swing 4-second windows 2-4× either way, so only the
 * full run's 20-second windows measure the ratio. Each window is one bench step (step.ts): an exact tick count, loss
 * computed exactly. The stalled client is spawned and subscribed before its window and killed after it, so neither
 * Node's start-up nor the teardown lands inside a measurement.
 */
import { startPrivateRedis } from '../demo/private-redis';
import { symbolNames } from '../producer/random-walk';
import { pinProcess } from './children';
import { Helper, startLoadgen, startProducer, startStalledClient, subscribeWorkload } from './helpers';
import { connectionsByWorker, LadderTimeline } from './ladder-timeline';
import { machineInfo } from './machine';
import { BenchOptionError } from './options';
import { metricSum, scrapeMetrics } from './prom';
import { rssBytes } from './proc-stats';
import { slowConsumerReport, summarize, WindowResult } from './slow-consumer-report';
import { SLOW_CONSUMER_HELP, SlowConsumerOptions, slowConsumerOptions } from './slow-consumer-options';
import type { StalledReading } from './stalled-client';
import { runStep, StepContext } from './step';
import { allSystems, gatewaySupportsWorkers, startSystem, SystemSpec } from './systems';

export class GatewayStateError extends Error {
  readonly code = 'BENCH_GATEWAY_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayStateError';
  }
}

const log = (msg: string) => process.stderr.write(`slow-consumer: ${msg}\n`);
const STREAM = 'bench:slow-consumer';
const WARMUP_SECONDS = 2;
const SAMPLE_MS = 1000;
const SETTLE_TIMEOUT_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gatewaySpec(opts: SlowConsumerOptions): SystemSpec {
  const systems = allSystems(gatewaySupportsWorkers()).filter((s) => s.hasMetrics);
  const spec = systems.find((s) => s.id === `tickgate-w${opts.workers}`);
  if (spec === undefined) throw new BenchOptionError(`--workers ${opts.workers}: this build offers ${systems.map((s) => s.id).join(', ')}`);
  return { ...spec, args: (redis, stream) => [...spec.args(redis, stream), ...opts.gatewayArgs] };
}

/** Waits until the gateway holds exactly the healthy clients: none of them was closed, the stalled one is gone. */
async function untilOnlyHealthy(http: string, clients: number): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let open: number;
  while ((open = metricSum(await scrapeMetrics(http), 'tickgate_connections_open')) !== clients) {
    if (Date.now() > deadline) throw new GatewayStateError(`${open} connections open ${SETTLE_TIMEOUT_MS} ms after the window, expected ${clients}`);
    await sleep(200);
  }
}

async function measureWindow(ctx: StepContext, opts: SlowConsumerOptions, kind: WindowResult['kind']): Promise<WindowResult> {
  const healthyByWorker = await connectionsByWorker(ctx.system.http);
  const stalled: Helper | undefined = kind === 'stalled' ? startStalledClient(ctx.system.base, opts.pinning.generators) : undefined;
  const timeline = new LadderTimeline(ctx.system.http, SAMPLE_MS, healthyByWorker);
  try {
    await stalled?.rpc.call('open', { symbols: symbolNames(opts.workload.symbols).slice(0, opts.stalledSymbols) });
    const rssStartMiB = rssBytes(ctx.system.pid) / 2 ** 20;
    await timeline.start();
    let beforeStall: StalledReading | undefined;
    const [step] = await Promise.all([
      runStep(ctx, { rate: opts.rate, seconds: opts.windowSeconds, syscalls: false }),
      sleep(opts.readMs).then(async () => {
        timeline.markStall();
        beforeStall = await stalled?.rpc.call<StalledReading>('stall');
      }),
    ]);
    return { kind, step, ladder: await timeline.stop(), rssStartMiB, stalledRead: beforeStall };
  } finally {
    timeline.halt();
    await stalled?.stop();
  }
}

function describe(w: WindowResult): string {
  const l = w.step.latency;
  const ladder = w.kind === 'stalled' ? `, ladder ${JSON.stringify(w.ladder)}` : '';
  return `${w.kind}: p50 ${l.p50Ms} p99 ${l.p99Ms} p99.9 ${l.p999Ms} ms, loss ${w.step.lossPct.toFixed(3)}%, ` +
    `closed ${w.step.closedByServer}, RSS ${Math.round(w.rssStartMiB)}→${Math.round(w.step.serverRssMiB)} MiB${ladder}`;
}

async function main(argv: string[]): Promise<void> {
  const opts = slowConsumerOptions(argv, process.env);
  if (opts === 'help') return void process.stdout.write(SLOW_CONSUMER_HELP);
  const spec = gatewaySpec(opts);
  const machine = machineInfo();
  const started = performance.now();
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const redis = await startPrivateRedis();
    cleanup.push(redis.stop);
    const producer = startProducer(redis.url, opts.pinning.generators);
    cleanup.push(producer.stop);
    if (opts.pinning.generators !== undefined) await pinProcess(redis.child.pid!, opts.pinning.generators);
    const system = await startSystem(spec, redis.url, STREAM, spec.cpuSet === 'all' ? opts.pinning.all : opts.pinning.system);
    cleanup.push(system.stop);
    const loadgen = startLoadgen('tickgate', system.base, opts.loadgenThreads, opts.pinning.generators);
    cleanup.push(loadgen.stop);
    await subscribeWorkload(loadgen, opts.workload);
    const ctx: StepContext = { system, producer, loadgen, redisPid: redis.child.pid!, workload: opts.workload, stream: STREAM };
    // Discarded: a cold gateway (JIT, first allocations) is not what either kind of window measures.
    await runStep(ctx, { rate: opts.rate, seconds: WARMUP_SECONDS, syscalls: false });
    const windows: WindowResult[] = [];
    for (let i = 0; i < opts.pairs; i++) {
      for (const kind of ['baseline', 'stalled'] as const) {
        windows.push(await measureWindow(ctx, opts, kind));
        log(describe(windows[windows.length - 1]));
        await untilOnlyHealthy(system.http, opts.workload.clients);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const { markdown, json } = slowConsumerReport(opts, machine, spec.label, windows, summarize(windows), seconds);
    process.stdout.write(markdown + '\n' + JSON.stringify(json) + '\n');
  } finally {
    for (const stop of cleanup.reverse()) await stop().catch(() => undefined);
  }
}

// Exiting through process.exit runs the exit hooks that kill every child (children.ts, private-redis.ts); the
// default signal action would skip them and leave a gateway and a redis-server behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`slow-consumer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
