/**
 * The systems under test and how each is started: tickgate (dist/cli.js gateway) with its default flags, and with
 * --workers 1 and 2 when the build has worker threads; the ws peer, the Socket.IO peer and the raw uWS relay. Each
 * runs as its own child process, reads its own stream key (the peers through their own consumer group, the relay
 * with plain XREAD), and prints a "serving" line with its port.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Protocol } from './clients';
import { ChildStartError, repoRoot, spawnNode, stopChild, whenServing } from './children';

export interface SystemSpec {
  /** Short id used in stream keys and file names. */
  id: string;
  label: string;
  protocol: Protocol;
  /** tickgate exposes /metrics, which the bench cross-checks its own counts against. */
  hasMetrics: boolean;
  script: string;
  args(redisUrl: string, stream: string): string[];
  /** CPU list to pin to, before the run's own pinning policy is applied; 'system' or 'all'. */
  cpuSet: 'system' | 'all';
}

export interface RunningSystem {
  spec: SystemSpec;
  pid: number;
  port: number;
  base: string;
  http: string;
  stop(): Promise<void>;
}

const CLI = () => join(repoRoot(), 'dist', 'cli.js');
const PEERS = () => join(repoRoot(), 'dist', 'bench', 'peers');
const READ = ['--read-count', '512', '--read-block-ms', '1000'];

let help: string | undefined;

/** Feature detection from `tickgate gateway --help`, so the bench runs against older and newer builds alike. */
function gatewayHas(flag: string): boolean {
  help ??= execFileSync(process.execPath, [CLI(), 'gateway', '--help'], { encoding: 'utf8' });
  return help.includes(flag);
}

export function gatewaySupportsWorkers(): boolean {
  return gatewayHas('--workers');
}

/** The load generator opens every connection from the loopback: a per-IP connection cap would refuse most. */
function uncappedPerIp(): string[] {
  return gatewayHas('--max-connections-per-ip') ? ['--max-connections-per-ip', '10000000'] : [];
}

function tickgate(workers: number | undefined): SystemSpec {
  return {
    id: workers === undefined ? 'tickgate' : `tickgate-w${workers}`,
    label: workers === undefined ? 'tickgate (default flags)' : `tickgate (${workers} worker${workers > 1 ? 's' : ''})`,
    protocol: 'tickgate',
    hasMetrics: true,
    script: CLI(),
    args: (redis, stream) => ['gateway', '--port', '0', '--host', '127.0.0.1', '--redis', redis, '--stream', stream,
      '--instance', 'bench', ...READ, ...uncappedPerIp(), ...(workers === undefined ? [] : ['--workers', String(workers)])],
    // More workers than CPUs the gateway may use would measure the scheduler, not the gateway. The default serves
    // its clients on the main thread (no worker), so it gets one CPU, like the peers.
    cpuSet: workers !== undefined && workers > 1 ? 'all' : 'system',
  };
}

const peer = (id: string, label: string, protocol: Protocol, file: string): SystemSpec => ({
  id, label, protocol, hasMetrics: false, script: join(PEERS(), file), cpuSet: 'system',
  args: (redis, stream) => ['--port', '0', '--host', '127.0.0.1', '--redis', redis, '--stream', stream, ...READ],
});

export function allSystems(workers: boolean): SystemSpec[] {
  return [
    tickgate(undefined),
    ...(workers ? [tickgate(1), tickgate(2)] : []),
    peer('ws-peer', 'ws peer', 'tickgate', 'ws-peer.js'),
    peer('socketio-peer', 'Socket.IO peer', 'socketio', 'socketio-peer.js'),
    peer('uws-relay', 'raw uWS relay', 'tickgate', 'uws-relay.js'),
  ];
}

export async function startSystem(spec: SystemSpec, redisUrl: string, stream: string, cpus: string | undefined): Promise<RunningSystem> {
  // BENCH_PROFILE_DIR: every thread of each system under test writes a CPU profile there when it exits.
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawnNode(spec.script, spec.args(redisUrl, stream), { cpus, nodeArgs });
  const { port } = await whenServing(spec.label, child);
  // Keep the pipes drained: a full stdout pipe would block the system under test.
  child.stdout!.resume();
  child.stderr!.resume();
  const http = `http://127.0.0.1:${port}`;
  // tickgate logs "serving" before its reader has created the consumer group; ticks produced earlier would be
  // missed by design (the group starts at the stream's end), so wait for /readyz. The peers print their line
  // only once their group exists.
  if (spec.hasMetrics) await untilReady(http);
  return { spec, pid: child.pid!, port, base: `ws://127.0.0.1:${port}`, http, stop: () => stopChild(child) };
}

export async function untilReady(http: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`${http}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline) throw new ChildStartError('tickgate', `/readyz not 200 after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
