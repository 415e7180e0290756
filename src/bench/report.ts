/**
 * The Markdown report: machine and method, the load ramp of every system, tickgate's extra steps, memory per idle
 * connection, and one row per target with the measured figure and whether it was met. Figures only; the judgement
 * of what limited a run is in the notes column and in src/bench/README.md.
 */
import { BenchResults, SystemResult } from './results';
import { StepResult } from './step';
import { targetRows } from './targets';
import { fanoutFactor } from './workload';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const dec = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

const STEP_HEADER =
  '| system | step | produced ticks/s | offered deliveries/s | delivered ticks/s | frames/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | loss % | server CPU % | deliveries per server CPU-s | server RSS MiB | redis CPU % | producer CPU % | loadgen CPU % | write syscalls per frame | sustained |\n' +
  '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n';

function syscallsCell(s: StepResult): string {
  if (s.syscalls === undefined) return '';
  if ('error' in s.syscalls) return 'n/a';
  return `${s.syscalls.perFrame.toFixed(3)}${s.syscalls.tool === 'strace' ? ' (strace)' : ''}`;
}

function stepRow(system: string, what: string, s: StepResult): string {
  const l = s.latency;
  return `| ${system} | ${what} | ${int(s.producedRate)} | ${int(s.offeredDeliveriesPerS)} | ${int(s.deliveredPerS)} | ${int(s.framesPerS)} | ` +
    `${dec(s.bytesPerS / 1e6)} | ${l.p50Ms} | ${l.p99Ms} | ${l.p999Ms} | ${l.maxMs} | ${dec(s.lossPct, 2)} | ${int(s.cpuPct.server)} | ` +
    `${int(s.deliveriesPerServerCpuS)} | ${int(s.serverRssMiB)} | ${int(s.cpuPct.redis)} | ${int(s.cpuPct.producer)} | ${int(s.cpuPct.loadgen)} | ` +
    `${syscallsCell(s)} | ${s.sustained ? 'yes' : `**no**${s.closedByServer > 0 ? ` (${s.closedByServer} closed)` : ''}`} |\n`;
}

function extraRows(sys: SystemResult): string {
  let out = '';
  if (sys.halfLoad) out += stepRow(sys.label, 'half of max sustained', sys.halfLoad);
  if (sys.mixedFormats) out += stepRow(sys.label, '4 formats mixed (p50/p99… of the JSON formats; per format below)', sys.mixedFormats);
  if (sys.ingest) {
    const gw = sys.ingest.gateway;
    out += stepRow(sys.label, `ingest, 1 client on all symbols (gateway read ${gw ? int(gw.read / sys.ingest.windowS) : 'n/a'} ticks/s)`, sys.ingest);
  }
  return out;
}

const FORMAT_HEADER =
  '| system | step | format | ticks | p50 ms (ts) | p99 ms (ts) | p99.9 ms (ts) | max ms (ts) | p99 ÷ json p99 (ts) | p50 ms (tus) | p99 ms (tus) |\n' +
  '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n';

/** One row per format received in a step; `ts` latency is what every format carries, so formats compare on it. */
function formatRows(system: string, what: string, s: StepResult): string {
  const json = s.formats.json?.ts.p99Ms;
  let out = '';
  for (const [format, l] of Object.entries(s.formats)) {
    const ratio = json === undefined || json === 0 ? 'n/a' : dec(l.ts.p99Ms / json, 2);
    const tus = l.tus.count > 0 ? `${l.tus.p50Ms} | ${l.tus.p99Ms}` : '– | –';
    out += `| ${system} | ${what} | ${format} | ${int(l.ts.count)} | ${l.ts.p50Ms} | ${l.ts.p99Ms} | ${l.ts.p999Ms} | ${l.ts.maxMs} | ${ratio} | ${tus} |\n`;
  }
  return out;
}

function formatTable(systems: SystemResult[]): string {
  let rows = '';
  for (const sys of systems) {
    if (!sys.mixedFormats) continue;
    if (sys.halfLoad) rows += formatRows(sys.label, 'half of max sustained', sys.halfLoad);
    rows += formatRows(sys.label, '4 formats mixed', sys.mixedFormats);
  }
  return rows && '\n### tickgate: latency per wire format, same load\n\n' +
    'From the tick\'s `ts` (ms producer stamp, so up to 1 ms high; every format carries it) and from `tus` (µs, JSON formats only), ' +
    'both to when the client read the frame.\n\n' + FORMAT_HEADER + rows;
}

export function markdownReport(r: BenchResults): string {
  const m = r.machine;
  const o = r.options;
  const w = o.workload;
  const pin = o.pinning.system === undefined
    ? 'none'
    : `system under test on CPU ${o.pinning.system}; redis-server, producer and load generators on CPU ${o.pinning.generators}` +
      (r.gatewayWorkersFlag ? `; tickgate with 2 workers on CPUs ${o.pinning.all}` : '');
  let md = `## Benchmark results (${r.startedAt}, ${o.quick ? 'quick' : 'full'} run, ${r.seconds.toFixed(0)} s)\n\n` +
    `- Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, redis-server ${m.redis}, load average at start ${m.loadAverage.join(' / ')}, at end ${r.loadAverageAtEnd.join(' / ')} (1/5/15 min)\n` +
    `- Pinning (taskset): ${pin}\n` +
    `- Workload: ${w.clients} clients × ${w.symbolsPerClient} symbols of ${w.symbols} (${dec(fanoutFactor(w), 0)} subscribers per symbol), JSON frames; ` +
    `${o.stepSeconds} s per step; ${o.loadgenThreads} load-generator threads\n` +
    `- Latency: producer stamp (CLOCK_MONOTONIC µs, taken when the XADD pipeline is sent) → client receive, every tick, HDR histogram\n` +
    `- tickgate --workers: ${r.gatewayWorkersFlag ? 'supported, 1 and 2 workers measured' : 'not supported by this build; single-threaded gateway'}\n\n` +
    `### Load ramp (each system until two steps in a row lose ticks or have p99 ≥ 50 ms)\n\n` + STEP_HEADER;
  for (const sys of r.systems) for (const s of sys.ramp) md += stepRow(sys.label, 'ramp', s);
  const extras = r.systems.map(extraRows).join('');
  if (extras) md += `\n### tickgate: latency at half load, wire formats, ingest\n\n${STEP_HEADER}${extras}`;
  md += formatTable(r.systems);

  md += '\n### Memory per idle connection (each subscribed to one symbol)\n\n| system | connections | RSS before MiB | RSS after MiB | bytes per connection | note |\n|---|--:|--:|--:|--:|---|\n';
  const idle = [...r.systems.map((s) => [s.label, s.idleMemory] as const), ...(r.maxConnections ? [['tickgate (max-connections)', r.maxConnections] as const] : [])];
  for (const [label, i] of idle) {
    const note = [i.cappedBy && `capped at ${int(i.attempted)} of ${int(i.target)} by ${i.cappedBy}`, i.failed > 0 && `${i.failed} failed: ${i.firstError}`].filter(Boolean).join('; ');
    md += `| ${label} | ${int(i.opened)} | ${dec(i.rssBeforeMiB)} | ${dec(i.rssAfterMiB)} | ${int(i.bytesPerConnection)} | ${note} |\n`;
  }

  md += '\n### Targets\n\n| target | measured | met |\n|---|---|---|\n';
  for (const t of targetRows(r)) md += `| ${t.target} | ${t.measured} | ${t.met} |\n`;
  return md + '\n';
}
