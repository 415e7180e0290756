/**
 * `node dist/bench/run.js [flags]` (what `make bench` runs). BENCH_QUICK=1 or --quick: small sizes, one short step
 * per system, for CI and the smoke test; no thresholds are asserted in either mode, the report states them.
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
  workload: Workload;
  rates: number[];
  stepSeconds: number;
  idleConnections: number;
  /** The 100,000-connection mode; 0: off. */
  maxConnections: number;
  /** Produced ticks/s of the ingest step (one client on every symbol); 0: skipped. */
  ingestRate: number;
  extraSteps: boolean;
  loadgenThreads: number;
  pinning: Pinning;
  systems?: string[];
  out: string;
}

const HELP = `node dist/bench/run.js [options]       (BENCH_QUICK=1: quick mode)
  --quick                  small sizes, one short step per system
  --clients N              load clients per system            [1000; quick 100]
  --symbols N              symbols the producer ticks          [100; quick 50]
  --symbols-per-client N   subscriptions per client            [10; quick 5]
  --rates a,b,..           produced ticks/s of the ramp steps  [250,500,1000,...,7500,10000; quick 2000]
  --step-seconds N         length of each step                 [5; quick 2]
  --idle-connections N     idle connections for memory/conn    [10000; quick 500]
  --max-connections N      also try N idle connections on tickgate (the 100k target); 0 off [0]
  --ingest-rate N          ticks/s of the ingest step; 0 off   [250000; quick 0]
  --threads N              load-generator threads per process  [2]
  --systems a,b            only these systems (ids: tickgate, tickgate-w1, tickgate-w2, ws-peer, socketio-peer)
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
      'idle-connections': { type: 'string' }, 'max-connections': { type: 'string' }, 'ingest-rate': { type: 'string' },
      threads: { type: 'string' }, systems: { type: 'string' }, 'no-pin': { type: 'boolean' }, out: { type: 'string' },
    },
  });
  if (v.help) return 'help';
  const quick = v.quick === true || env.BENCH_QUICK === '1';
  const one = (flag: string, value: string | undefined, full: number, q: number) => (value === undefined ? (quick ? q : full) : ints(value, flag)[0]);
  return {
    quick,
    workload: {
      clients: one('--clients', v.clients, 1000, 100),
      symbols: one('--symbols', v.symbols, 100, 50),
      symbolsPerClient: one('--symbols-per-client', v['symbols-per-client'], 10, 5),
      formats: ['json'],
    },
    rates: v.rates === undefined ? (quick ? [2000] : [250, 500, 1000, 2000, 3000, 4000, 5000, 7500, 10_000]) : ints(v.rates, '--rates'),
    stepSeconds: one('--step-seconds', v['step-seconds'], 5, 2),
    idleConnections: one('--idle-connections', v['idle-connections'], 10_000, 500),
    maxConnections: one('--max-connections', v['max-connections'], 0, 0),
    ingestRate: one('--ingest-rate', v['ingest-rate'], 250_000, 0),
    extraSteps: !quick,
    loadgenThreads: one('--threads', v.threads, 2, 2),
    pinning: pinning(v['no-pin'] !== true),
    systems: v.systems?.split(','),
    out: v.out ?? join(repoRoot(), 'bench-results'),
  };
}

export { HELP };
