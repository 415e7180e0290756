/**
 * One measured load step: the producer sends rate × seconds ticks, the load generator counts what arrives until
 * everything expected has (or nothing more arrives for STALL_MS), and the step reports throughput, latency, loss,
 * the CPU of every process involved, the system's RSS, and optionally its write syscalls per delivered frame.
 *
 * The measurement window runs from the producer's start to the last delivery, so a system that falls behind and
 * drains a backlog afterwards is charged for the time it took.
 */
import { FormatName } from '../wire/formats';
import { ProduceRequest, ProduceResult } from './bench-producer';
import { DeliveryCounts, DeliverySnapshot, LatencySnapshot } from './delivery-stats';
import { Helper } from './helpers';
import { LatencySummary, mergeHistograms, summarize } from './latency';
import { counterDelta, GatewayCounters, gatewayCounters } from './prom';
import { cpuPercent, readCpu, rssBytes } from './proc-stats';
import { countWriteSyscalls, SyscallCount } from './syscalls';
import { RunningSystem } from './systems';
import { expectedDeliveries, fanoutFactor, Workload } from './workload';

/** p99 bound of a sustained step: the ramp's pass criterion. */
const SUSTAINED_P99_MS = 50;
const STALL_MS = 2000;
const DRAIN_LIMIT_MS = 60_000;
const PIPELINE = 256;
const MAXLEN = 200_000;

export interface StepContext {
  system: RunningSystem;
  producer: Helper;
  loadgen: Helper;
  redisPid: number;
  workload: Workload;
  stream: string;
}

export interface StepPlan {
  /** Produced ticks per second. */
  rate: number;
  seconds: number;
  syscalls: boolean;
}

export interface SyscallResult extends SyscallCount {
  perFrame: number;
  perTick: number;
}

/** One format's latency in a step, from `ts`, which every format carries (see formatLatency). */
export interface FormatLatency {
  ticks: number;
  latency: LatencySummary;
}

export interface StepResult {
  rate: number;
  /** Deliveries per second the rate asks for: rate × average subscribers per symbol. */
  offeredDeliveriesPerS: number;
  seconds: number;
  producedRate: number;
  sent: number;
  expected: number;
  delivered: number;
  lossPct: number;
  closedByServer: number;
  invalidFrames: number;
  windowS: number;
  deliveredPerS: number;
  framesPerS: number;
  bytesPerS: number;
  /** From the µs stamp `tus`, over the JSON formats' ticks (the binary formats do not carry it). */
  latency: LatencySummary;
  /** From `ts`, over every tick of every format. */
  latencyMsRes: LatencySummary;
  latencyByFormat: Partial<Record<FormatName, FormatLatency>>;
  cpuPct: Record<string, number>;
  serverCpuSeconds: number;
  deliveriesPerServerCpuS: number;
  serverRssMiB: number;
  gateway?: GatewayCounters;
  syscalls?: SyscallResult | { error: string };
  sustained: boolean;
}

interface Drained {
  counts: DeliveryCounts;
  at: number;
}

async function drain(loadgen: Helper, expected: number): Promise<Drained> {
  const started = performance.now();
  let last = { counts: await loadgen.rpc.call<DeliveryCounts>('counts'), at: performance.now() };
  while (last.counts.ticks < expected && performance.now() - last.at < STALL_MS && performance.now() - started < DRAIN_LIMIT_MS) {
    await new Promise((r) => setTimeout(r, 50));
    const counts = await loadgen.rpc.call<DeliveryCounts>('counts');
    if (counts.ticks !== last.counts.ticks) last = { counts, at: performance.now() };
  }
  return last;
}

/** Counts the system's write syscalls in the middle half of the step, against the frames delivered meanwhile. */
async function syscallsMidStep(ctx: StepContext, seconds: number): Promise<SyscallResult | { error: string }> {
  await new Promise((r) => setTimeout(r, seconds * 250));
  const before = await ctx.loadgen.rpc.call<DeliveryCounts>('counts');
  try {
    const count = await countWriteSyscalls(ctx.system.pid, seconds / 2);
    const after = await ctx.loadgen.rpc.call<DeliveryCounts>('counts');
    return { ...count, perFrame: count.total / Math.max(1, after.frames - before.frames), perTick: count.total / Math.max(1, after.ticks - before.ticks) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** What the producer is asked for: `rate` ticks/s for `seconds`, round-robin over `symbols` from symbol 0. */
export function produceRequest(stream: string, rate: number, seconds: number, symbols: number): ProduceRequest {
  return { stream, rate, count: Math.round(rate * seconds), symbols, maxlen: MAXLEN, pipeline: PIPELINE };
}

/**
 * Formats are compared on `ts`, which every format carries (the binary ones drop `tus`): the same clock for all, up
 * to 1 ms high alike. Timing JSON from `tus` and binary from `ts` once made a harness artefact look like a format's
 * (src/bench/README.md).
 */
function formatLatency(s: LatencySnapshot): FormatLatency {
  return { ticks: s.ticks, latency: summarize(mergeHistograms([s.latencyMsRes])) };
}

export async function runStep(ctx: StepContext, plan: StepPlan): Promise<StepResult> {
  const pid = ctx.system.pid;
  const pids = { server: pid, redis: ctx.redisPid, producer: ctx.producer.pid, loadgen: ctx.loadgen.pid };
  await ctx.loadgen.rpc.call('reset');
  const gwBefore = ctx.system.spec.hasMetrics ? await gatewayCounters(ctx.system.http) : undefined;
  let rssPeak = rssBytes(pid);
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(pid))), 250);

  const cpuStart = readCpu(pids);
  const request = produceRequest(ctx.stream, plan.rate, plan.seconds, ctx.workload.symbols);
  const syscalls = plan.syscalls ? syscallsMidStep(ctx, plan.seconds) : undefined;
  const produced = await ctx.producer.rpc.call<ProduceResult>('produce', request);
  const expected = expectedDeliveries(ctx.workload, produced.sent);
  const drained = await drain(ctx.loadgen, expected);
  const cpuEnd = { ...readCpu(pids), at: drained.at };
  clearInterval(rssTimer);

  const snap = await ctx.loadgen.rpc.call<DeliverySnapshot>('snapshot');
  const gateway = gwBefore && counterDelta(gwBefore, await gatewayCounters(ctx.system.http));
  const windowS = (drained.at - cpuStart.at) / 1000;
  const serverCpuSeconds = cpuEnd.seconds.server - cpuStart.seconds.server;
  const latency = summarize(mergeHistograms([snap.latencyUs]));
  const lossPct = expected === 0 ? 0 : (100 * Math.max(0, expected - snap.ticks)) / expected;
  return {
    rate: plan.rate,
    offeredDeliveriesPerS: plan.rate * fanoutFactor(ctx.workload),
    seconds: plan.seconds,
    producedRate: produced.achievedRate,
    sent: produced.sent,
    expected,
    delivered: snap.ticks,
    lossPct,
    closedByServer: snap.closed,
    invalidFrames: snap.invalid,
    windowS,
    deliveredPerS: snap.ticks / windowS,
    framesPerS: snap.frames / windowS,
    bytesPerS: snap.bytes / windowS,
    latency,
    latencyMsRes: summarize(mergeHistograms([snap.latencyMsRes])),
    latencyByFormat: Object.fromEntries(Object.entries(snap.byFormat).map(([f, l]) => [f, formatLatency(l)])),
    cpuPct: cpuPercent(cpuStart, cpuEnd),
    serverCpuSeconds,
    deliveriesPerServerCpuS: snap.ticks / serverCpuSeconds,
    serverRssMiB: rssPeak / 2 ** 20,
    gateway,
    syscalls: await syscalls,
    sustained: lossPct === 0 && snap.closed === 0 && snap.invalid === 0 && latency.count > 0 && latency.p99Ms < SUSTAINED_P99_MS,
  };
}
