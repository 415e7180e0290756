/**
 * Options of `node dist/bench/scale-out/connections.js`, and the sizing that decides whether a run can work before
 * anything starts: how many gateway processes share the port and how many load generators open the connections,
 * each within this host's descriptor limit and each source address within the ephemeral port range.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { reserveFor } from '../../server/descriptors';

export class ScaleOptionError extends Error {
  readonly code = 'BENCH_BAD_OPTION';
  constructor(message: string) {
    super(message);
    this.name = 'ScaleOptionError';
  }
}

/** Descriptors a process needs besides client sockets (listen socket, Redis, metrics server, pipes, libuv). */
export const PROCESS_FD_HEADROOM = 256;
/**
 * SO_REUSEPORT hashes each connection's addresses, so the processes' shares differ: with n expected per process
 * the spread is about √n (about 130 at 17,000). Each gateway is sized for its share plus this margin (many σ).
 */
export const SHARE_MARGIN = 1.05;
/** Source addresses 127.0.0.2 … 127.0.0.254, one per load generator. */
export const MAX_GENERATORS = 253;

export interface HostLimits {
  /** Hard RLIMIT_NOFILE: every child raises its soft limit to it, and no further without CAP_SYS_RESOURCE. */
  hardFiles: number;
  /** Ephemeral ports per source address (net.ipv4.ip_local_port_range). */
  ephemeralPorts: number;
}

export interface ScaleOptions {
  connections: number;
  gateways: number;
  generators: number;
  symbols: number;
  /** Ticks per second produced over all symbols. */
  rate: number;
  /** Handshakes in flight per generator. */
  concurrency: number;
  /** How long, after the last connection is open, every connection has to receive a tick. */
  tickWaitS: number;
  /** Least time RSS is left to settle before each reading (it must also be steady). */
  settleS: number;
}

export const HELP = `node dist/bench/scale-out/connections.js [options]
  K tickgate gateways (--workers 0) on ONE port (SO_REUSEPORT), a private redis-server, a producer, and M load
  generators, each opening its share of the connections from its own source address 127.0.0.(2+g), one symbol each.
  --connections N   connections to open                                     [100000]
  --gateways K      gateway processes on the port       [enough for the descriptor limit: 6 for 100,000 at 20,000]
  --generators M    load-generator processes            [one per 4,200 connections: 24 for 100,000]
  --symbols N       symbols the producer ticks, one per connection round-robin   [100]
  --rate N          ticks/s produced over all symbols (each symbol every symbols/rate s)  [20]
  --concurrency N   handshakes in flight per generator                      [50]
  --tick-wait-s N   how long every connection has to get a tick once all are open  [30]
  --settle-s N      least time RSS settles before each reading, which waits until it is steady  [12]
`;

export function hostLimits(): HostLimits {
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return { hardFiles: hard === undefined || hard === 'unlimited' ? 1 << 20 : Number(hard), ephemeralPorts: high - low + 1 };
}

/**
 * Connections one gateway may hold: its descriptor guard refuses upgrades from limit − 2R open descriptors
 * (src/server/descriptors.ts), and the process has others besides its clients.
 */
export function connectionsPerGateway(limits: HostLimits): number {
  return limits.hardFiles - 2 * reserveFor(limits.hardFiles) - PROCESS_FD_HEADROOM;
}

/**
 * Connections per source address that still open quickly. Each connection binds its source address first (Node's
 * `localAddress`), and the kernel's search for a free port of that address slows as its ports fill: 100,000
 * connections from 6 addresses (16,667 each) took 458 s here and 1,741 handshakes timed out, from 12 addresses
 * 159 s, from 24 (4,167 each) 48.6 s with none lost.
 */
const FAST_PORTS_PER_SOURCE = 4200;

/** Connections one generator may open: its descriptors, and the ephemeral ports of its one source address. */
export function connectionsPerGenerator(limits: HostLimits): number {
  return Math.min(limits.hardFiles - PROCESS_FD_HEADROOM, limits.ephemeralPorts);
}

function positive(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new ScaleOptionError(`${flag}: "${raw}" is not a positive integer`);
  return n;
}

export function scaleOptions(argv: string[], limits: HostLimits): ScaleOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' }, connections: { type: 'string' }, gateways: { type: 'string' }, generators: { type: 'string' },
      symbols: { type: 'string' }, rate: { type: 'string' }, concurrency: { type: 'string' }, 'tick-wait-s': { type: 'string' },
      'settle-s': { type: 'string' },
    },
  });
  if (v.help) return 'help';
  const connections = positive('--connections', v.connections, 100_000);
  const perGateway = connectionsPerGateway(limits);
  const perGenerator = connectionsPerGenerator(limits);
  const o: ScaleOptions = {
    connections,
    gateways: positive('--gateways', v.gateways, Math.ceil((connections * SHARE_MARGIN) / perGateway)),
    generators: positive('--generators', v.generators, Math.min(MAX_GENERATORS,
      Math.max(Math.ceil(connections / perGenerator), Math.ceil(connections / FAST_PORTS_PER_SOURCE)))),
    symbols: positive('--symbols', v.symbols, 100),
    rate: positive('--rate', v.rate, 20),
    concurrency: positive('--concurrency', v.concurrency, 50),
    tickWaitS: positive('--tick-wait-s', v['tick-wait-s'], 30),
    settleS: positive('--settle-s', v['settle-s'], 12),
  };
  const gatewayShare = Math.ceil(connections / o.gateways) * SHARE_MARGIN;
  if (gatewayShare > perGateway) {
    throw new ScaleOptionError(`${o.gateways} gateways would hold up to ${Math.ceil(gatewayShare)} connections each, over the ${perGateway} ` +
      `one process can hold under a hard descriptor limit of ${limits.hardFiles}: use --gateways ${Math.ceil((connections * SHARE_MARGIN) / perGateway)} or more`);
  }
  if (o.generators > MAX_GENERATORS) throw new ScaleOptionError(`--generators: at most ${MAX_GENERATORS} (one source address 127.0.0.x each)`);
  if (Math.ceil(connections / o.generators) > perGenerator) {
    throw new ScaleOptionError(`${o.generators} generators would open ${Math.ceil(connections / o.generators)} connections each, over the ${perGenerator} ` +
      `one can (hard descriptor limit ${limits.hardFiles}, ${limits.ephemeralPorts} ephemeral ports per source address): ` +
      `use --generators ${Math.ceil(connections / perGenerator)} or more`);
  }
  return o;
}

/** The generators' shares: as equal as possible, summing to `connections`. */
export function shares(connections: number, generators: number): number[] {
  return Array.from({ length: generators }, (_, g) => Math.floor(connections / generators) + (g < connections % generators ? 1 : 0));
}
