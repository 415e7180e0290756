/**
 * Byte-level primitives of the binary format: LEB128 varints, zigzag for signed values, exact up to 2^53-1.
 *
 * JavaScript bit operators truncate to 32 bits, so values above 2^31 take a division path; zigzag is written as
 * (low 6 bits, sign) then the rest, which yields the standard zigzag LEB128 bytes without ever computing 2|v|+1
 * (not representable as a double above 2^53).
 *
 * Browser-safe: the decoder half runs in the SDK.
 */
import { FrameDecodeError } from './errors';

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
  const a = v < 0 ? -v : v + 1; // zigzag(v) < 2^k  ⇔  this < 2^(k-1)
  if (a <= 0x40) return 1;
  if (a <= 0x2000) return 2;
  if (a <= 0x100000) return 3;
  if (a <= 0x8000000) return 4;
  return 5 + Math.floor(Math.log2(a) / 7); // rare; an estimate is fine, only used to choose
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

  uvarint(): number {
    const buf = this.buf;
    let p = this.pos;
    let result = 0;
    let scale = 1;
    // 8 bytes carry 56 bits; more is either a corrupt frame or a value this format never writes.
    for (let i = 0; i < 8; i++) {
      if (p >= this.end) throw truncated();
      const b = buf[p++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) break;
        this.pos = p;
        return result;
      }
      scale *= 128;
    }
    throw new FrameDecodeError('BAD_VALUE', 'varint exceeds 2^53-1');
  }

  zigzag(): number {
    const b = this.u8();
    const sign = b & 1;
    let m = (b >>> 1) & 0x3f;
    if (b & 0x80) {
      const high = this.uvarint() * 64; // exact: scaling by a power of two
      const limit = sign ? Number.MAX_SAFE_INTEGER - 1 : Number.MAX_SAFE_INTEGER;
      if (high > limit - m) throw new FrameDecodeError('BAD_VALUE', 'varint exceeds 2^53-1');
      m += high;
    }
    return sign ? -m - 1 : m;
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

function truncated(): FrameDecodeError {
  return new FrameDecodeError('TRUNCATED', 'frame ends in the middle of a value');
}
