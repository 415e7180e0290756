/**
 * The targets, each judged from the measured results: what was measured, and met / not met. A figure the
 * run could not produce is "not measured", never a pass. Where a process other than the system under test was at
 * its CPU limit, the row says so: the figure is then a floor set by the harness, not the system's ceiling.
 */
import { BenchResults, bestStep, SystemResult } from './results';
import { StepResult } from './step';

export interface TargetRow {
  target: string;
  measured: string;
  met: 'yes' | 'no' | 'not measured';
}

/** A process at or above this CPU % (of one core) is treated as saturated. */
const SATURATED_PCT = 90;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const verdict = (ok: boolean): TargetRow['met'] => (ok ? 'yes' : 'no');

const GENERATORS = ['redis', 'producer', 'loadgen'];

/**
 * What was saturated during a step, the honest context of a throughput figure: any single process, and the CPUs
 * the generators share (Redis, producer and load generator pinned together can saturate their CPU between them).
 */
export function saturated(s: StepResult, generatorCpus: number): string {
  const busy = Object.entries(s.cpuPct).filter(([, pct]) => pct >= SATURATED_PCT).map(([name, pct]) => `${name} ${Math.round(pct)}%`);
  const generators = GENERATORS.reduce((sum, name) => sum + (s.cpuPct[name] ?? 0), 0);
  if (generators >= SATURATED_PCT * generatorCpus) busy.push(`generator CPU${generatorCpus > 1 ? 's' : ''} ${Math.round(generators)}% (redis+producer+loadgen)`);
  return busy.length === 0 ? '' : ` (saturated: ${busy.join(', ')})`;
}

/** CPUs in a taskset list such as "1", "1-3" or "0,2"; all of them when not pinned. */
function cpuCount(list: string | undefined, all: number): number {
  if (list === undefined) return all;
  return list.split(',').reduce((n, part) => {
    const [a, b] = part.split('-').map(Number);
    return n + (b === undefined ? 1 : b - a + 1);
  }, 0);
}

function tickgateSystems(r: BenchResults): SystemResult[] {
  return r.systems.filter((s) => s.id.startsWith('tickgate'));
}

/** The best step over every tickgate variant, with the variant's label. */
function bestTickgate(r: BenchResults, p99Ms?: number): { sys: SystemResult; step: StepResult } | undefined {
  let best: { sys: SystemResult; step: StepResult } | undefined;
  for (const sys of tickgateSystems(r)) {
    const step = bestStep(sys.ramp, p99Ms);
    if (step && (best === undefined || step.deliveredPerS > best.step.deliveredPerS)) best = { sys, step };
  }
  return best;
}

function notMeasured(target: string, why: string): TargetRow {
  return { target, measured: why, met: 'not measured' };
}

function versusPeer(r: BenchResults, peerId: string, factor: number, gen: number): TargetRow {
  const target = `≥ ${factor}× the ${peerId === 'ws-peer' ? 'ws peer' : 'Socket.IO peer'}'s delivered ticks/s (both at p99 < 50 ms, no loss)`;
  const tg = bestTickgate(r);
  const peer = r.systems.find((s) => s.id === peerId);
  const peerBest = peer && bestStep(peer.ramp);
  if (!tg || !peer) return notMeasured(target, 'tickgate or the peer was not run');
  if (!peerBest) {
    // The peer's limit lies below the lowest step, so the ratio is at least tickgate's best over that step's load.
    const lowest = peer.ramp.reduce((min, s) => Math.min(min, s.offeredDeliveriesPerS), Infinity);
    const floor = tg.step.deliveredPerS / lowest;
    return {
      target,
      measured: `> ${floor.toFixed(1)}×: the peer sustained none of the steps (lowest offered ${int(lowest)}/s); tickgate ${int(tg.step.deliveredPerS)}/s${saturated(tg.step, gen)}`,
      met: verdict(floor >= factor),
    };
  }
  const ratio = tg.step.deliveredPerS / peerBest.deliveredPerS;
  return {
    target,
    measured: `${ratio.toFixed(1)}×: ${int(tg.step.deliveredPerS)}/s${saturated(tg.step, gen)} vs ${int(peerBest.deliveredPerS)}/s${saturated(peerBest, gen)}`,
    met: verdict(ratio >= factor),
  };
}

export function targetRows(r: BenchResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const primary = tickgateSystems(r)[0];
  const gen = cpuCount(r.options.pinning.generators, r.machine.cores);

  const ingestTarget = 'ingest ≥ 200,000 ticks/s (XADD → XREADGROUP → publish)';
  const ingest = primary?.ingest;
  if (ingest?.gateway) {
    const read = ingest.gateway.read / ingest.windowS;
    const producer = ingest.producedRate < 200_000 ? `; the producer reached only ${int(ingest.producedRate)}/s` : '';
    rows.push({ target: ingestTarget, measured: `${int(read)} ticks/s read and published, loss ${ingest.lossPct.toFixed(2)}%${saturated(ingest, gen)}${producer}`, met: verdict(read >= 200_000 && ingest.lossPct === 0) });
  } else rows.push(notMeasured(ingestTarget, 'ingest step not run (quick mode or --ingest-rate 0)'));

  const fast = bestTickgate(r, 5);
  const deliveredTarget = '≥ 1,000,000 delivered ticks/s at p99 ≤ 5 ms';
  rows.push(fast
    ? { target: deliveredTarget, measured: `${int(fast.step.deliveredPerS)}/s at p99 ${fast.step.latency.p99Ms} ms (${fast.sys.label})${saturated(fast.step, gen)}`, met: verdict(fast.step.deliveredPerS >= 1_000_000) }
    : { target: deliveredTarget, measured: 'no tickgate ramp step had p99 ≤ 5 ms without loss', met: 'no' });

  const peak = bestTickgate(r);
  const cpuTarget = '≥ 3,000,000 deliveries per gateway CPU-second';
  rows.push(peak
    ? { target: cpuTarget, measured: `${int(peak.step.deliveriesPerServerCpuS)} at the peak sustained step (${int(peak.step.deliveredPerS)}/s, gateway CPU ${Math.round(peak.step.cpuPct.server)}%)${saturated(peak.step, gen)}`, met: verdict(peak.step.deliveriesPerServerCpuS >= 3_000_000) }
    : notMeasured(cpuTarget, 'no sustained tickgate step'));

  const half = primary?.halfLoad;
  const latencyTargets: [string, number, (s: StepResult) => number][] = [
    ['p50 ≤ 1 ms at 50% of max load', 1, (s) => s.latency.p50Ms],
    ['p99 ≤ 5 ms at 50% of max load', 5, (s) => s.latency.p99Ms],
    ['p99.9 ≤ 20 ms at 50% of max load', 20, (s) => s.latency.p999Ms],
  ];
  for (const [target, bound, pick] of latencyTargets) {
    rows.push(half
      ? { target: `e2e latency ${target}`, measured: `${pick(half)} ms at ${int(half.deliveredPerS)} delivered/s${saturated(half, gen)}`, met: verdict(pick(half) <= bound) }
      : notMeasured(`e2e latency ${target}`, 'half-load step not run (quick mode or nothing sustained)'));
  }

  const idle = [...tickgateSystems(r).map((s) => s.idleMemory), ...(r.maxConnections ? [r.maxConnections] : [])];
  const most = idle.reduce((a, b) => (b.opened > a.opened ? b : a), idle[0]);
  if (most) {
    const cap = most.cappedBy ? `; capped by ${most.cappedBy}` : '';
    rows.push({ target: '≥ 100,000 concurrent connections', measured: `${int(most.opened)} held${cap}`, met: verdict(most.opened >= 100_000) });
    const perConn = idle[0].bytesPerConnection;
    rows.push({ target: '≤ 3 KiB RSS per idle connection', measured: `${int(perConn)} bytes (${int(idle[0].opened)} connections)`, met: verdict(perConn <= 3072) });
  }

  const sysTarget = '≤ 0.1 write syscalls per delivered message at peak';
  const sc = peak?.step.syscalls;
  rows.push(sc && !('error' in sc)
    ? { target: sysTarget, measured: `${sc.perFrame.toFixed(3)} per frame, ${sc.perTick.toFixed(3)} per tick (${sc.tool}, ${sc.seconds} s, ${int(sc.total)} calls)`, met: verdict(sc.perFrame <= 0.1) }
    : notMeasured(sysTarget, sc && 'error' in sc ? sc.error : 'no sustained tickgate step'));

  rows.push(versusPeer(r, 'ws-peer', 5, gen), versusPeer(r, 'socketio-peer', 10, gen));
  return rows;
}
