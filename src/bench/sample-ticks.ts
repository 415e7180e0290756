/**
 * Realistic tick batches for measurements, shaped like the demo producer's output: a random walk per symbol moving
 * by a few cents, 4-decimal sizes, stream ids whose ms advance by 0–2 per tick, ts a millisecond or so before the id.
 * Seeded, so every run measures the same bytes.
 */
import { Side, Tick, TickBatch } from '../wire/tick';
import { seededRandom } from '../random';


export type TickProfile = 'trade' | 'quote';

const SYMBOLS: [string, number, number][] = [
  ['BTC-USD', 2712345, 2],
  ['ETH-USD', 183412, 2],
  ['SOL-USD', 61234, 3],
  ['EUR/USD', 108765, 5],
];

/** Successive batches of one symbol, continuing the same stream (ids and prices carry over between batches). */
export class TickSource {
  private readonly rnd: () => number;
  private ms = 1732480000000;
  private seq = 0;
  private readonly sym: string;
  private price: number;
  private readonly scale: number;

  constructor(seed: number, private readonly profile: TickProfile, symbolIndex = 0) {
    this.rnd = seededRandom(seed);
    [this.sym, this.price, this.scale] = SYMBOLS[symbolIndex % SYMBOLS.length];
  }

  batch(size: number): TickBatch {
    const ticks: Tick[] = [];
    for (let i = 0; i < size; i++) ticks.push(this.tick());
    return { sym: this.sym, ticks };
  }

  private tick(): Tick {
    const step = Math.floor(this.rnd() * 3);
    this.seq = step === 0 ? this.seq + 1 : 0;
    this.ms += step;
    this.price += Math.floor(this.rnd() * 7) - 3;
    const tick: Tick = {
      id: `${this.ms}-${this.seq}`,
      ts: this.ms - Math.floor(this.rnd() * 2),
      px: this.decimal(this.price, this.scale),
      sz: this.size(),
    };
    if (this.profile === 'quote') {
      const spread = 1 + Math.floor(this.rnd() * 3);
      tick.bid = this.decimal(this.price - spread, this.scale);
      tick.ask = this.decimal(this.price + spread, this.scale);
      tick.bsz = this.size();
      tick.asz = this.size();
      tick.side = (this.rnd() < 0.5 ? 'buy' : 'sell') as Side;
    }
    return tick;
  }

  private size(): string {
    return this.decimal(1 + Math.floor(this.rnd() * 5000), 4);
  }

  private decimal(mantissa: number, scale: number): string {
    return (mantissa / 10 ** scale).toFixed(scale);
  }
}
