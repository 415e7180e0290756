/**
 * Deterministic market-ish ticks: per symbol a price that random-walks in steps of its smallest price increment, a
 * size, a one-increment spread either side. The demo's named symbols start near prices that fit their names, each
 * with the decimals its market quotes (BTC-USD in cents near tens of thousands, DOGE-USD in 1/100,000 near 0.12).
 * Seeded, so a test or benchmark run can be repeated exactly.
 */
import { seededRandom } from '../random';

/** A named symbol's typical price and its price decimals. */
const NAMED: readonly [sym: string, price: number, decimals: number][] = [
  ['BTC-USD', 67_000, 2], ['ETH-USD', 3_400, 2], ['SOL-USD', 150, 2], ['XRP-USD', 0.52, 4], ['ADA-USD', 0.45, 4],
  ['DOGE-USD', 0.12, 5], ['AVAX-USD', 35, 2], ['DOT-USD', 7, 3], ['LINK-USD', 15, 3], ['LTC-USD', 80, 2],
  ['BCH-USD', 450, 2], ['UNI-USD', 9, 3], ['ATOM-USD', 8.5, 3], ['XLM-USD', 0.11, 5], ['ETC-USD', 26, 3],
  ['FIL-USD', 5.5, 3], ['APT-USD', 9, 3], ['ARB-USD', 0.9, 4], ['OP-USD', 2.2, 4], ['NEAR-USD', 6, 3],
];

export function symbolNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i < NAMED.length ? NAMED[i][0] : `SYM-${String(i).padStart(5, '0')}`));
}

/** `units` (positive) of 10^-decimals as an exact decimal string: integer arithmetic, so "0.12345" is never "0.12344999". */
function decimal(units: number, decimals: number): string {
  const scale = 10 ** decimals;
  return `${Math.floor(units / scale)}.${String(units % scale).padStart(decimals, '0')}`;
}

/** Largest step per tick, in price units: about 0.005% of the price, so every symbol moves alike in relative terms. */
const STEP_FRACTION = 0.00005;

export class RandomWalk {
  readonly symbols: string[];
  /** Per symbol: its price in units of 10^-decimals, its decimals, its largest step and its floor, in units. */
  private readonly prices: number[];
  private readonly decimals: number[];
  private readonly steps: number[];
  private readonly floors: number[];
  private readonly random: () => number;
  private next = 0;

  constructor(symbolCount: number, seed: number) {
    this.random = seededRandom(seed);
    this.symbols = symbolNames(symbolCount);
    this.decimals = this.symbols.map((_, i) => (i < NAMED.length ? NAMED[i][2] : 2));
    // Named symbols start within ±5% of their typical price; the numbered ones anywhere in 10.00–50,010.00.
    this.prices = this.symbols.map((_, i) => {
      const r = this.random();
      return i < NAMED.length ? Math.round(NAMED[i][1] * 10 ** NAMED[i][2] * (0.95 + r * 0.1)) : 1000 + Math.floor(r * 5_000_000);
    });
    this.steps = this.prices.map((units) => Math.max(1, Math.round(units * STEP_FRACTION)));
    // A tenth of the start keeps the bid above zero however long the walk runs.
    this.floors = this.prices.map((units) => Math.max(2, Math.round(units / 10)));
  }

  /** Field/value pairs for XADD, cycling through the symbols so each gets its share of the rate. */
  nextFields(now: number): string[] {
    const i = this.next;
    this.next = (i + 1) % this.symbols.length;
    const r = this.random();
    const max = this.steps[i];
    const step = Math.floor(r * (2 * max + 1)) - max;
    const price = Math.max(this.floors[i], this.prices[i] + step);
    this.prices[i] = price;
    const size = 1 + Math.floor(this.random() * 5000);
    const d = this.decimals[i];
    return ['sym', this.symbols[i], 'px', decimal(price, d), 'sz', `${Math.floor(size / 1000)}.${String(size % 1000).padStart(3, '0')}`,
      'bid', decimal(price - 1, d), 'ask', decimal(price + 1, d), 'side', r < 0.5 ? 'buy' : 'sell', 'ts', String(now)];
  }
}
