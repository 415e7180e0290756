/**
 * Flags of src/bench/scale-out/failover.ts, and the clients they describe. The defaults are the first figure: 1,000 SDK clients on 4 of 100
 * symbols each, all on the first of 3 gateways, 1,000 produced ticks/s (10 per symbol per second, so every symbol
 * has ticks to replay after any failover longer than 100 ms).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { symbolNames } from '../../producer/random-walk';
import { repoRoot } from '../children';
import { BenchOptionError, ints } from '../options';

/** One SDK client: its gateway URLs in the order it tries them, and its symbols. */
export interface ClientSpec {
  urls: string[];
  symbols: string[];
}

export interface FailoverOptions {
  /** One run per entry, each on fresh processes. */
  clients: number[];
  gateways: number;
  /** Client processes per run; undefined: enough that none holds more than CLIENTS_PER_GENERATOR. */
  generators: number | undefined;
  symbols: number;
  symbolsPerClient: number;
  rate: number;
  /** A client not resumed this long after the kill counts as failed to resume. */
  deadlineMs: number;
  /** Live flow kept after every client resumed, before the feed stops: gaps after the resume show up here. */
  settleMs: number;
  /** Extra flags for every gateway, e.g. `--workers 2`. */
  gatewayArgs: string[];
  cli: string;
  out: string;
}

/** The most clients one process holds by default: the SDK on `ws` decodes every frame of all of them on one thread. */
export const CLIENTS_PER_GENERATOR = 2500;

export const FAILOVER_HELP = `node dist/bench/scale-out/failover.js [options]
  --clients N[,N..]        SDK clients, all on gateway 1 at first; one run per value    [1000]
  --gateways N             gateway processes (gateway 1 is SIGKILLed)                   [3]
  --generators N           client processes                                             [clients / ${CLIENTS_PER_GENERATOR}, rounded up]
  --symbols N              symbols the producer ticks, round-robin                      [100]
  --symbols-per-client N   subscriptions per client                                     [4]
  --rate N                 produced ticks/s                                             [1000]
  --deadline-s N           a client not resumed this long after the kill failed         [30]
  --settle-s N             live flow after the last resume, before the feed stops       [2]
  --gateway-args="..."     extra flags for every gateway, space-separated               [none]
  --cli PATH               the tickgate build to measure                                [dist/cli.js]
  --out DIR                results directory                                            [bench-results]
`;

export function failoverOptions(argv: string[]): FailoverOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' }, clients: { type: 'string' }, gateways: { type: 'string' }, generators: { type: 'string' },
      symbols: { type: 'string' }, 'symbols-per-client': { type: 'string' }, rate: { type: 'string' },
      'deadline-s': { type: 'string' }, 'settle-s': { type: 'string' }, 'gateway-args': { type: 'string' },
      cli: { type: 'string' }, out: { type: 'string' },
    },
  });
  if (v.help) return 'help';
  const one = (flag: string, value: string | undefined, dflt: number) => (value === undefined ? dflt : ints(value, flag)[0]);
  const o: FailoverOptions = {
    clients: v.clients === undefined ? [1000] : ints(v.clients, '--clients'),
    gateways: one('--gateways', v.gateways, 3),
    generators: v.generators === undefined ? undefined : one('--generators', v.generators, 1),
    symbols: one('--symbols', v.symbols, 100),
    symbolsPerClient: one('--symbols-per-client', v['symbols-per-client'], 4),
    rate: one('--rate', v.rate, 1000),
    deadlineMs: one('--deadline-s', v['deadline-s'], 30) * 1000,
    settleMs: one('--settle-s', v['settle-s'], 2) * 1000,
    gatewayArgs: v['gateway-args']?.split(' ').filter((a) => a !== '') ?? [],
    cli: v.cli ?? join(repoRoot(), 'dist', 'cli.js'),
    out: v.out ?? join(repoRoot(), 'bench-results'),
  };
  if (o.gateways < 2) throw new BenchOptionError('--gateways: at least 2 (one is killed, the others take its clients)');
  if (o.clients.some((n) => n < 1)) throw new BenchOptionError('--clients: at least 1');
  if (o.generators === 0) throw new BenchOptionError('--generators: at least 1');
  if (o.symbolsPerClient < 1 || o.symbolsPerClient > o.symbols) throw new BenchOptionError('--symbols-per-client: between 1 and --symbols');
  if (o.rate < 1) throw new BenchOptionError('--rate: at least 1 tick/s (a client is resumed by a frame of each of its symbols)');
  return o;
}

/** Client processes of a run of `clients`. */
export function generatorsFor(o: FailoverOptions, clients: number): number {
  return Math.min(clients, o.generators ?? Math.ceil(clients / CLIENTS_PER_GENERATOR));
}

/** All on gateway 1 first; then the survivors, rotated by the client's index so that they share its clients. */
export function clientSpecs(n: number, urls: string[], symbols: number, perClient: number): ClientSpec[] {
  const [first, ...survivors] = urls;
  const names = symbolNames(symbols);
  const stride = Math.floor(symbols / perClient);
  return Array.from({ length: n }, (_, i) => {
    const r = i % survivors.length;
    return {
      urls: [first, ...survivors.slice(r), ...survivors.slice(0, r)],
      symbols: Array.from({ length: perClient }, (_, k) => names[(i + k * stride) % symbols]),
    };
  });
}
