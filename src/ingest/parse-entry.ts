/**
 * Turns one raw stream entry (flat `[field, value, ...]` as Redis sends it) into a Tick, or names why it cannot.
 * Every known field is validated here, once, so the encoders downstream may trust them (the JSON encoder relies
 * on it to skip escaping).
 */
import { isValidDecimal, isValidSymbol, Side, Tick } from '../wire/tick';

export type MalformedKind =
  | 'deleted'
  | 'missing_field'
  | 'bad_symbol'
  | 'bad_price'
  | 'bad_size'
  | 'bad_timestamp'
  | 'bad_side'
  | 'bad_optional'
  | 'bad_extra';

export const MALFORMED_KINDS: readonly MalformedKind[] = [
  'deleted', 'missing_field', 'bad_symbol', 'bad_price', 'bad_size', 'bad_timestamp', 'bad_side', 'bad_optional', 'bad_extra',
];

/** Pass-through fields are bounded so a producer bug cannot blow up every frame. */
const MAX_EXTRA_FIELDS = 8;
const MAX_EXTRA_LENGTH = 256;

export interface ParsedEntry {
  sym: string;
  tick: Tick;
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
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i];
    const v = fields[i + 1];
    switch (k) {
      case 'sym': sym = v; break;
      case 'px': px = v; break;
      case 'sz': sz = v; break;
      case 'ts': ts = v; break;
      case 'bid': case 'ask': case 'bsz': case 'asz':
        if (!isValidDecimal(v)) return 'bad_optional';
        tick[k] = v;
        break;
      case 'side':
        if (v !== 'buy' && v !== 'sell') return 'bad_side';
        tick.side = v as Side;
        break;
      default:
        if (++extras > MAX_EXTRA_FIELDS || k.length > MAX_EXTRA_LENGTH || v.length > MAX_EXTRA_LENGTH) return 'bad_extra';
        (tick.extra ??= {})[k] = v;
    }
  }
  if (sym === undefined || px === undefined || sz === undefined || ts === undefined) return 'missing_field';
  if (!isValidSymbol(sym)) return 'bad_symbol';
  if (!isValidDecimal(px)) return 'bad_price';
  if (!isValidDecimal(sz)) return 'bad_size';
  const t = Number(ts);
  if (!Number.isSafeInteger(t) || t < 0) return 'bad_timestamp';
  tick.px = px;
  tick.sz = sz;
  tick.ts = t;
  return { sym, tick };
}
