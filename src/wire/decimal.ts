/**
 * Exact conversion between a decimal string and (integer mantissa, scale): "101.250" ⇔ (101250, 3).
 *
 * Only canonical strings convert, those that format back to themselves: no leading zeros ("007.5"), no negative
 * zero ("-0.00"), mantissa within 2^53-1. Everything else that is still a valid decimal travels as its literal
 * characters, so no input is ever changed by the binary format.
 *
 * Browser-safe.
 */

/** Reused by the encoder for every field of every tick; parse fills it instead of allocating a result. */
export class DecimalParts {
  mantissa = 0;
  scale = 0;
}

export const enum ParseResult {
  /** `out` holds the exact (mantissa, scale). */
  Scaled,
  /** A valid decimal (DECIMAL_PATTERN) that has no exact (mantissa, scale) form: send the characters. */
  Literal,
  /** Not a decimal at all. */
  Invalid,
}

const MAX_INT_DIGITS = 18;
const MAX_FRACTION_DIGITS = 18;
/** DECIMAL_PATTERN's longest string: sign, 18 digits, point, 18 digits. */
export const MAX_DECIMAL_LENGTH = 1 + MAX_INT_DIGITS + 1 + MAX_FRACTION_DIGITS;

/** Same grammar as DECIMAL_PATTERN in tick.ts (a unit test holds them together), without a regex on the hot path. */
export function parseDecimal(s: string, out: DecimalParts): ParseResult {
  const len = s.length;
  let i = 0;
  const negative = s.charCodeAt(0) === 45; // '-' (NaN for an empty string)
  if (negative) i = 1;
  const intStart = i;
  let m = 0;
  while (i < len) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    m = m * 10 + c;
    i++;
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || intDigits > MAX_INT_DIGITS) return ParseResult.Invalid;
  let scale = 0;
  if (i < len) {
    if (s.charCodeAt(i) !== 46) return ParseResult.Invalid; // '.'
    i++;
    const fracStart = i;
    while (i < len) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return ParseResult.Invalid;
      m = m * 10 + c;
      i++;
    }
    scale = i - fracStart;
    if (scale === 0 || scale > MAX_FRACTION_DIGITS) return ParseResult.Invalid;
  }
  // Rounding is monotonic, so a true mantissa above 2^53-1 can never come out as a safe integer here.
  if (!Number.isSafeInteger(m)) return ParseResult.Literal;
  if (intDigits > 1 && s.charCodeAt(intStart) === 48) return ParseResult.Literal; // leading zero
  if (negative && m === 0) return ParseResult.Literal;
  out.mantissa = negative ? -m : m;
  out.scale = scale;
  return ParseResult.Scaled;
}

export function formatDecimal(mantissa: number, scale: number): string {
  if (scale === 0) return String(mantissa);
  const negative = mantissa < 0;
  let digits = String(negative ? -mantissa : mantissa);
  if (digits.length <= scale) digits = '0'.repeat(scale + 1 - digits.length) + digits;
  const point = digits.length - scale;
  return (negative ? '-' : '') + digits.slice(0, point) + '.' + digits.slice(point);
}
