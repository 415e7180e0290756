/**
 * Flags of src/bench/slow-consumer.ts. The defaults are the measured scene: 99 healthy clients × 10 of 100 symbols at
 * 10,000 produced ticks/s (the existing "10k ticks/s × 100 clients" figure: ~99,000 deliveries/s), and one client on
 * all 100 symbols (~2.3 MB/s of JSON for it alone) that stops reading.
 */
import { parseArgs } from 'node:util';
import { ints, pinning, Pinning } from './options';
import { Workload } from './workload';

export interface SlowConsumerOptions {
  quick: boolean;
  rate: number;
  /** The healthy clients: every one of them is measured. */
  workload: Workload;
  stalledSymbols: number;
  windowSeconds: number;
  /** Baseline + stalled window pairs. */
  pairs: number;
  /** How long the stalled client reads at full rate, from the window's start, before it stops reading. */
  readMs: number;
  workers: number;
  loadgenThreads: number;
  /** Extra gateway flags, e.g. other ladder timings. */
  gatewayArgs: string[];
  pinning: Pinning;
}

export const SLOW_CONSUMER_HELP = `node dist/bench/slow-consumer.js [options]     (BENCH_QUICK=1: quick mode, ~30 s)
  --quick                  3 pairs of 4-second windows: a smoke run, its ratio is noise-dominated
  --rate N                 produced ticks/s                              [10000]
  --clients N              healthy clients                               [99]
  --symbols N              symbols the producer ticks                    [100]
  --symbols-per-client N   subscriptions per healthy client              [10]
  --stalled-symbols N      subscriptions of the stalled client           [all]
  --window-seconds N       length of each window                         [20; quick 4]
  --pairs N                baseline + stalled window pairs               [4; quick 3]
  --read-ms N              the stalled client reads this long first      [1000]
  --workers N              gateway worker threads                        [2]
  --threads N              load-generator threads                        [2]
  --gateway-args="..."     extra gateway flags, space-separated
  --no-pin                 do not pin processes to CPUs
`;

export function slowConsumerOptions(argv: string[], env: NodeJS.ProcessEnv): SlowConsumerOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' }, quick: { type: 'boolean' }, rate: { type: 'string' }, clients: { type: 'string' },
      symbols: { type: 'string' }, 'symbols-per-client': { type: 'string' }, 'stalled-symbols': { type: 'string' },
      'window-seconds': { type: 'string' }, pairs: { type: 'string' }, 'read-ms': { type: 'string' }, workers: { type: 'string' },
      threads: { type: 'string' }, 'gateway-args': { type: 'string' }, 'no-pin': { type: 'boolean' },
    },
  });
  if (v.help) return 'help';
  const quick = v.quick === true || env.BENCH_QUICK === '1';
  const one = (flag: string, value: string | undefined, full: number, q = full) => (value === undefined ? (quick ? q : full) : ints(value, flag)[0]);
  const symbols = one('--symbols', v.symbols, 100);
  return {
    quick,
    rate: one('--rate', v.rate, 10_000),
    workload: { clients: one('--clients', v.clients, 99), symbols, symbolsPerClient: one('--symbols-per-client', v['symbols-per-client'], 10), formats: ['json'] },
    stalledSymbols: Math.min(symbols, one('--stalled-symbols', v['stalled-symbols'], symbols)),
    windowSeconds: one('--window-seconds', v['window-seconds'], 20, 4),
    pairs: one('--pairs', v.pairs, 4, 3),
    readMs: one('--read-ms', v['read-ms'], 1000),
    workers: one('--workers', v.workers, 2),
    loadgenThreads: one('--threads', v.threads, 2),
    gatewayArgs: v['gateway-args']?.split(/\s+/).filter(Boolean) ?? [],
    pinning: pinning(v['no-pin'] !== true),
  };
}
