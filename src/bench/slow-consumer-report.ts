/** The slow-consumer bench's results: one row per window, the verdict, and one JSON line with every figure. */
import { LadderPath } from './ladder-timeline';
import { MachineInfo } from './machine';
import { SlowConsumerOptions } from './slow-consumer-options';
import type { StalledReading } from './stalled-client';
import { StepResult } from './step';

export interface WindowResult {
  kind: 'baseline' | 'stalled';
  step: StepResult;
  ladder: LadderPath;
  rssStartMiB: number;
  stalledRead?: StalledReading;
}

/** The bound: the others' p99 with a stalled client stays within this factor of their p99 without one. */
export const P99_BOUND = 2;

export interface Summary {
  /** Medians over the windows of each kind. */
  baselineP99Ms: number;
  stalledP99Ms: number;
  p99Ratio: number;
  baselineP999Ms: number;
  stalledP999Ms: number;
  /** Each stalled window's p99 over the baseline window just before it. */
  pairRatios: number[];
  /** Ticks the healthy clients should have received and did not, over every window. */
  healthyLostTicks: number;
  healthyClosedByServer: number;
  rssBaselineMaxMiB: number;
  rssStalledMaxMiB: number;
  /** Stalled windows in which the gateway conflated the stalled client: without it the windows prove nothing. */
  stalledWindowsConflated: number;
  /** Ladder steps in baseline windows, where every client reads at full rate: must be 0. */
  baselineLadderSteps: number;
  /** The bound: p99 ratio within P99_BOUND, nothing lost or closed among the healthy, the ladder engaged. */
  met: boolean;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return round(s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2);
};

const ladderSteps = (l: LadderPath) => l.modeChanges.conflated + l.modeChanges['snapshot-only'] + l.slowDisconnects;

export function summarize(windows: WindowResult[]): Summary {
  const of = (kind: WindowResult['kind']) => windows.filter((w) => w.kind === kind);
  const base = of('baseline');
  const stalled = of('stalled');
  const baselineP99Ms = median(base.map((w) => w.step.latency.p99Ms));
  const stalledP99Ms = median(stalled.map((w) => w.step.latency.p99Ms));
  const pairRatios = windows.flatMap((w, i) => (w.kind === 'stalled' && windows[i - 1]?.kind === 'baseline'
    ? [round(w.step.latency.p99Ms / windows[i - 1].step.latency.p99Ms, 2)] : []));
  const healthyLostTicks = windows.reduce((n, w) => n + Math.max(0, w.step.expected - w.step.delivered), 0);
  const healthyClosedByServer = windows.reduce((n, w) => n + w.step.closedByServer, 0);
  const p99Ratio = round(stalledP99Ms / baselineP99Ms, 2);
  const stalledWindowsConflated = stalled.filter((w) => w.ladder.modeChanges.conflated > 0).length;
  const baselineLadderSteps = base.reduce((n, w) => n + ladderSteps(w.ladder), 0);
  return {
    baselineP99Ms, stalledP99Ms, p99Ratio,
    baselineP999Ms: median(base.map((w) => w.step.latency.p999Ms)),
    stalledP999Ms: median(stalled.map((w) => w.step.latency.p999Ms)),
    pairRatios, healthyLostTicks, healthyClosedByServer,
    rssBaselineMaxMiB: round(Math.max(...base.map((w) => w.step.serverRssMiB)), 1),
    rssStalledMaxMiB: round(Math.max(...stalled.map((w) => w.step.serverRssMiB)), 1),
    stalledWindowsConflated, baselineLadderSteps,
    met: p99Ratio <= P99_BOUND && healthyLostTicks === 0 && healthyClosedByServer === 0 && baselineLadderSteps === 0 &&
      stalledWindowsConflated === stalled.length,
  };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const at = (label: string, s: number | undefined) => (s === undefined ? [] : [`${label} ${s} s`]);

function ladderCell(w: WindowResult): string {
  const l = w.ladder;
  if (w.kind === 'baseline') {
    const moved = ladderSteps(l);
    return moved === 0 ? '(none: no client left full rate)' : `**${moved} ladder steps among the healthy clients**`;
  }
  const worker = l.stalledWorker === undefined ? 'worker unknown' : `on worker ${l.stalledWorker}, with ${l.healthyOnStalledWorker} healthy clients`;
  const steps = [...at('conflated', l.conflatedAtS), ...at('snapshot-only', l.snapshotOnlyAtS), ...at('back to full', l.backToFullAtS),
    ...at('closed 4001', l.closed4001AtS)];
  const end = l.closed4001AtS === undefined ? '; connected until the window ended' : '';
  return `read ${int(w.stalledRead?.dataFrames ?? 0)} frames, then stopped; ${steps.length > 0 ? steps.join(', ') : 'no ladder step'}${end} ` +
    `(${worker}; most backpressured sockets ${l.backpressuredMax})`;
}

export function slowConsumerReport(opts: SlowConsumerOptions, m: MachineInfo, gateway: string, windows: WindowResult[], s: Summary, seconds: number) {
  const w = opts.workload;
  const deliveries = (opts.rate * w.clients * Math.min(w.symbolsPerClient, w.symbols)) / w.symbols;
  let md = `## Slow consumer: the healthy clients' latency with and without one stalled client (${new Date().toISOString()}, ` +
    `${opts.quick ? 'quick' : 'full'} run, ${seconds.toFixed(0)} s)\n\n` +
    `- Machine: ${m.cores} × ${m.cpuModel}, Node ${m.node}, redis-server ${m.redis}, load average at start ${m.loadAverage.join(' / ')}\n` +
    `- Gateway: ${gateway}${opts.gatewayArgs.length > 0 ? `, with ${opts.gatewayArgs.join(' ')}` : ', default ladder settings'}; ` +
    `pinning: ${opts.pinning.system === undefined ? 'none' : `gateway on CPUs ${opts.pinning.all}, redis/producer/load generator/stalled client on CPU ${opts.pinning.generators}`}\n` +
    `- Load: ${int(opts.rate)} ticks/s over ${w.symbols} symbols; ${w.clients} healthy clients × ${w.symbolsPerClient} symbols ` +
    `(${int(deliveries)} deliveries/s), JSON; the stalled client subscribes to ${opts.stalledSymbols} symbols, reads for ${opts.readMs} ms, then stops reading\n` +
    `- Windows: ${opts.pairs} × (baseline, stalled), ${opts.windowSeconds} s of ticks each, on one running gateway; latency = producer stamp → ` +
    `healthy client receive, every tick; ladder times from /metrics sampled every second, in s after the client stopped reading\n\n` +
    '| # | window | p50 ms | p99 ms | p99.9 ms | max ms | healthy ticks delivered / expected | gateway CPU % | gateway RSS start → peak MiB | stalled client |\n' +
    '|--:|---|--:|--:|--:|--:|--:|--:|--:|---|\n';
  for (const [i, win] of windows.entries()) {
    const l = win.step.latency;
    md += `| ${i + 1} | ${win.kind} | ${l.p50Ms} | ${l.p99Ms} | ${l.p999Ms} | ${l.maxMs} | ${int(win.step.delivered)} / ${int(win.step.expected)}` +
      `${win.step.closedByServer > 0 ? ` (**${win.step.closedByServer} closed**)` : ''} | ${int(win.step.cpuPct.server)} | ` +
      `${int(win.rssStartMiB)} → ${int(win.step.serverRssMiB)} | ${ladderCell(win)} |\n`;
  }
  md += `\n**p99 with the stalled client / without: ${s.stalledP99Ms} / ${s.baselineP99Ms} ms = ${s.p99Ratio}×** (medians of the windows; ` +
    `per pair ${s.pairRatios.join(', ')}; bound ${P99_BOUND}×). p99.9: ${s.stalledP999Ms} / ${s.baselineP999Ms} ms. ` +
    `Healthy clients: ${int(s.healthyLostTicks)} ticks lost, ${s.healthyClosedByServer} closed by the server. ` +
    `Gateway RSS peak: ${int(s.rssBaselineMaxMiB)} MiB in baseline windows, ${int(s.rssStalledMaxMiB)} MiB in stalled ones. ` +
    `Stalled client conflated in ${s.stalledWindowsConflated} of ${windows.filter((x) => x.kind === 'stalled').length} stalled windows. ` +
    `${s.met ? 'Bound met.' : '**Bound not met.**'}` +
    `${opts.quick ? ' (Quick run: a smoke test; windows this short swing the ratio 2-4× either way, the full run measures it.)' : ''}\n`;
  const json = {
    bench: 'slow-consumer', quick: opts.quick, rate: opts.rate, healthyClients: w.clients, symbols: w.symbols, symbolsPerClient: w.symbolsPerClient,
    stalledSymbols: opts.stalledSymbols, windowSeconds: opts.windowSeconds, pairs: opts.pairs, gateway, gatewayArgs: opts.gatewayArgs, ...s,
    windows: windows.map((x) => ({ kind: x.kind, latency: x.step.latency, expected: x.step.expected, delivered: x.step.delivered,
      closedByServer: x.step.closedByServer, serverCpuPct: round(x.step.cpuPct.server, 1), rssStartMiB: round(x.rssStartMiB, 1),
      rssPeakMiB: round(x.step.serverRssMiB, 1), ladder: x.ladder, stalledRead: x.stalledRead })),
  };
  return { markdown: md, json };
}
