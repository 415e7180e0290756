/**
 * Many concurrent connections on one host (issue 15's 100,000): K tickgate gateway processes (--workers 0) on ONE
 * port through SO_REUSEPORT, each far under the descriptor limit; a private redis-server; the tickgate producer at
 * a low rate; M load-generator processes (connection-generator.ts), each opening its share from its own source
 * address 127.0.0.(2+g) and subscribing each connection to one symbol.
 *
 * Reported: connections open, time to open them all (handshake and subscribe ack), their spread over the gateways
 * (each one's tickgate_connections_open, from its own --metrics-port), gateway RSS per connection (the sum over every
 * gateway of RSS after minus RSS before, from /proc/PID/status, over the connections open), the generators' RSS, and
 * how many connections received at least one tick. Every process it starts is stopped at the end, and killed if it
 * exits early. `--help` lists the options; sizing and limits are checked before anything starts
 * (connections-options.ts).
 */
import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPrivateRedis } from '../../demo/private-redis';
import { freePort } from '../../net';
import { symbolNames } from '../../producer/random-walk';
import { repoRoot, spawnNode, stopChild, whenServing } from '../children';
import { machineInfo } from '../machine';
import { rssBytes } from '../proc-stats';
import { metricSum, scrapeMetrics } from '../prom';
import { childChannel, RpcClient } from '../rpc';
import { GeneratorStatus, OpenRequest, OpenResult } from './connection-generator';
import { HELP, hostLimits, ScaleOptions, scaleOptions, shares } from './connections-options';

const CLI = join(repoRoot(), 'dist', 'cli.js');

interface Gateway {
  child: ChildProcess;
  pid: number;
  metrics: string;
}

interface Generator {
  child: ChildProcess;
  pid: number;
  rpc: RpcClient;
}

const progress = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const n = (x: number) => Math.round(x).toLocaleString('en-US');

async function startGateway(port: number, redisUrl: string, i: number): Promise<Gateway> {
  const metricsPort = await freePort();
  const child = spawnNode(CLI, ['gateway', '--port', String(port), '--host', '127.0.0.1', '--redis', redisUrl, '--instance', `scale-${i}`,
    '--workers', '0', '--max-connections-per-ip', '10000000', '--metrics-port', String(metricsPort), '--log-level', 'info']);
  await whenServing(`gateway ${i}`, child);
  const metrics = `http://127.0.0.1:${metricsPort}`;
  for (const deadline = Date.now() + 15_000; metricSum(await scrapeMetrics(metrics), 'tickgate_reader_ready') !== 1;) {
    if (Date.now() > deadline) throw new Error(`gateway ${i}: reader not ready after 15 s`);
    await sleep(100);
  }
  return { child, pid: child.pid!, metrics };
}

function startGenerator(): Generator {
  const child = spawnNode(join(__dirname, 'connection-generator.js'), [], { ipc: true });
  const rpc = new RpcClient(childChannel(child));
  let stderr = '';
  child.stdout!.resume();
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  child.once('exit', (code) => rpc.abandon(`generator exited (${code}): ${stderr.trim()}`));
  return { child, pid: child.pid!, rpc };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Samples needed within STEADY_BAND of each other for RSS to count as steady, one a second. */
const STEADY_SAMPLES = 4;
const STEADY_BAND = 0.01;

/**
 * Every process's RSS once their sum has been steady for a few seconds, and no sooner than `minS`. A fresh Node
 * process sheds its start-up garbage only when V8's memory reducer runs, about 9 s after start (a gateway: 92 → 63
 * MiB), so a reading taken before that would make the connections look cheaper than they are, or even free.
 */
async function steadyRss(pids: number[], minS: number): Promise<{ rss: number[]; steady: boolean }> {
  const sums: number[] = [];
  const started = performance.now();
  for (;;) {
    const rss = pids.map(rssBytes);
    sums.push(sum(rss));
    const recent = sums.slice(-STEADY_SAMPLES);
    const steady = recent.length === STEADY_SAMPLES && Math.max(...recent) - Math.min(...recent) <= STEADY_BAND * Math.max(...recent);
    const elapsedS = (performance.now() - started) / 1000;
    if ((steady && elapsedS >= minS) || elapsedS >= minS + 30) return { rss, steady };
    await sleep(1000);
  }
}

async function run(o: ScaleOptions): Promise<void> {
  const limits = hostLimits();
  progress(`${n(o.connections)} connections: ${o.gateways} gateways on one port, ${o.generators} generators ` +
    `(hard descriptor limit ${n(limits.hardFiles)}, ${n(limits.ephemeralPorts)} ephemeral ports per source address)`);
  const redis = await startPrivateRedis();
  const gateways: Gateway[] = [];
  const generators: Generator[] = [];
  let producer: ChildProcess | undefined;
  try {
    const port = await freePort();
    // One at a time: each must be listening on the port before the next joins it.
    for (let i = 0; i < o.gateways; i++) gateways.push(await startGateway(port, redis.url, i));
    producer = spawnNode(CLI, ['producer', '--redis', redis.url, '--rate', String(o.rate), '--symbols', String(o.symbols), '--log-level', 'warn']);
    producer.stdout!.resume();
    producer.stderr!.resume();
    for (let g = 0; g < o.generators; g++) generators.push(startGenerator());
    progress('waiting for the gateways\' RSS to settle');
    const before = await steadyRss(gateways.map((g) => g.pid), o.settleS);
    const rssBefore = before.rss;

    progress(`opening on port ${port}`);
    const names = symbolNames(o.symbols);
    const split = shares(o.connections, o.generators);
    const started = performance.now();
    const opened = await Promise.all(generators.map((g, i) => g.rpc.call<OpenResult>('open', {
      port, localAddress: `127.0.0.${2 + i}`, count: split[i], symbols: names, first: sum(split.slice(0, i)), concurrency: o.concurrency,
    } satisfies OpenRequest)));
    const openSeconds = (performance.now() - started) / 1000;
    const open = sum(opened.map((r) => r.opened));
    progress(`${n(open)} open in ${openSeconds.toFixed(1)} s; waiting for a tick on each`);

    const statuses = () => Promise.all(generators.map((g) => g.rpc.call<GeneratorStatus>('status')));
    const tickDeadline = performance.now() + o.tickWaitS * 1000;
    let status = await statuses();
    while (sum(status.map((s) => s.withTick)) < open && performance.now() < tickDeadline) {
      await sleep(500);
      status = await statuses();
    }
    const tickSeconds = (performance.now() - started) / 1000 - openSeconds;
    const after = await steadyRss(gateways.map((g) => g.pid), o.settleS);
    const rssAfter = after.rss;
    const perGateway = await Promise.all(gateways.map(async (g) => metricSum(await scrapeMetrics(g.metrics), 'tickgate_connections_open')));
    const generatorRss = generators.map((g) => rssBytes(g.pid));
    status = await statuses();

    const gained = sum(rssAfter) - sum(rssBefore);
    const firstError = opened.find((r) => r.firstError)?.firstError;
    const rows: [string, string][] = [
      ['connections asked / open / failed', `${n(o.connections)} / ${n(open)} / ${n(sum(opened.map((r) => r.failed)))}${firstError ? ` (first error: ${firstError})` : ''}`],
      ['time to open them all (connect, upgrade, subscribe ack)', `${openSeconds.toFixed(1)} s (${n(open / openSeconds)}/s; slowest generator ${Math.max(...opened.map((r) => r.seconds)).toFixed(1)} s)`],
      ['open per gateway (tickgate_connections_open)', `${perGateway.map(n).join(', ')} (sum ${n(sum(perGateway))})`],
      ['connections that received a tick', `${n(sum(status.map((s) => s.withTick)))} of ${n(open)}, ${tickSeconds.toFixed(1)} s after the last opened; ${n(sum(status.map((s) => s.dropped)))} dropped by the server`],
      ['gateway RSS, sum before → after', `${mib(sum(rssBefore))} → ${mib(sum(rssAfter))} MiB (per gateway after: ${rssAfter.map(mib).join(', ')})` +
        `${before.steady && after.steady ? '' : '; NOT steady within 30 s of the settling time: per connection below is unreliable'}`],
      ['gateway RSS per connection', `${n(gained / open)} B`],
      ['generator RSS, sum (per connection)', `${mib(sum(generatorRss))} MiB (${n(sum(generatorRss) / open)} B)`],
    ];
    const m = machineInfo();
    process.stdout.write(`\n### ${n(o.connections)} connections: ${o.gateways} gateway processes on one port (SO_REUSEPORT), ${o.generators} load generators\n\n` +
      `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, kernel ${m.kernel}, redis ${m.redis}; load average at the end ` +
      `${m.loadAverage.join(' ')}. Hard descriptor limit ${n(limits.hardFiles)}, ${n(limits.ephemeralPorts)} ephemeral ports per source address. ` +
      `Producer ${o.rate} ticks/s over ${o.symbols} symbols; --concurrency ${o.concurrency}.\n\n` +
      `| measured | value |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`);
  } finally {
    progress('stopping');
    // The gateways first: they close the connections (1001), so TIME_WAIT lands on their side. Closed by the
    // generators, the connections would hold each source address's ports for a minute, and a run started in that
    // minute would find too few of them.
    await Promise.all(gateways.map((g) => stopChild(g.child, 10_000)));
    await Promise.all(generators.map(async (g) => {
      await g.rpc.call('closeAll').catch(() => undefined);
      if (g.child.connected) g.child.disconnect();
      await stopChild(g.child, 2000);
    }));
    if (producer) await stopChild(producer);
    await redis.stop();
  }
}

const opts = (() => {
  try {
    return scaleOptions(process.argv.slice(2), hostLimits());
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
})();
if (opts === 'help') {
  process.stdout.write(HELP);
} else {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  run(opts).catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  });
}
