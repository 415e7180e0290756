/**
 * `make bench`: the end-to-end benchmark of tickgate against its peers, same workloads, same clients, same run.
 *
 * For each system (tickgate with its default flags, then with --workers 1 and 2, the ws peer, the Socket.IO peer
 * and the raw uWS relay), on a private redis-server:
 *   1. memory per idle connection (N idle subscribed connections, RSS delta / N);
 *   2. C load clients subscribe; steps at the fixed loads (offered deliveries/s), which every system runs whatever
 *      happens, and around them the ramp of producer rates until two steps in a row are not sustained (loss, or
 *      p99 ≥ 50 ms), except for the --fixed-only systems;
 *   3. the primary (the first tickgate system) only: a step at half its highest sustained rate, the same with
 *      clients spread over all four wire formats, and the ingest step (one client on every symbol);
 *   4. the everyday-load step, with its own clients;
 *   5. the no-subscribers step: no client connected, the producer writing, the cost of ingest alone;
 * then optionally the --max-connections attempt on the primary. Results go to bench-results/<stamp>/ as JSON,
 * Markdown (also printed) and an SVG chart of p99 latency against offered load.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPrivateRedis } from '../demo/private-redis';
import { pinProcess } from './children';
import { Helper, startLoadgen, startProducer, subscribeWorkload } from './helpers';
import { machineInfo } from './machine';
import { measureIdleMemory } from './memory';
import { measureNoSubscribers, NoSubscribersResult } from './no-subscribers';
import { BenchOptions, benchOptions, HELP } from './options';
import { markdownReport } from './report';
import { BenchResults, bestStep, cpuPerMillion, SystemResult } from './results';
import { runStep, StepContext, StepResult } from './step';
import { svgChart } from './svg-chart';
import { allSystems, gatewaySupportsWorkers, RunningSystem, startSystem, SystemSpec } from './systems';
import { rateForLoad, Workload } from './workload';

export class BenchSetupError extends Error {
  readonly code = 'BENCH_SETUP_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'BenchSetupError';
  }
}

const began = performance.now();
const log = (msg: string) => process.stderr.write(`bench: [${((performance.now() - began) / 1000).toFixed(1)} s] ${msg}\n`);
const PAUSE_MS = 500;
/** Warm-up length: half a step, at most a second. */
const WARMUP_MAX_SECONDS = 1;
const RAMP_FAILURES = 2;

function describe(s: StepResult): string {
  return `rate ${s.rate}/s → ${Math.round(s.deliveredPerS)} delivered/s, p99 ${s.latency.p99Ms} ms, loss ${s.lossPct.toFixed(2)}%, ` +
    `server CPU ${Math.round(s.cpuPct.server)}% (${cpuPerMillion(s).toFixed(2)} CPU-s per M deliveries), ` +
    `loadgen CPU ${Math.round(s.cpuPct.loadgen)}%${s.sustained ? '' : ' (not sustained)'}`;
}

function describeNoSubscribers(n: NoSubscribersResult): string {
  return `${Math.round(n.producedRate)} ticks/s, server CPU ${n.serverCpuPct.toFixed(1)}% (idle ${n.idleCpuPct.toFixed(1)}%), ` +
    `${n.usPerTick.toFixed(2)} µs per ingested tick`;
}

/**
 * The rates of the standard-workload steps, lowest first: the fixed loads' rates, and unless `fixedOnly` the ramp's.
 * Returns the rates and the highest fixed one, below which a system's failures do not end its steps.
 */
function stepRates(opts: BenchOptions, fixedOnly: boolean): { rates: number[]; lastFixed: number } {
  const fixed = opts.loads.map((load) => rateForLoad(opts.workload, load));
  const rates = [...new Set([...fixed, ...(fixedOnly ? [] : opts.rates)])].sort((a, b) => a - b);
  return { rates, lastFixed: Math.max(0, ...fixed) };
}

class SystemBench {
  constructor(
    private readonly opts: BenchOptions,
    private readonly redis: { url: string; pid: number },
    private readonly producer: Helper,
  ) {}

  /** Runs `fn` with a load generator whose `workload` clients are subscribed to `system`. */
  private async withClients<T>(system: RunningSystem, workload: Workload, fn: (ctx: StepContext) => Promise<T>): Promise<T> {
    const loadgen = startLoadgen(system.spec.protocol, system.base, this.opts.loadgenThreads, this.opts.pinning.generators);
    try {
      await subscribeWorkload(loadgen, workload);
      return await fn({ system, producer: this.producer, loadgen, redisPid: this.redis.pid, workload, stream: `bench:${system.spec.id}` });
    } finally {
      await loadgen.rpc.call('closeAll').catch(() => undefined);
      await loadgen.stop();
      await pause();
    }
  }

  /** Discarded: a cold process or fresh connections (JIT, first allocations, bursts just closed) are not measured. */
  private async warmUp(ctx: StepContext, rate: number): Promise<void> {
    await runStep(ctx, { rate, seconds: Math.min(WARMUP_MAX_SECONDS, this.opts.stepSeconds / 2), syscalls: false });
  }

  private async step(ctx: StepContext, rate: number, what: string): Promise<StepResult> {
    const s = await runStep(ctx, { rate, seconds: this.opts.stepSeconds, syscalls: true });
    log(`${ctx.system.spec.label} ${what}: ${describe(s)}`);
    await pause();
    return s;
  }

  /** Every fixed load, whatever happens; beyond the last, until two steps in a row fail (one can be noise). */
  private async ramp(ctx: StepContext, fixedOnly: boolean): Promise<StepResult[]> {
    const { rates, lastFixed } = stepRates(this.opts, fixedOnly);
    const steps: StepResult[] = [];
    await this.warmUp(ctx, rates[0]);
    let failures = 0;
    for (const rate of rates) {
      if (failures >= RAMP_FAILURES && rate > lastFixed) break;
      const s = await this.step(ctx, rate, fixedOnly ? 'fixed load' : 'ramp');
      steps.push(s);
      failures = s.sustained ? 0 : failures + 1;
    }
    return steps;
  }

  async run(spec: SystemSpec, primary: boolean): Promise<SystemResult> {
    const { opts } = this;
    const stream = `bench:${spec.id}`;
    const cpus = spec.cpuSet === 'all' ? opts.pinning.all : opts.pinning.system;
    const fixedOnly = !primary && opts.fixedOnly.includes(spec.id);
    log(`${spec.label}: starting`);
    const system = await startSystem(spec, this.redis.url, stream, cpus);
    try {
      const idleMemory = await measureIdleMemory(system, opts.idleConnections, opts.loadgenThreads, opts.pinning.generators, opts.idleSettleMs);
      log(`${spec.label}: ${idleMemory.opened} idle connections, ${Math.round(idleMemory.bytesPerConnection)} bytes RSS each`);
      const result: SystemResult = { id: spec.id, label: spec.label, idleMemory, ramp: [], fixedOnly };
      await this.withClients(system, opts.workload, async (ctx) => {
        result.ramp = await this.ramp(ctx, fixedOnly);
        const best = bestStep(result.ramp);
        if (primary && best) result.halfLoad = await this.step(ctx, Math.round(best.rate / 2), 'half load');
      });
      const half = result.halfLoad?.rate;
      if (primary && half !== undefined) {
        const mixed = { ...opts.workload, formats: ['json', 'json+lz4', 'bin', 'bin+lz4'] } satisfies Workload;
        result.mixedFormats = await this.withClients(system, mixed, async (ctx) => {
          // New clients and formats the gateway has not encoded yet: discarded like the ramp's, or this step, compared
          // with the warm half-load step, would be charged the cold start (at 10k deliveries/s: p99 8.5-13.5 ms cold,
          // 4.8-5.0 ms warm).
          await this.warmUp(ctx, half);
          return this.step(ctx, half, 'mixed formats');
        });
      }
      const everyday = opts.everyday;
      if (everyday.workload.clients > 0) {
        result.everyday = await this.withClients(system, everyday.workload, async (ctx) => {
          await this.warmUp(ctx, everyday.rate);
          return this.step(ctx, everyday.rate, 'everyday load');
        });
      }
      if (primary && opts.ingestRate > 0) {
        const one: Workload = { ...opts.workload, clients: 1, symbolsPerClient: opts.workload.symbols };
        result.ingest = await this.withClients(system, one, (ctx) => this.step(ctx, opts.ingestRate, 'ingest'));
      }
      if (opts.noSubscribersRate > 0) {
        result.noSubscribers = await measureNoSubscribers(system, this.producer, stream, opts.workload.symbols, opts.noSubscribersRate, opts.stepSeconds);
        log(`${spec.label} no subscribers: ${describeNoSubscribers(result.noSubscribers)}`);
      }
      return result;
    } finally {
      await system.stop();
      await this.producer.rpc.call('del', stream);
    }
  }

  async maxConnections(spec: SystemSpec) {
    const system = await startSystem(spec, this.redis.url, `bench:${spec.id}:conns`, this.opts.pinning.system);
    try {
      const r = await measureIdleMemory(system, this.opts.maxConnections, this.opts.loadgenThreads, this.opts.pinning.generators, this.opts.idleSettleMs);
      log(`${spec.label}: ${r.opened} of ${r.target} connections${r.cappedBy ? `, capped by ${r.cappedBy}` : ''}`);
      return r;
    } finally {
      await system.stop();
    }
  }
}

function pause(): Promise<void> {
  return new Promise((r) => setTimeout(r, PAUSE_MS));
}

function writeResults(results: BenchResults, markdown: string, svg: string): string {
  const dir = join(results.options.out, results.startedAt.replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(dir, 'results.md'), markdown);
  writeFileSync(join(dir, 'p99-vs-load.svg'), svg);
  return dir;
}

async function main(argv: string[]): Promise<void> {
  const opts = benchOptions(argv, process.env);
  if (opts === 'help') return void process.stdout.write(HELP);
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const workers = gatewaySupportsWorkers();
  const specs = allSystems(workers).filter((s) => opts.systems === undefined || opts.systems.includes(s.id));
  if (specs.length === 0) throw new BenchSetupError(`--systems matched none of ${allSystems(workers).map((s) => s.id).join(', ')}`);
  log(`${opts.quick ? 'quick' : 'full'} run on ${machine.cores} × ${machine.cpuModel}, node ${machine.node}; ` +
    `pinning: ${opts.pinning.system === undefined ? 'none' : `system on CPU ${opts.pinning.system}, redis/producer/loadgen on CPU ${opts.pinning.generators}`}`);

  const redis = await startPrivateRedis();
  const producer = startProducer(redis.url, opts.pinning.generators);
  try {
    if (opts.pinning.generators !== undefined) await pinProcess(redis.child.pid!, opts.pinning.generators);
    const bench = new SystemBench(opts, { url: redis.url, pid: redis.child.pid! }, producer);
    const primary = specs.find((s) => s.hasMetrics);
    const systems: SystemResult[] = [];
    for (const spec of specs) systems.push(await bench.run(spec, spec === primary));
    const maxConnections = opts.maxConnections > 0 && primary ? await bench.maxConnections(primary) : undefined;
    const results: BenchResults = {
      startedAt, seconds: (performance.now() - started) / 1000, machine, loadAverageAtEnd: machineInfo().loadAverage, options: opts, gatewayWorkersFlag: workers, systems, maxConnections,
    };
    const markdown = markdownReport(results);
    const dir = writeResults(results, markdown, svgChart(results));
    process.stdout.write(markdown);
    log(`results in ${dir} (${results.seconds.toFixed(0)} s)`);
  } finally {
    await producer.stop();
    await redis.stop();
  }
}

// Exiting through process.exit runs the exit hooks that kill every child (children.ts, private-redis.ts); the
// default signal action would skip them and leave a gateway and a redis-server behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
