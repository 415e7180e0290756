/**
 * Byte-level primitives of the binary format: LEB128 varints, zigzag for signed values.
 *
 * Values are JavaScript numbers, exact up to 2^53-1, on every ordinary path. Stream id parts are unsigned 64-bit
 * (Redis), so the id fields also take a `U64`: a number while the value is at most 2^53-1 (every real-world id),
 * an exact BigInt beyond. Only those rare values cost a BigInt.
 *
 * JavaScript bit operators truncate to 32 bits, so values above 2^31 take a division path; zigzag is written as
 * (low 6 bits, sign) then the rest, which yields the standard zigzag LEB128 bytes without ever computing 2|v|+1
 * (not representable as a double above 2^53).
 *
 * Browser-safe: the decoder half runs in the SDK.
 */
import { FrameDecodeError } from './errors';

/**
 * An integer that may exceed 2^53-1: a number when |value| ≤ 2^53-1, else a BigInt. Decoders keep to this rule, so
 * equal values always have the same type.
 */
export type U64 = number | bigint;

/** 2^64-1, the largest stream id part. */
export const U64_MAX = 0xffffffffffffffffn;
/** 70 bits: enough for a zigzag of the difference of two u64 values (65 bits). */
export const MAX_VARINT_BYTES = 10;

const TWO_POW_31 = 0x80000000;

/** A growable scratch buffer: the encoder writes into it, then the caller copies out exactly once. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(initialSize = 4096) {
    this.buf = new Uint8Array(initialSize);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Callers reserve the worst case of a whole record up front, so the per-byte writes need no checks. */
  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  /** `v` is a non-negative safe integer. */
  uvarint(v: number): void {
    const buf = this.buf;
    let p = this.pos;
    if (v < TWO_POW_31) {
      while (v >= 0x80) {
        buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        buf[p++] = (v & 0x7f) | 0x80; // & is exact: v is an integer and 2^32 is a multiple of 128
        v = Math.floor(v / 128);
      }
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** `v` is a safe integer (|v| ≤ 2^53-1). */
  zigzag(v: number): void {
    if (v > -0x40000000 && v < 0x40000000) {
      this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
      return;
    }
    const sign = v < 0 ? 1 : 0;
    const m = sign ? -v - 1 : v;
    const rest = Math.floor(m / 64);
    this.buf[this.pos++] = ((m & 0x3f) << 1) | sign | 0x80; // |v| ≥ 2^30, so rest > 0
    this.uvarint(rest);
  }

  /** `v` is non-negative; a number is a safe integer. Same bytes as uvarint for the values both can take. */
  uvarint64(v: U64): void {
    if (typeof v === 'number') {
      this.uvarint(v);
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80n) {
      buf[p++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[p++] = Number(v);
    this.pos = p;
  }

  /** `v` is at most 2^64-1 in magnitude; a number is a safe integer. Same bytes as zigzag for the values both can take. */
  zigzag64(v: U64): void {
    if (typeof v === 'number') {
      this.zigzag(v);
      return;
    }
    const sign = v < 0n ? 1 : 0;
    const m = sign ? -v - 1n : v;
    const rest = m >> 6n;
    this.buf[this.pos++] = (Number(m & 0x3fn) << 1) | sign | (rest > 0n ? 0x80 : 0);
    if (rest > 0n) this.uvarint64(rest);
  }

  /** `s` is known to be ASCII (validated by the caller). */
  ascii(s: string): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }
}

/** Bytes a zigzag varint of `v` takes: lets the encoder pick delta vs absolute without writing both. */
export function zigzagSize(v: number): number {
  // zigzag(v) < 2^k  ⇔  a ≤ 2^(k-1), so n bytes hold every a up to 2^(7n-1). Exact: the README promises delta
  // whenever its varint is no longer than the absolute one, at every length.
  const a = v < 0 ? -v : v + 1;
  let n = 1;
  for (let limit = 0x40; a > limit; limit *= 0x80) n++;
  return n;
}

/** A bounds-checked cursor: every read past the end is a TRUNCATED error, never undefined arithmetic. */
export class ByteReader {
  pos: number;

  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw truncated();
    return this.buf[this.pos++];
  }

  /** A varint whose decoded value must be at most 2^53-1 (everything but stream id parts). */
  uvarint(): number {
    const v = this.uvarint64();
    if (typeof v !== 'number') throw new FrameDecodeError('BAD_VALUE', 'varint exceeds 2^53-1');
    return v;
  }

  /** A varint of at most 10 bytes whose decoded value is at most 2^64-1; a U64 (number while it is safe). */
  uvarint64(): U64 {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (p >= this.end) throw truncated();
      const b = buf[p++];
      // Exact while the sum stays at most 2^53-1; a larger value cannot round back below 2^53, so the test holds.
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = p;
        return result <= Number.MAX_SAFE_INTEGER ? result : bigVarint(buf, start, p);
      }
      scale *= 128;
    }
    throw new FrameDecodeError('BAD_VALUE', 'varint longer than 10 bytes');
  }

  /** A zigzag varint whose decoded value must be at most 2^53-1 in magnitude. */
  zigzag(): number {
    const v = this.zigzag64();
    if (typeof v !== 'number') throw new FrameDecodeError('BAD_VALUE', 'varint exceeds 2^53-1');
    return v;
  }

  /** A zigzag varint whose decoded value is at most 2^64-1 in magnitude (65 bits before zigzag decoding). */
  zigzag64(): U64 {
    const b = this.u8();
    const sign = b & 1;
    const low = (b >>> 1) & 0x3f;
    if (!(b & 0x80)) return sign ? -low - 1 : low;
    const rest = this.uvarint64();
    if (typeof rest === 'number') {
      const m = rest * 64 + low; // exact whenever it passes the test below
      if (m <= Number.MAX_SAFE_INTEGER - sign) return sign ? -m - 1 : m;
    }
    const m = BigInt(rest) * 64n + BigInt(low);
    if (m > U64_MAX - BigInt(sign)) throw new FrameDecodeError('BAD_VALUE', 'zigzag varint exceeds 2^64-1 in magnitude');
    return sign ? -m - 1n : m;
  }

  ascii(length: number): string {
    if (this.end - this.pos < length) throw truncated();
    const buf = this.buf;
    const start = this.pos;
    let s = '';
    for (let i = 0; i < length; i++) s += String.fromCharCode(buf[start + i]);
    this.pos = start + length;
    return s;
  }
}

/** The exact value of the varint in `buf[start, end)`, which exceeds 2^53-1; at most 2^64-1. */
function bigVarint(buf: Uint8Array, start: number, end: number): bigint {
  let v = 0n;
  for (let p = end - 1; p >= start; p--) v = (v << 7n) | BigInt(buf[p] & 0x7f);
  if (v > U64_MAX) throw new FrameDecodeError('BAD_VALUE', 'varint exceeds 2^64-1');
  return v;
}

function truncated(): FrameDecodeError {
  return new FrameDecodeError('TRUNCATED', 'frame ends in the middle of a value');
}
