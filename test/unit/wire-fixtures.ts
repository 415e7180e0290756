/**
 * Random tick batches for the wire specs: seeded, so a failing case reproduces from the seed in its message.
 * Covers the edges the binary format must carry exactly: ids over Redis's whole range (parts up to 2^64-1, beyond
 * JavaScript's exact 2^53-1), ids going backwards, decimals with
 * trailing zeros, negatives, zero, non-canonical spellings and mantissas too large for an integer.
 */
import { seededRandom } from '../../src/random';
import { FRAME_KINDS, FrameKind, Side, Tick, TickBatch } from '../../src/wire/tick';

export { seededRandom };

export type Random = () => number;

/** Golden bytes written by hand: hex pairs separated by white space, with `// comments` to the end of a line. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\/\/[^\n]*/g, '').split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Id parts only exact as BigInt: 2^53, 2^53+1, 2^64-2, 2^64-1. */
const U64_PARTS = ['9007199254740992', '9007199254740993', '18446744073709551614', '18446744073709551615'];

export function int(rnd: Random, lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

function pick<T>(rnd: Random, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)];
}

function digits(rnd: Random, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(int(rnd, 0, 9));
  return s;
}

/** Any string DECIMAL_PATTERN accepts, biased towards the interesting ones. */
export function randomDecimal(rnd: Random): string {
  const kind = int(rnd, 0, 9);
  const sign = rnd() < 0.2 ? '-' : '';
  if (kind === 0) return pick(rnd, ['0', '0.0', '-0', '-0.000', '101.250', '007.50', '00', '9007199254740991', '9007199254740992', '0.000000000000000001']);
  if (kind === 1) return sign + String(int(rnd, 1, 9)) + digits(rnd, int(rnd, 0, 17)) + '.' + digits(rnd, int(rnd, 1, 18)); // often > 2^53
  const intPart = String(int(rnd, 0, 99999));
  const scale = int(rnd, 0, 8);
  return sign + intPart + (scale ? '.' + digits(rnd, scale) : '');
}

/** A realistic random walk, or wild values, depending on `wild`. */
function randomTicks(rnd: Random, count: number, sent: number, wild: boolean): Tick[] {
  const ticks: Tick[] = [];
  let ms = wild ? int(rnd, 0, 1) * MAX_SAFE : sent - int(rnd, 0, 50);
  let seq = 0;
  let px = int(rnd, 1, 10_000_000);
  for (let i = 0; i < count; i++) {
    if (wild && rnd() < 0.3) {
      ms = pick(rnd, [0, MAX_SAFE, int(rnd, 0, MAX_SAFE), ms]);
      seq = pick(rnd, [0, MAX_SAFE, int(rnd, 0, 1000)]);
    } else if (rnd() < 0.5) {
      seq = Math.min(MAX_SAFE, seq + 1);
    } else {
      ms = Math.min(MAX_SAFE, ms + int(rnd, 1, 3));
      seq = 0;
    }
    px += int(rnd, -5, 5);
    // Wild batches also jump to ids beyond 2^53 and back.
    const big = wild && rnd() < 0.2;
    const tick: Tick = {
      id: big ? `${pick(rnd, U64_PARTS)}-${pick(rnd, ['0', String(seq), ...U64_PARTS])}` : `${ms}-${seq}`,
      ts: wild ? int(rnd, 0, MAX_SAFE) : ms + int(rnd, -3, 3),
      px: wild ? randomDecimal(rnd) : (px / 100).toFixed(2),
      sz: wild ? randomDecimal(rnd) : (int(rnd, 1, 50_000) / 10_000).toFixed(4),
    };
    for (const key of ['bid', 'ask', 'bsz', 'asz'] as const) if (rnd() < 0.5) tick[key] = randomDecimal(rnd);
    if (rnd() < 0.5) tick.side = pick<Side>(rnd, ['buy', 'sell']);
    ticks.push(tick);
  }
  return ticks;
}

const SYMBOLS = ['BTC-USD', 'ETH-USD', 'EUR/USD', 'ES.Z5', 'a', 'X:Y_Z-1234567890abcdefghijklmnop'];

/** The id before a batch: absent half the time, else near `sent` (the usual case) or anywhere in the safe range. */
export function randomPrev(rnd: Random, sent: number): string | undefined {
  const kind = int(rnd, 0, 5);
  if (kind < 3) return undefined;
  if (kind === 3) return `${sent - int(rnd, 0, 70)}-${int(rnd, 0, 200)}`;
  if (kind === 4) return `${pick(rnd, [0, MAX_SAFE, int(rnd, 0, MAX_SAFE), ...U64_PARTS])}-${pick(rnd, [0, MAX_SAFE, int(rnd, 0, 1000), ...U64_PARTS])}`;
  return `${sent + int(rnd, 0, 5)}-0`; // a clock step back: prev after sent
}

export function randomKind(rnd: Random): FrameKind {
  return pick(rnd, FRAME_KINDS);
}

export function randomBatch(rnd: Random, sent: number): TickBatch {
  const count = pick(rnd, [0, 1, 2, 10, int(rnd, 1, 200)]);
  const batch: TickBatch = { sym: pick(rnd, SYMBOLS), ticks: randomTicks(rnd, count, sent, rnd() < 0.3) };
  const prev = randomPrev(rnd, sent);
  if (prev !== undefined) batch.prev = prev;
  return batch;
}

/** Extra stream fields only JSON carries, including characters JSON must escape. */
export function withExtras(rnd: Random, batch: TickBatch): TickBatch {
  return {
    ...batch,
    ticks: batch.ticks.map((t) => (rnd() < 0.3 ? { ...t, extra: { venue: 'X"\\\n€', n: String(int(rnd, 0, 9)) } } : t)),
  };
}

/** The README's definition, independent of the encoder: zigzag (0, -1, 1, -2, … → 0, 1, 2, 3, …), then LEB128. */
export function zigzagVarint(v: bigint): number[] {
  let z = v < 0n ? -2n * v - 1n : 2n * v;
  const bytes: number[] = [];
  while (z >= 0x80n) {
    bytes.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  bytes.push(Number(z));
  return bytes;
}
