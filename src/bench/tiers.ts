/**
 * Subscription tiers, measured (issue 16): the gateway's CPU and each tier's latency with N clients all on the
 * full real-time tier, against the same N split over full / 4 per second / delayed, in one run on one gateway, the
 * two layouts alternating (A B A B …) so that drift on a shared machine shows up as a difference between rounds.
 *
 *   make build && node dist/bench/tiers.js
 *   node dist/bench/tiers.js --clients 1000 --symbols 10 --rate 500 --seconds 15 --rounds 2
 *
 * Processes: a private redis-server, one gateway (`dist/cli.js gateway --delay-s D`), the producer (`dist/cli.js
 * producer`, --rate ticks/s round-robin over --symbols), and --processes client processes (tiers-clients.ts). Each
 * client subscribes to --per-client symbols on JSON. Latency: arrival − the tick's `ts` (real-time tiers; the 4/s
 * tier's includes up to 250 ms of waiting for its slot, by design), arrival − `ts` − the delay (delayed tier). CPU:
 * the gateway's CPU seconds over the measured window, as % of one core. Prints a Markdown table; --out writes JSON.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChildProcess } from 'node:child_process';
import { symbolNames } from '../producer/random-walk';
import { startPrivateRedis } from '../demo/private-redis';
import { repoRoot, spawnNode, stopChild, whenServing } from './children';
import { cpuSeconds } from './proc-stats';
import { childChannel, RpcClient } from './rpc';
import { mergeHistograms, summarize, LatencySummary } from './latency';
import { BenchTier, ClientSpec, OpenRequest, TierCounts } from './tiers-clients';

interface Options {
  clients: number;
  symbols: number;
  perClient: number;
  rate: number;
  seconds: number;
  rounds: number;
  delayS: number;
  processes: number;
  out: string;
}

type Layout = 'all full' | 'split';

interface Generator {
  rpc: RpcClient;
  pid: number;
}

interface TierResult {
  clients: number;
  framesPerS: number;
  ticksPerS: number;
  latency: LatencySummary;
}

interface PhaseResult {
  round: number;
  layout: Layout;
  gatewayCpuPercent: number;
  /** The client processes' CPU, summed: near 100% per process, they (not the gateway) bound latency. */
  clientsCpuPercent: number;
  tiers: Partial<Record<BenchTier, TierResult>>;
}

const log = (msg: string) => process.stderr.write(`tiers: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function options(argv: string[]): Options {
  const { values } = parseArgs({ args: argv, options: {
    clients: { type: 'string', default: '1000' }, symbols: { type: 'string', default: '10' }, 'per-client': { type: 'string', default: '1' },
    rate: { type: 'string', default: '500' }, seconds: { type: 'string', default: '15' }, rounds: { type: 'string', default: '2' },
    'delay-s': { type: 'string', default: '2' }, processes: { type: 'string', default: '2' }, out: { type: 'string', default: '' },
  } });
  const n = (k: keyof typeof values) => {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
    return v;
  };
  return { clients: n('clients'), symbols: n('symbols'), perClient: n('per-client'), rate: n('rate'), seconds: n('seconds'),
    rounds: n('rounds'), delayS: n('delay-s'), processes: n('processes'), out: values.out! };
}

/** Client i's symbols and tier: consecutive symbols, so every symbol has subscribers in every tier. */
function specs(o: Options, layout: Layout): ClientSpec[] {
  const names = symbolNames(o.symbols);
  const tiers: BenchTier[] = layout === 'all full' ? ['full'] : ['full', '4/s', 'delayed'];
  return Array.from({ length: o.clients }, (_, i) => ({
    tier: tiers[i % tiers.length],
    symbols: Array.from({ length: o.perClient }, (_, k) => names[(i + k * 7) % names.length]),
  }));
}

const percentOfCore = (cpuS: number, elapsedS: number) => Math.round((cpuS / elapsedS) * 1000) / 10;

async function phase(o: Options, url: string, gatewayPid: number, generators: Generator[], round: number, layout: Layout): Promise<PhaseResult> {
  const all = specs(o, layout);
  await Promise.all(generators.map((g, p) => g.rpc.call<number>('open', {
    url, delayMs: o.delayS * 1000, clients: all.filter((_, i) => i % generators.length === p),
  } satisfies OpenRequest)));
  // The delayed tier's first ticks arrive the delay after the subscribe; the 4/s tier settles within a second.
  await sleep(o.delayS * 1000 + 2000);
  await Promise.all(generators.map((g) => g.rpc.call('start')));
  const clientsCpu = () => generators.reduce((s, g) => s + cpuSeconds(g.pid), 0);
  const cpu0 = cpuSeconds(gatewayPid);
  const clients0 = clientsCpu();
  const t0 = Date.now();
  await sleep(o.seconds * 1000);
  const cpu1 = cpuSeconds(gatewayPid);
  const clients1 = clientsCpu();
  const elapsedS = (Date.now() - t0) / 1000;
  const per = await Promise.all(generators.map((g) => g.rpc.call<Record<BenchTier, TierCounts>>('stop')));
  await Promise.all(generators.map((g) => g.rpc.call('close')));
  const tiers: PhaseResult['tiers'] = {};
  for (const tier of ['full', '4/s', 'delayed'] as const) {
    const clients = all.filter((s) => s.tier === tier).length;
    if (clients === 0) continue;
    const frames = per.reduce((n, p) => n + p[tier].frames, 0);
    const ticks = per.reduce((n, p) => n + p[tier].ticks, 0);
    tiers[tier] = { clients, framesPerS: Math.round(frames / elapsedS), ticksPerS: Math.round(ticks / elapsedS),
      latency: summarize(mergeHistograms(per.map((p) => p[tier].histogram))) };
  }
  const result = { round, layout, gatewayCpuPercent: percentOfCore(cpu1 - cpu0, elapsedS), clientsCpuPercent: percentOfCore(clients1 - clients0, elapsedS), tiers };
  log(`round ${round} ${layout}: gateway ${result.gatewayCpuPercent}% CPU`);
  return result;
}

function table(results: PhaseResult[]): string {
  const rows = ['| round | layout | gateway CPU (% of a core) | client processes\' CPU | tier | clients | frames/s, ticks/s received | p50 / p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of results) {
    for (const [tier, t] of Object.entries(r.tiers)) {
      rows.push(`| ${r.round} | ${r.layout} | ${r.gatewayCpuPercent} | ${r.clientsCpuPercent} | ${tier} | ${t.clients} | ${t.framesPerS}, ${t.ticksPerS} | ${t.latency.p50Ms} / ${t.latency.p99Ms} |`);
    }
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const cli = join(repoRoot(), 'dist', 'cli.js');
  const redis = await startPrivateRedis();
  const children: ChildProcess[] = [];
  try {
    const gw = spawnNode(cli, ['gateway', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url, '--delay-s', String(o.delayS),
      '--max-connections-per-ip', '100000']);
    children.push(gw);
    const { port } = await whenServing('gateway', gw);
    const producer = spawnNode(cli, ['producer', '--redis', redis.url, '--symbols', String(o.symbols), '--rate', String(o.rate), '--maxlen', '0', '--log-level', 'warn']);
    children.push(producer);
    const generators = Array.from({ length: o.processes }, (): Generator => {
      const child = spawnNode(join(__dirname, 'tiers-clients.js'), [], { ipc: true });
      children.push(child);
      return { rpc: new RpcClient(childChannel(child)), pid: child.pid! };
    });
    const url = `ws://127.0.0.1:${port}/v1/stream`;
    log(`${o.clients} clients, ${o.symbols} symbols, ${o.rate} ticks/s, ${o.perClient} symbol(s) each, ${o.seconds} s per phase, delay ${o.delayS} s`);
    const results: PhaseResult[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (const layout of ['all full', 'split'] as const) results.push(await phase(o, url, gw.pid!, generators, round, layout));
    }
    process.stdout.write(`${table(results)}\n`);
    if (o.out) writeFileSync(o.out, JSON.stringify({ options: o, results }, null, 2));
  } finally {
    for (const c of children) await stopChild(c);
    await redis.stop();
  }
}

main().catch((err: Error) => {
  log(err.stack ?? err.message);
  process.exit(1);
});
