/**
 * Deterministic market-ish ticks: per symbol a price that random-walks in cents, a size, a one-cent spread.
 * Seeded, so a test or benchmark run can be repeated exactly.
 */
import { seededRandom } from '../random';


const NAMED = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'XRP-USD', 'ADA-USD', 'DOGE-USD', 'AVAX-USD', 'DOT-USD', 'LINK-USD',
  'LTC-USD', 'BCH-USD', 'UNI-USD', 'ATOM-USD', 'XLM-USD', 'ETC-USD', 'FIL-USD', 'APT-USD', 'ARB-USD', 'OP-USD', 'NEAR-USD'];

export function symbolNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i < NAMED.length ? NAMED[i] : `SYM-${String(i).padStart(5, '0')}`));
}

/** Cents → "1234.56"; integer arithmetic, so the string is exact. */
function cents(n: number): string {
  const abs = Math.abs(n);
  const s = `${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  return n < 0 ? '-' + s : s;
}

export class RandomWalk {
  readonly symbols: string[];
  private readonly prices: number[];
  private readonly random: () => number;
  private next = 0;

  constructor(symbolCount: number, seed: number) {
    this.random = seededRandom(seed);
    this.symbols = symbolNames(symbolCount);
    this.prices = this.symbols.map(() => 1000 + Math.floor(this.random() * 5_000_000));
  }

  /** Field/value pairs for XADD, cycling through the symbols so each gets its share of the rate. */
  nextFields(now: number): string[] {
    const i = this.next;
    this.next = (i + 1) % this.symbols.length;
    const r = this.random();
    const step = Math.floor(r * 11) - 5;
    const price = Math.max(100, this.prices[i] + step);
    this.prices[i] = price;
    const size = 1 + Math.floor(this.random() * 5000);
    return ['sym', this.symbols[i], 'px', cents(price), 'sz', `${Math.floor(size / 1000)}.${String(size % 1000).padStart(3, '0')}`,
      'bid', cents(price - 1), 'ask', cents(price + 1), 'side', r < 0.5 ? 'buy' : 'sell', 'ts', String(now)];
  }
}
