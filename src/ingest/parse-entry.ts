/**
 * Turns one raw stream entry (flat `[field, value, ...]` as Redis sends it) into a Tick, or names why it cannot.
 * Every known field is validated here, once, so the encoders downstream may trust them (the JSON encoder relies
 * on it to skip escaping). The grammar is the README's stream-entry contract.
 */
import { isValidDecimal, isValidSymbol, RESERVED_KEYS, Side, Tick } from '../wire/tick';

export type MalformedKind =
  | 'deleted'
  | 'missing_field'
  | 'bad_symbol'
  | 'bad_price'
  | 'bad_size'
  | 'bad_timestamp'
  | 'bad_side'
  | 'bad_optional'
  | 'bad_extra'
  | 'reserved_field';

export const MALFORMED_KINDS: readonly MalformedKind[] = [
  'deleted', 'missing_field', 'bad_symbol', 'bad_price', 'bad_size', 'bad_timestamp', 'bad_side', 'bad_optional', 'bad_extra',
  'reserved_field',
];

/** Pass-through fields are bounded so a producer bug cannot blow up every frame. */
const MAX_EXTRA_FIELDS = 8;
const MAX_EXTRA_LENGTH = 256;

// One bit per producer field: a field given twice is ambiguous (which value is the tick's?), so it is refused.
const SYM = 1;
const PX = 2;
const SZ = 4;
const TS = 8;
const BID = 16;
const ASK = 32;
const BSZ = 64;
const ASZ = 128;
const SIDE = 256;

export interface ParsedEntry {
  sym: string;
  tick: Tick;
}

/**
 * A producer time: ASCII digits only, 0 to 2^53-1. Number() would also take "", " 7 ", "1e3", "0x10" and "5.0".
 * Returns -1 for anything else. The double arithmetic is exact while the value stays at most 2^53-1, and a larger
 * value cannot round back below 2^53, so the range check is exact too.
 */
function parseTimestamp(s: string): number {
  if (s.length === 0) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
    if (v > Number.MAX_SAFE_INTEGER) return -1;
  }
  return v;
}

/** `fields` is null for an entry trimmed away between delivery and re-read. */
export function parseEntry(id: string, fields: string[] | null): ParsedEntry | MalformedKind {
  if (fields === null) return 'deleted';
  let sym: string | undefined;
  let px: string | undefined;
  let sz: string | undefined;
  let ts: string | undefined;
  const tick: Tick = { id, ts: 0, px: '', sz: '' };
  let extras = 0;
  let seen = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i];
    const v = fields[i + 1];
    let bit: number;
    switch (k) {
      case 'sym': sym = v; bit = SYM; break;
      case 'px': px = v; bit = PX; break;
      case 'sz': sz = v; bit = SZ; break;
      case 'ts': ts = v; bit = TS; break;
      case 'bid': case 'ask': case 'bsz': case 'asz':
        if (!isValidDecimal(v)) return 'bad_optional';
        tick[k] = v;
        bit = k === 'bid' ? BID : k === 'ask' ? ASK : k === 'bsz' ? BSZ : ASZ;
        break;
      case 'side':
        if (v !== 'buy' && v !== 'sell') return 'bad_side';
        tick.side = v as Side;
        bit = SIDE;
        break;
      default:
        if (RESERVED_KEYS.has(k)) return 'reserved_field';
        if (++extras > MAX_EXTRA_FIELDS || k.length > MAX_EXTRA_LENGTH || v.length > MAX_EXTRA_LENGTH) return 'bad_extra';
        (tick.extra ??= {})[k] = v;
        continue;
    }
    if (seen & bit) return 'reserved_field';
    seen |= bit;
  }
  if (sym === undefined || px === undefined || sz === undefined || ts === undefined) return 'missing_field';
  if (!isValidSymbol(sym)) return 'bad_symbol';
  if (!isValidDecimal(px)) return 'bad_price';
  if (!isValidDecimal(sz)) return 'bad_size';
  const t = parseTimestamp(ts);
  if (t < 0) return 'bad_timestamp';
  tick.px = px;
  tick.sz = sz;
  tick.ts = t;
  return { sym, tick };
}
