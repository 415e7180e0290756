/**
 * The issues' targets, each judged from the measured results: what was measured, and met / not met. A figure the
 * run could not produce is "not measured", never a pass. Where a process other than the system under test was at
 * its CPU limit, the row says so: the figure is then a floor set by the harness, not the system's ceiling. Every
 * target judges the primary system (the first tickgate one: its default flags unless --systems says otherwise);
 * the comparisons use the peers' figures from the same run and the same step.
 */
import { BenchResults, bestStep, cpuPerMillion, formatLatencies, primarySystem, RELAY, SOCKETIO_PEER, stepAtLoad, SystemResult, WS_PEER } from './results';
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

function notMeasured(target: string, why: string): TargetRow {
  return { target, measured: why, met: 'not measured' };
}

const lost = (s: StepResult) => (s.sustained ? '' : ` (not sustained: loss ${s.lossPct.toFixed(2)}%, p99 ${s.latency.p99Ms} ms)`);

/**
 * The primary's CPU per delivery against another system's in the same step: met when at most `bound` times it, and
 * the primary's step was sustained (a cost per delivery with ticks lost is not a cost of delivering them).
 */
function costVersus(target: string, bound: number, primary: SystemResult, other: SystemResult | undefined, stepOf: (sys: SystemResult) => StepResult | undefined, gen: number): TargetRow {
  const mine = stepOf(primary);
  const theirs = other && stepOf(other);
  if (other === undefined) return notMeasured(target, 'the system compared with was not run');
  if (mine === undefined || theirs === undefined) return notMeasured(target, 'the step was not run');
  const ratio = cpuPerMillion(mine) / cpuPerMillion(theirs);
  return {
    target,
    measured: `${ratio.toFixed(2)}×: ${cpuPerMillion(mine).toFixed(2)}${saturated(mine, gen)}${lost(mine)} vs ${cpuPerMillion(theirs).toFixed(2)} ` +
      `(${other.label})${saturated(theirs, gen)}${lost(theirs)} gateway CPU-s per M deliveries`,
    met: verdict(ratio <= bound && mine.sustained),
  };
}

function versusPeer(primary: SystemResult, peer: SystemResult | undefined, factor: number, gen: number): TargetRow {
  const target = `sustained max ≥ ${factor}× the ${peer?.label ?? (factor === 5 ? 'ws peer' : 'Socket.IO peer')}'s delivered ticks/s (both at p99 < 50 ms, no loss)`;
  const best = bestStep(primary.ramp);
  const peerBest = peer && bestStep(peer.ramp);
  if (!best || !peer) return notMeasured(target, best ? 'the peer was not run' : 'no sustained tickgate step');
  if (!peerBest) {
    // The peer's limit lies below the lowest step, so the ratio is at least tickgate's best over that step's load.
    const lowest = peer.ramp.reduce((min, s) => Math.min(min, s.offeredDeliveriesPerS), Infinity);
    const floor = best.deliveredPerS / lowest;
    return {
      target,
      measured: `> ${floor.toFixed(1)}×: the peer sustained none of the steps (lowest offered ${int(lowest)}/s); tickgate ${int(best.deliveredPerS)}/s${saturated(best, gen)}`,
      met: verdict(floor >= factor),
    };
  }
  const ratio = best.deliveredPerS / peerBest.deliveredPerS;
  return {
    target,
    measured: `${ratio.toFixed(1)}×: ${int(best.deliveredPerS)}/s${saturated(best, gen)} vs ${int(peerBest.deliveredPerS)}/s${saturated(peerBest, gen)}`,
    met: verdict(ratio >= factor),
  };
}

/** Light load: absolute bounds, or each percentile within 1.5× of the relay's in the same step. */
function lightLoad(r: BenchResults, primary: SystemResult, relay: SystemResult | undefined, gen: number): TargetRow {
  const load = r.options.loads[0];
  const target = `light load (${load === undefined ? 'first fixed load' : `${int(load)} offered deliveries/s`}): p50 ≤ 1 ms and p99 ≤ 3 ms, or each within 1.5× of the raw relay's`;
  const mine = load === undefined ? undefined : stepAtLoad(r, primary, load);
  if (mine === undefined) return notMeasured(target, 'no fixed-load step');
  const l = mine.latency;
  const absolute = l.p50Ms <= 1 && l.p99Ms <= 3;
  const theirs = relay && stepAtLoad(r, relay, load);
  const relative = theirs !== undefined && l.p50Ms <= 1.5 * theirs.latency.p50Ms && l.p99Ms <= 1.5 * theirs.latency.p99Ms;
  const relayText = theirs ? `raw relay p50 ${theirs.latency.p50Ms} ms, p99 ${theirs.latency.p99Ms} ms` : 'raw relay not run';
  return {
    target,
    measured: `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms${saturated(mine, gen)}${lost(mine)} (${relayText})`,
    met: verdict((absolute || relative) && mine.sustained),
  };
}

function everydayP99(primary: SystemResult, relay: SystemResult | undefined, gen: number): TargetRow {
  const target = 'everyday load: p99 within 2 ms of the raw relay\'s';
  const mine = primary.everyday;
  const theirs = relay?.everyday;
  if (!mine || !theirs) return notMeasured(target, mine ? 'the raw relay was not run' : 'everyday step not run');
  const over = mine.latency.p99Ms - theirs.latency.p99Ms;
  return {
    target,
    measured: `p99 ${mine.latency.p99Ms} ms vs ${theirs.latency.p99Ms} ms (${over >= 0 ? '+' : ''}${over.toFixed(3)} ms)${saturated(mine, gen)}${lost(mine)}`,
    met: verdict(over <= 2 && mine.sustained),
  };
}

function noSubscribers(r: BenchResults, primary: SystemResult, relay: SystemResult | undefined): TargetRow {
  const target = `no subscribers (${int(r.options.noSubscribersRate)} ticks/s produced): ≤ 2 µs of gateway CPU per ingested tick`;
  const n = primary.noSubscribers;
  if (!n) return notMeasured(target, 'no-subscribers step not run (--no-subscribers-rate 0)');
  const unread = n.read !== undefined && n.read < n.sent ? `; read only ${int(n.read)} of ${int(n.sent)}` : '';
  const relayText = relay?.noSubscribers ? `; raw relay ${relay.noSubscribers.usPerTick.toFixed(2)} µs` : '';
  return {
    target,
    measured: `${n.usPerTick.toFixed(2)} µs (${n.usPerTickAboveIdle.toFixed(2)} µs above the idle ${n.idleCpuPct.toFixed(1)}% CPU)${unread}${relayText}`,
    met: verdict(n.usPerTick <= 2),
  };
}

/** Each format's p99 against JSON's, in the step that served all four at once. */
function wireFormats(primary: SystemResult, gen: number): TargetRow {
  const target = 'every wire format\'s p99 within 2× of JSON\'s at the same load (clients spread over the 4 formats)';
  const s = primary.mixedFormats;
  const json = s?.latencyByFormat.json;
  if (!s || !json) return notMeasured(target, 'mixed-formats step not run (nothing sustained to halve)');
  const others = formatLatencies(s).filter(([f]) => f !== 'json');
  const ratios = others.map(([f, l]) => ({ f, ratio: l.latency.p99Ms / json.latency.p99Ms, text: `${f} ${l.latency.p99Ms} ms` }));
  const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a), ratios[0]);
  return {
    target,
    measured: `worst ${worst ? `${worst.f} ${worst.ratio.toFixed(2)}×` : 'n/a'}: json ${json.latency.p99Ms} ms, ${ratios.map((x) => x.text).join(', ')} at ${int(s.deliveredPerS)} delivered/s${saturated(s, gen)}${lost(s)}`,
    met: verdict(ratios.length > 0 && ratios.every((x) => x.ratio <= 2)),
  };
}

export function targetRows(r: BenchResults): TargetRow[] {
  const primary = primarySystem(r);
  if (primary === undefined) return [notMeasured('every target', 'no tickgate system was run')];
  const gen = cpuCount(r.options.pinning.generators, r.machine.cores);
  const find = (id: string) => r.systems.find((s) => s.id === id);
  const relay = find(RELAY);
  const ws = find(WS_PEER);
  const rows: TargetRow[] = [];

  const e = r.options.everyday;
  rows.push(costVersus(`everyday load (${int(e.workload.clients)} clients × 10 of 100 symbols, ${int(e.rate)} ticks/s): CPU per delivery ≤ 1.15× the raw relay's`,
    1.15, primary, relay, (sys) => sys.everyday, gen));
  rows.push(everydayP99(primary, relay, gen));
  const heavy = r.options.loads[r.options.loads.length - 1];
  rows.push(heavy === undefined
    ? notMeasured('CPU per delivery ≤ 1/3 of the ws peer\'s at the heaviest fixed load', 'no fixed loads')
    : costVersus(`${int(heavy)} offered deliveries/s: CPU per delivery ≤ 1/3 of the ws peer's`, 1 / 3, primary, ws, (sys) => stepAtLoad(r, sys, heavy), gen));
  rows.push(lightLoad(r, primary, relay, gen));
  rows.push(noSubscribers(r, primary, relay));
  rows.push(wireFormats(primary, gen));

  const peak = bestStep(primary.ramp);
  const cpuTarget = '≥ 3,000,000 deliveries per gateway CPU-second at the peak sustained step';
  rows.push(peak
    ? { target: cpuTarget, measured: `${int(peak.deliveriesPerServerCpuS)} (${int(peak.deliveredPerS)}/s, gateway CPU ${Math.round(peak.cpuPct.server)}%)${saturated(peak, gen)}`, met: verdict(peak.deliveriesPerServerCpuS >= 3_000_000) }
    : notMeasured(cpuTarget, 'no sustained tickgate step'));
  rows.push(versusPeer(primary, ws, 5, gen), versusPeer(primary, find(SOCKETIO_PEER), 10, gen));

  const perConn = primary.idleMemory.bytesPerConnection;
  rows.push({ target: '≤ 2 KiB RSS per idle connection', measured: `${int(perConn)} bytes (${int(primary.idleMemory.opened)} connections)`, met: verdict(perConn <= 2048) });

  const ingestTarget = 'ingest ≥ 200,000 ticks/s (XADD → XREADGROUP → publish)';
  const ingest = primary.ingest;
  if (ingest?.gateway) {
    const read = ingest.gateway.read / ingest.windowS;
    const producer = ingest.producedRate < 200_000 ? `; the producer reached only ${int(ingest.producedRate)}/s` : '';
    rows.push({ target: ingestTarget, measured: `${int(read)} ticks/s read and published, loss ${ingest.lossPct.toFixed(2)}%${saturated(ingest, gen)}${producer}`, met: verdict(read >= 200_000 && ingest.lossPct === 0) });
  } else rows.push(notMeasured(ingestTarget, 'ingest step not run (quick mode or --ingest-rate 0)'));

  const fast = bestStep(primary.ramp, 5);
  const deliveredTarget = '≥ 1,000,000 delivered ticks/s at p99 ≤ 5 ms';
  rows.push(fast
    ? { target: deliveredTarget, measured: `${int(fast.deliveredPerS)}/s at p99 ${fast.latency.p99Ms} ms${saturated(fast, gen)}`, met: verdict(fast.deliveredPerS >= 1_000_000) }
    : { target: deliveredTarget, measured: 'no tickgate ramp step had p99 ≤ 5 ms without loss', met: 'no' });

  const half = primary.halfLoad;
  const latencyTargets: [string, number, (s: StepResult) => number][] = [
    ['p50 ≤ 1 ms at 50% of max load', 1, (s) => s.latency.p50Ms],
    ['p99 ≤ 5 ms at 50% of max load', 5, (s) => s.latency.p99Ms],
    ['p99.9 ≤ 20 ms at 50% of max load', 20, (s) => s.latency.p999Ms],
  ];
  for (const [target, bound, pick] of latencyTargets) {
    rows.push(half
      ? { target: `e2e latency ${target}`, measured: `${pick(half)} ms at ${int(half.deliveredPerS)} delivered/s${saturated(half, gen)}`, met: verdict(pick(half) <= bound) }
      : notMeasured(`e2e latency ${target}`, 'half-load step not run (nothing sustained)'));
  }

  const idle = [...r.systems.filter((s) => s.id.startsWith('tickgate')).map((s) => s.idleMemory), ...(r.maxConnections ? [r.maxConnections] : [])];
  const most = idle.reduce((a, b) => (b.opened > a.opened ? b : a), idle[0]);
  rows.push({ target: '≥ 100,000 concurrent connections', measured: `${int(most.opened)} held${most.cappedBy ? `; capped by ${most.cappedBy}` : ''}`, met: verdict(most.opened >= 100_000) });

  const sysTarget = '≤ 0.1 write syscalls per delivered message at peak';
  const sc = peak?.syscalls;
  rows.push(sc && !('error' in sc)
    ? { target: sysTarget, measured: `${sc.perFrame.toFixed(3)} per frame, ${sc.perTick.toFixed(3)} per tick (${sc.tool}, ${sc.seconds} s, ${int(sc.total)} calls)`, met: verdict(sc.perFrame <= 0.1) }
    : notMeasured(sysTarget, sc && 'error' in sc ? sc.error : 'no sustained tickgate step'));
  return rows;
}
