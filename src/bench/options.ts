/**
 * `node dist/bench/run.js [flags]` (what `make bench` runs). BENCH_QUICK=1 or --quick: a tenth of the clients and
 * short steps, for CI and the smoke test; no thresholds are asserted in either mode, the report states them.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './children';
import { Workload } from './workload';

export class BenchOptionError extends Error {
  readonly code = 'BENCH_BAD_OPTION';
  constructor(message: string) {
    super(message);
    this.name = 'BenchOptionError';
  }
}

export interface Pinning {
  /** CPUs of the system under test (gateway or peer). */
  system?: string;
  /** CPUs of Redis, the producer and the load generators. */
  generators?: string;
  /** CPUs of a multi-threaded gateway (--workers 2): every CPU. */
  all?: string;
}

export interface BenchOptions {
  quick: boolean;
  /** The clients of the fixed-load steps, the ramp and tickgate's extra steps. */
  workload: Workload;
  /** Offered deliveries/s of the fixed-load steps, which every system runs with `workload`. */
  loads: number[];
  /** Produced ticks/s of the ramp, merged with the fixed loads' rates; past the last of those, until not sustained. */
  rates: number[];
  /** Systems measured at the fixed loads only, without the ramp beyond them. */
  fixedOnly: string[];
  /** The everyday-load step of every system: its own clients at one produced rate; 0 clients: skipped. */
  everyday: { workload: Workload; rate: number };
  /** Produced ticks/s of the step with no client connected; 0: skipped. */
  noSubscribersRate: number;
  stepSeconds: number;
  idleConnections: number;
  /** How long the idle-memory measurement lets RSS settle, before and after opening the connections. */
  idleSettleMs: number;
  /** The 100,000-connection mode; 0: off. */
  maxConnections: number;
  /** Produced ticks/s of the ingest step (one client on every symbol); 0: skipped. */
  ingestRate: number;
  loadgenThreads: number;
  pinning: Pinning;
  systems?: string[];
  out: string;
}

const HELP = `node dist/bench/run.js [options]       (BENCH_QUICK=1: quick mode)
  --quick                  a tenth of the clients, short steps, no ramp beyond the fixed loads, no worker variants
  --clients N              load clients per system            [1000; quick 100]
  --symbols N              symbols the producer ticks          [100; quick 50]
  --symbols-per-client N   subscriptions per client            [10; quick 5]
  --loads a,b,..           offered deliveries/s of the fixed-load steps, every system
                                                               [25000,100000,200000; quick 2500,10000,20000]
  --rates a,b,..           produced ticks/s of the ramp, merged with the fixed loads' rates
                                                               [250,500,1000,...,7500,10000; quick none]
  --fixed-only a,b         systems measured at the fixed loads only, not ramped beyond them (not the primary)
                           e.g. tickgate-w1,tickgate-w2 to shorten a full run   [none]
  --everyday-clients N     clients (10 of 100 symbols each) of the everyday step; 0 off  [400; quick 40]
  --everyday-rate N        produced ticks/s of the everyday step                  [1000]
  --no-subscribers-rate N  ticks/s produced with no client connected; 0 off       [10000]
  --step-seconds N         length of each step                 [5; quick 1]
  --idle-connections N     idle connections for memory/conn    [10000; quick 500]
  --max-connections N      also try N idle connections on tickgate (the 100k target); 0 off [0]
  --ingest-rate N          ticks/s of the ingest step; 0 off   [250000; quick 0]
  --threads N              load-generator threads per process  [2]
  --systems a,b            only these systems (ids: tickgate, tickgate-w1, tickgate-w2, ws-peer, socketio-peer,
                           uws-relay); the first tickgate one is the primary (extra steps, targets)
                                                               [all; quick: all but tickgate-w1,tickgate-w2]
  --no-pin                 do not pin processes to CPUs
  --out DIR                results directory                   [bench-results]
`;

/** The system under test on CPU 0 (a multi-threaded one on all), the rest on the others; none on one CPU. */
export function pinning(pin: boolean): Pinning {
  const cores = cpus().length;
  return pin && cores >= 2 ? { system: '0', generators: cores === 2 ? '1' : `1-${cores - 1}`, all: `0-${cores - 1}` } : {};
}

export const ints = (s: string, flag: string) =>
  s.split(',').map((v) => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 0) throw new BenchOptionError(`${flag}: "${v}" is not a non-negative integer`);
    return n;
  });

export function benchOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' }, quick: { type: 'boolean' }, clients: { type: 'string' }, symbols: { type: 'string' },
      'symbols-per-client': { type: 'string' }, rates: { type: 'string' }, 'step-seconds': { type: 'string' },
      loads: { type: 'string' }, 'fixed-only': { type: 'string' }, 'everyday-clients': { type: 'string' },
      'everyday-rate': { type: 'string' }, 'no-subscribers-rate': { type: 'string' }, 'idle-connections': { type: 'string' },
      'max-connections': { type: 'string' }, 'ingest-rate': { type: 'string' },
      threads: { type: 'string' }, systems: { type: 'string' }, 'no-pin': { type: 'boolean' }, out: { type: 'string' },
    },
  });
  if (v.help) return 'help';
  const quick = v.quick === true || env.BENCH_QUICK === '1';
  const one = (flag: string, value: string | undefined, full: number, q: number) => (value === undefined ? (quick ? q : full) : ints(value, flag)[0]);
  const list = (flag: string, value: string | undefined, full: number[], q: number[]) => (value === undefined ? (quick ? q : full) : ints(value, flag));
  return {
    quick,
    workload: {
      clients: one('--clients', v.clients, 1000, 100),
      symbols: one('--symbols', v.symbols, 100, 50),
      symbolsPerClient: one('--symbols-per-client', v['symbols-per-client'], 10, 5),
      formats: ['json'],
    },
    // Quick: a tenth of the deliveries at the same produced rates, since it has a tenth of the subscribers.
    loads: list('--loads', v.loads, [25_000, 100_000, 200_000], [2_500, 10_000, 20_000]),
    rates: list('--rates', v.rates, [250, 500, 1000, 2000, 3000, 4000, 5000, 7500, 10_000], []),
    fixedOnly: v['fixed-only']?.split(',') ?? [],
    everyday: {
      workload: { clients: one('--everyday-clients', v['everyday-clients'], 400, 40), symbols: 100, symbolsPerClient: 10, formats: ['json'] },
      rate: one('--everyday-rate', v['everyday-rate'], 1000, 1000),
    },
    noSubscribersRate: one('--no-subscribers-rate', v['no-subscribers-rate'], 10_000, 10_000),
    stepSeconds: one('--step-seconds', v['step-seconds'], 5, 1),
    idleConnections: one('--idle-connections', v['idle-connections'], 10_000, 500),
    idleSettleMs: quick ? 500 : 1500,
    maxConnections: one('--max-connections', v['max-connections'], 0, 0),
    ingestRate: one('--ingest-rate', v['ingest-rate'], 250_000, 0),
    loadgenThreads: one('--threads', v.threads, 2, 2),
    pinning: pinning(v['no-pin'] !== true),
    // Quick: the worker variants run the same harness code as the default flags, and would add half a minute.
    systems: v.systems?.split(',') ?? (quick ? ['tickgate', 'ws-peer', 'socketio-peer', 'uws-relay'] : undefined),
    out: v.out ?? join(repoRoot(), 'bench-results'),
  };
}

export { HELP };
