/**
 * The Markdown report: machine and method; the cost of a delivery of every system at the fixed loads and at the
 * everyday load, side by side with its ratio to the ws peer's and the raw relay's; the cost of ingest with no
 * subscribers; every step in detail (the ramp, then the everyday and the primary's extra steps); the primary's
 * latency per wire format at one load; memory per idle connection; and one row per target with the measured figure
 * and whether it was met. Figures only; the judgement of what limited a run is in the notes column and in
 * src/bench/README.md.
 */
import { BenchResults, cpuPerMillion, formatLatencies, primarySystem, RELAY, stepAtLoad, SystemResult, WS_PEER } from './results';
import { StepResult } from './step';
import { targetRows } from './targets';
import { fanoutFactor, Workload } from './workload';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const dec = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

const STEP_HEADER =
  '| system | step | produced ticks/s | offered deliveries/s | delivered ticks/s | frames/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | loss % | server CPU % | deliveries per server CPU-s | server RSS MiB | redis CPU % | producer CPU % | loadgen CPU % | write syscalls per frame | sustained |\n' +
  '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n';

const COST_HEADER =
  '| step | system | offered deliveries/s | delivered/s | loss % | server CPU % | CPU-s per M deliveries | × ws peer | × raw relay | p50 ms | p99 ms | p99.9 ms | write syscalls per delivered tick | sustained |\n' +
  '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n';

function syscallsCell(s: StepResult, per: 'perFrame' | 'perTick'): string {
  if (s.syscalls === undefined) return '';
  if ('error' in s.syscalls) return 'n/a';
  return `${s.syscalls[per].toFixed(3)}${s.syscalls.tool === 'strace' ? ' (strace)' : ''}`;
}

function sustainedCell(s: StepResult): string {
  return s.sustained ? 'yes' : `**no**${s.closedByServer > 0 ? ` (${s.closedByServer} closed)` : ''}`;
}

function stepRow(system: string, what: string, s: StepResult): string {
  const l = s.latency;
  return `| ${system} | ${what} | ${int(s.producedRate)} | ${int(s.offeredDeliveriesPerS)} | ${int(s.deliveredPerS)} | ${int(s.framesPerS)} | ` +
    `${dec(s.bytesPerS / 1e6)} | ${l.p50Ms} | ${l.p99Ms} | ${l.p999Ms} | ${l.maxMs} | ${dec(s.lossPct, 2)} | ${int(s.cpuPct.server)} | ` +
    `${int(s.deliveriesPerServerCpuS)} | ${int(s.serverRssMiB)} | ${int(s.cpuPct.redis)} | ${int(s.cpuPct.producer)} | ${int(s.cpuPct.loadgen)} | ` +
    `${syscallsCell(s, 'perFrame')} | ${sustainedCell(s)} |\n`;
}

function extraRows(sys: SystemResult): string {
  let out = '';
  if (sys.everyday) out += stepRow(sys.label, 'everyday load', sys.everyday);
  if (sys.halfLoad) out += stepRow(sys.label, 'half of max sustained', sys.halfLoad);
  if (sys.mixedFormats) out += stepRow(sys.label, '4 formats mixed (p50/p99… of the JSON formats, from `tus`; per format below)', sys.mixedFormats);
  if (sys.ingest) {
    const gw = sys.ingest.gateway;
    out += stepRow(sys.label, `ingest, 1 client on all symbols (gateway read ${gw ? int(gw.read / sys.ingest.windowS) : 'n/a'} ticks/s)`, sys.ingest);
  }
  return out;
}

const ratio = (a: number, b: number | undefined) => (b === undefined ? '' : `${dec(a / b, 2)}×`);

/** One row per format served in a step, from `ts` (the clock every format carries), each p99 against JSON's. */
function formatRows(system: string, what: string, s: StepResult): string {
  const json = s.latencyByFormat.json?.latency.p99Ms;
  let out = '';
  for (const [format, { ticks, latency: l }] of formatLatencies(s)) {
    out += `| ${system} | ${what} | ${format} | ${int(ticks)} | ${l.p50Ms} | ${l.p99Ms} | ${l.p999Ms} | ${l.maxMs} | ${json ? ratio(l.p99Ms, json) : 'n/a'} |\n`;
  }
  return out;
}

/** The mixed-formats step per format, after the JSON-only step at the same rate. */
function formatTable(sys: SystemResult | undefined): string {
  if (!sys?.mixedFormats) return '';
  const rows = (sys.halfLoad ? formatRows(sys.label, 'half of max sustained', sys.halfLoad) : '') + formatRows(sys.label, '4 formats mixed', sys.mixedFormats);
  return '\n### Latency per wire format at the same load\n\n' +
    'From each tick\'s `ts` (the producer\'s ms stamp, so up to 1 ms high alike for every format) to when the client read the frame.\n\n' +
    '| system | step | format | ticks | p50 ms | p99 ms | p99.9 ms | max ms | p99 ÷ json p99 |\n|---|---|---|--:|--:|--:|--:|--:|--:|\n' + rows;
}

/** One row per system of one step: its CPU per delivery against the ws peer's and the relay's in the same step. */
function costRows(what: string, r: BenchResults, stepOf: (sys: SystemResult) => StepResult | undefined): string {
  const cost = (id: string) => {
    const sys = r.systems.find((s) => s.id === id);
    const s = sys && stepOf(sys);
    return s && cpuPerMillion(s);
  };
  const ws = cost(WS_PEER);
  const relay = cost(RELAY);
  let out = '';
  for (const sys of r.systems) {
    const s = stepOf(sys);
    if (s === undefined) continue;
    const c = cpuPerMillion(s);
    out += `| ${what} | ${sys.label} | ${int(s.offeredDeliveriesPerS)} | ${int(s.deliveredPerS)} | ${dec(s.lossPct, 2)} | ${int(s.cpuPct.server)} | ` +
      `${dec(c, 2)} | ${ratio(c, ws)} | ${ratio(c, relay)} | ${s.latency.p50Ms} | ${s.latency.p99Ms} | ${s.latency.p999Ms} | ` +
      `${syscallsCell(s, 'perTick')} | ${sustainedCell(s)} |\n`;
  }
  return out;
}

function noSubscriberRows(r: BenchResults): string {
  const relay = r.systems.find((s) => s.id === RELAY)?.noSubscribers;
  let out = '';
  for (const sys of r.systems) {
    const n = sys.noSubscribers;
    if (n === undefined) continue;
    out += `| ${sys.label} | ${int(n.producedRate)} | ${int(n.sent)} | ${n.read === undefined ? '' : int(n.read)} | ${dec(n.serverCpuPct)} | ` +
      `${dec(n.idleCpuPct)} | ${dec(n.usPerTick, 2)} | ${dec(n.usPerTickAboveIdle, 2)} | ${ratio(n.usPerTick, relay?.usPerTick)} |\n`;
  }
  return out;
}

const describeWorkload = (w: Workload) =>
  `${int(w.clients)} clients × ${w.symbolsPerClient} symbols of ${w.symbols} (${dec(fanoutFactor(w), 0)} subscribers per symbol)`;

export function markdownReport(r: BenchResults): string {
  const m = r.machine;
  const o = r.options;
  const primary = primarySystem(r);
  const pin = o.pinning.system === undefined
    ? 'none'
    : `system under test on CPU ${o.pinning.system}; redis-server, producer and load generators on CPU ${o.pinning.generators}` +
      (r.gatewayWorkersFlag ? `; tickgate with 2 workers on CPUs ${o.pinning.all}` : '');
  const fixedOnly = r.systems.filter((s) => s.fixedOnly).map((s) => s.label);
  let md = `## Benchmark results (${r.startedAt}, ${o.quick ? 'quick' : 'full'} run, ${r.seconds.toFixed(0)} s)\n\n` +
    `- Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, redis-server ${m.redis}, load average at start ${m.loadAverage.join(' / ')}, at end ${r.loadAverageAtEnd.join(' / ')} (1/5/15 min)\n` +
    `- Pinning (taskset): ${pin}\n` +
    `- Workload: ${describeWorkload(o.workload)}, JSON frames; ${o.stepSeconds} s per step; ${o.loadgenThreads} load-generator threads. ` +
    `Everyday load: ${describeWorkload(o.everyday.workload)} at ${int(o.everyday.rate)} ticks/s\n` +
    `- Latency: producer stamp (CLOCK_MONOTONIC µs, taken when the XADD pipeline is sent) → client receive, every tick, HDR histogram\n` +
    `- Systems: ${r.systems.map((s) => s.label).join(', ')}; primary (extra steps, targets): ${primary?.label ?? 'none'}` +
    `${fixedOnly.length > 0 ? `; measured at the fixed loads only, not ramped: ${fixedOnly.join(', ')}` : ''}\n` +
    `- CPU: each system's process, all threads (schedstat), from the producer's start to the last delivery; ` +
    `CPU-s per M deliveries = that CPU / ticks delivered × 10⁶\n\n`;

  md += '### Cost per delivery at fixed loads and at the everyday load\n\n' + COST_HEADER;
  for (const load of o.loads) md += costRows(`fixed ${int(load)}/s`, r, (sys) => stepAtLoad(r, sys, load));
  md += costRows('everyday', r, (sys) => sys.everyday);

  const noSubs = noSubscriberRows(r);
  if (noSubs) {
    md += `\n### Ingest with no subscribers (${int(o.noSubscribersRate)} ticks/s produced for ${o.stepSeconds} s, no client connected)\n\n` +
      '| system | produced ticks/s | ticks produced | read (tickgate /metrics) | server CPU % | idle CPU % | CPU µs per ingested tick | µs above idle | × raw relay |\n' +
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|\n' + noSubs;
  }

  md += `\n### Load ramp (the fixed loads for every system; ramped systems until two steps in a row lose ticks or have p99 ≥ 50 ms)\n\n` + STEP_HEADER;
  for (const sys of r.systems) for (const s of sys.ramp) md += stepRow(sys.label, sys.fixedOnly ? 'fixed load' : 'ramp', s);
  const extras = r.systems.map(extraRows).join('');
  if (extras) md += `\n### Everyday load; primary: latency at half load, wire formats, ingest\n\n${STEP_HEADER}${extras}`;
  md += formatTable(primary);

  md += '\n### Memory per idle connection (each subscribed to one symbol)\n\n| system | connections | RSS before MiB | RSS after MiB | bytes per connection | note |\n|---|--:|--:|--:|--:|---|\n';
  const idle = [...r.systems.map((s) => [s.label, s.idleMemory] as const), ...(r.maxConnections ? [[`${primary?.label} (max-connections)`, r.maxConnections] as const] : [])];
  for (const [label, i] of idle) {
    const note = [i.cappedBy && `capped at ${int(i.attempted)} of ${int(i.target)} by ${i.cappedBy}`, i.failed > 0 && `${i.failed} failed: ${i.firstError}`].filter(Boolean).join('; ');
    md += `| ${label} | ${int(i.opened)} | ${dec(i.rssBeforeMiB)} | ${dec(i.rssAfterMiB)} | ${int(i.bytesPerConnection)} | ${note} |\n`;
  }

  md += '\n### Targets\n\n| target | measured | met |\n|---|---|---|\n';
  for (const t of targetRows(r)) md += `| ${t.target} | ${t.measured} | ${t.met} |\n`;
  return md + '\n';
}
