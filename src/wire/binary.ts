/**
 * The binary batch codec: one symbol's batch in a compact layout (documented byte by byte in src/wire/README.md,
 * "Binary batch").
 *
 * Every frame decodes on its own: deltas run only between ticks of the same batch, and the first tick's id is
 * relative to the batch's send time, so a subscriber that joins mid-stream needs no earlier frame. `prev` (the id
 * published before the first tick, for gap detection) follows `sent`: a presence byte, then the id relative to `sent`.
 * Prices and sizes are exact: (mantissa, scale) integers, delta-coded against the same field of the previous tick
 * when that is shorter, or their literal characters when no exact integer form exists (see decimal.ts).
 * `extra` fields are not carried: the binary format is for the fields tickgate knows.
 * Ids are carried exactly over Redis's whole range (two u64 parts): ordinary ids take the Number path; a part above
 * 2^53-1 switches that id's arithmetic to BigInt (U64, bytes.ts), with the same bytes.
 *
 * Browser-safe: the SDK decodes with this module.
 */
import { ByteReader, ByteWriter, MAX_VARINT_BYTES, U64, U64_MAX, zigzagSize } from './bytes';
import { DecimalParts, formatDecimal, MAX_DECIMAL_LENGTH, parseDecimal, ParseResult } from './decimal';
import { WireEncodeError } from './encode-error';
import { FrameDecodeError } from './errors';
import { DataFrame, FrameKind, isValidDecimal, isValidSymbol, Side, SYMBOL_MAX_LENGTH, Tick, TickBatch } from './tick';

// Tick head byte: bits 0-1 id mode, 2-3 px mode, 4-5 sz mode, 6-7 shape.
const ID_NEXT_SEQ = 0; // same ms as the previous tick, seq + 1: no bytes
const ID_NEXT_MS = 1; // ms += uvarint, seq = 0
const ID_FULL = 2; // ms += zigzag, seq = uvarint

const DEC_DELTA = 0; // zigzag(mantissa - previous mantissa), previous scale
const DEC_ABS = 1; // zigzag(mantissa), previous scale
const DEC_ABS_SCALE = 2; // u8 scale, zigzag(mantissa)
const DEC_LITERAL = 3; // u8 length, ASCII characters

const SHAPE_NONE = 0; // no optional field
const SHAPE_NEW = 1; // opt byte, then a modes byte when bid/ask/bsz/asz are present
const SHAPE_REPEAT = 2; // opt and modes bytes equal the previous tick's

// Opt byte: bits 0-3 bid, ask, bsz, asz present; bit 4 side present; bit 5 side is sell.
const OPT_DECIMALS = 0x0f;
const OPT_SIDE = 0x10;
const OPT_SELL = 0x20;
const OPT_RESERVED = 0xc0;

const OPTIONAL_KEYS = ['bid', 'ask', 'bsz', 'asz'] as const;
const MAX_SCALE = 18;
/** Symbol length and characters, sent, prev presence, prev ms, prev seq, tick count. */
const MAX_BATCH_HEAD_BYTES = 2 + SYMBOL_MAX_LENGTH + 4 * MAX_VARINT_BYTES;
/** Head + ts + px + sz, one byte each: lets the decoder reject an absurd tick count before looping. */
const MIN_TICK_BYTES = 4;
/** Worst case of one tick (six literal decimals, u64 ids): reserved once per tick so writes skip bounds checks. */
const MAX_TICK_BYTES = 3 + 3 * MAX_VARINT_BYTES + 6 * (1 + MAX_DECIMAL_LENGTH);

/** Delta state of one decimal field (px, sz, bid, ask, bsz, asz) through a batch; the encoder's plan for the current tick. */
class FieldState {
  hasPrev = false;
  prevMantissa = 0;
  prevScale = 0;
  mode = DEC_ABS_SCALE;
  readonly parts = new DecimalParts();
  literal = '';

  reset(): void {
    this.hasPrev = false;
  }

  plan(value: string, name: string): number {
    const r = parseDecimal(value, this.parts);
    if (r === ParseResult.Invalid) throw new WireEncodeError('INVALID_DECIMAL', `${name} ${JSON.stringify(value)} is not a decimal`);
    if (r === ParseResult.Literal) {
      this.literal = value;
      return (this.mode = DEC_LITERAL);
    }
    const { mantissa, scale } = this.parts;
    if (!this.hasPrev || scale !== this.prevScale) return (this.mode = DEC_ABS_SCALE);
    const delta = mantissa - this.prevMantissa;
    const useDelta = Number.isSafeInteger(delta) && zigzagSize(delta) <= zigzagSize(mantissa);
    return (this.mode = useDelta ? DEC_DELTA : DEC_ABS);
  }

  write(w: ByteWriter): void {
    const { mantissa, scale } = this.parts;
    switch (this.mode) {
      case DEC_DELTA:
        w.zigzag(mantissa - this.prevMantissa);
        break;
      case DEC_ABS:
        w.zigzag(mantissa);
        break;
      case DEC_ABS_SCALE:
        w.u8(scale);
        w.zigzag(mantissa);
        break;
      default:
        w.u8(this.literal.length);
        w.ascii(this.literal);
        this.hasPrev = false;
        return;
    }
    this.hasPrev = true;
    this.prevMantissa = mantissa;
    this.prevScale = scale;
  }

  read(r: ByteReader, mode: number): string {
    let mantissa: number;
    let scale = this.prevScale;
    if (mode === DEC_LITERAL) {
      const len = r.u8();
      const s = r.ascii(len);
      if (!isValidDecimal(s)) throw new FrameDecodeError('BAD_VALUE', 'literal is not a decimal');
      this.hasPrev = false;
      return s;
    }
    if (mode === DEC_ABS_SCALE) {
      scale = r.u8();
      if (scale > MAX_SCALE) throw new FrameDecodeError('BAD_VALUE', `decimal scale ${scale} above ${MAX_SCALE}`);
      mantissa = r.zigzag();
    } else {
      if (!this.hasPrev) throw new FrameDecodeError('BAD_VALUE', 'decimal refers to a previous value that does not exist');
      mantissa = mode === DEC_DELTA ? this.prevMantissa + r.zigzag() : r.zigzag();
      if (!Number.isSafeInteger(mantissa)) throw new FrameDecodeError('BAD_VALUE', 'decimal mantissa exceeds 2^53-1');
    }
    this.hasPrev = true;
    this.prevMantissa = mantissa;
    this.prevScale = scale;
    return formatDecimal(mantissa, scale);
  }
}

// px, sz, bid, ask, bsz, asz. Module state is safe: encode and decode are synchronous and never re-entered.
const fields = [new FieldState(), new FieldState(), new FieldState(), new FieldState(), new FieldState(), new FieldState()];
const px = fields[0];
const sz = fields[1];

function resetFields(): void {
  for (const f of fields) f.reset();
}

/**
 * One half of a stream id: a number while it is at most 2^53-1, else an exact BigInt (up to 2^64-1). Canonical digits
 * only, since a re-formatted id must equal the original. An id without a dash (indexOf -1) gives a negative length.
 */
function parseIdPart(id: string, start: number, end: number): U64 {
  const len = end - start;
  if (len <= 0 || (len > 1 && id.charCodeAt(start) === 48)) throw invalidId(id);
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = id.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw invalidId(id);
    v = v * 10 + c;
  }
  // Exact when it passes: a sum that exceeds 2^53-1 cannot round back below 2^53.
  if (Number.isSafeInteger(v)) return v;
  const big = BigInt(id.slice(start, end));
  if (big > U64_MAX) throw new WireEncodeError('ID_OUT_OF_RANGE', `stream id ${id} has a part above 2^64-1`);
  return big;
}

/** a − b, exact: plain subtraction of two numbers (safe integers of one sign: the difference is safe), else BigInt. */
function minus(a: U64, b: U64): U64 {
  return typeof a === 'bigint' || typeof b === 'bigint' ? BigInt(a) - BigInt(b) : a - b;
}

/** a + b, exact, as a U64 (a number whenever the sum is a safe integer). */
function plus(a: U64, b: U64): U64 {
  if (typeof a !== 'bigint' && typeof b !== 'bigint' && Number.isSafeInteger(a + b)) return a + b;
  const sum = BigInt(a) + BigInt(b);
  // Number() rounds monotonically and 2^53 is a double, so it is safe exactly when |sum| ≤ 2^53-1.
  const n = Number(sum);
  return Number.isSafeInteger(n) ? n : sum;
}

/**
 * Id mode of (ms, seq) after (prevMs, prevSeq). Every U64 here is a number exactly when it is at most 2^53-1, so
 * equal values are `===`; `>` compares a number with a BigInt exactly.
 */
function idModeOf(ms: U64, seq: U64, prevMs: U64, prevSeq: U64): number {
  if (ms === prevMs && seq === plus(prevSeq, 1)) return ID_NEXT_SEQ;
  return seq === 0 && ms > prevMs ? ID_NEXT_MS : ID_FULL;
}

/** Mixed number/BigInt comparisons are exact. */
function inU64(v: U64): boolean {
  return v >= 0 && v <= U64_MAX;
}

function invalidId(id: string): WireEncodeError {
  return new WireEncodeError('INVALID_ID', `${JSON.stringify(id)} is not a stream id <ms>-<seq>`);
}

/**
 * Appends the binary form of `batch` to `w`. Throws WireEncodeError for any value it cannot carry exactly; `w` then
 * holds a partial batch that the caller discards.
 */
export function encodeBinaryBatch(w: ByteWriter, batch: TickBatch, sent: number): void {
  const { sym, ticks, prev } = batch;
  if (!isValidSymbol(sym)) throw new WireEncodeError('INVALID_SYMBOL', `invalid symbol ${JSON.stringify(sym)}`);
  if (!Number.isSafeInteger(sent) || sent < 0) throw new WireEncodeError('INVALID_SENT', `send time ${sent} is not a safe integer`);
  w.ensure(MAX_BATCH_HEAD_BYTES);
  w.u8(sym.length);
  w.ascii(sym);
  w.uvarint(sent);
  if (prev) {
    const dash = prev.indexOf('-');
    const prevMs = parseIdPart(prev, 0, dash);
    const prevSeq = parseIdPart(prev, dash + 1, prev.length);
    w.u8(1);
    w.zigzag64(minus(prevMs, sent));
    w.uvarint64(prevSeq);
  } else {
    w.u8(0);
  }
  w.uvarint(ticks.length);

  resetFields();
  let prevMs: U64 = sent;
  let prevSeq: U64 = 0;
  // opt byte << 8 | modes byte of the previous tick: 0 when it had no optional field, which no tick with one matches
  let prevShape = 0;
  for (let i = 0; i < ticks.length; i++) {
    const t = ticks[i];
    const id = t.id;
    const dash = id.indexOf('-');
    const ms = parseIdPart(id, 0, dash);
    const seq = parseIdPart(id, dash + 1, id.length);
    const ts = t.ts;
    if (!Number.isSafeInteger(ts) || ts < 0) throw new WireEncodeError('INVALID_TS', `ts ${ts} is not an integer in 0..2^53-1`);

    const idMode = idModeOf(ms, seq, prevMs, prevSeq);
    const pxMode = px.plan(t.px, 'px');
    const szMode = sz.plan(t.sz, 'sz');
    let opt = 0;
    let modes = 0;
    for (let k = 0; k < 4; k++) {
      const v = t[OPTIONAL_KEYS[k]];
      if (v === undefined) continue;
      opt |= 1 << k;
      modes |= fields[2 + k].plan(v, OPTIONAL_KEYS[k]) << (2 * k);
    }
    if (t.side !== undefined) opt |= t.side === 'sell' ? OPT_SIDE | OPT_SELL : OPT_SIDE;
    const shapeKey = (opt << 8) | modes;
    const shape = opt === 0 ? SHAPE_NONE : shapeKey === prevShape ? SHAPE_REPEAT : SHAPE_NEW;
    prevShape = shapeKey;

    w.ensure(MAX_TICK_BYTES);
    w.u8(idMode | (pxMode << 2) | (szMode << 4) | (shape << 6));
    if (idMode === ID_NEXT_MS) {
      w.uvarint64(minus(ms, prevMs));
    } else if (idMode === ID_FULL) {
      w.zigzag64(minus(ms, prevMs));
      w.uvarint64(seq);
    }
    if (shape === SHAPE_NEW) {
      w.u8(opt);
      if (opt & OPT_DECIMALS) w.u8(modes);
    }
    w.zigzag64(minus(ts, ms));
    px.write(w);
    sz.write(w);
    for (let k = 0; k < 4; k++) if (opt & (1 << k)) fields[2 + k].write(w);
    prevMs = ms;
    prevSeq = seq;
  }
}

/**
 * Decodes a binary batch occupying exactly `bytes[start, end)`; `kind` comes from the frame header. Throws
 * FrameDecodeError for anything malformed.
 */
export function decodeBinaryBatch(bytes: Uint8Array, start = 0, end = bytes.length, kind: FrameKind = 'live'): DataFrame {
  const r = new ByteReader(bytes, start, end);
  const symLen = r.u8();
  const sym = r.ascii(symLen);
  if (!isValidSymbol(sym)) throw new FrameDecodeError('BAD_VALUE', 'invalid symbol');
  const sent = r.uvarint();
  const hasPrev = r.u8();
  let prev: string | undefined;
  if (hasPrev === 1) {
    const prevMs = plus(sent, r.zigzag64());
    const prevSeq = r.uvarint64();
    if (!inU64(prevMs)) throw new FrameDecodeError('BAD_VALUE', 'prev id out of range');
    prev = prevMs + '-' + prevSeq;
  } else if (hasPrev !== 0) {
    throw new FrameDecodeError('BAD_VALUE', 'invalid prev presence byte');
  }
  const count = r.uvarint();
  if (count > r.remaining() / MIN_TICK_BYTES) throw new FrameDecodeError('TRUNCATED', `${count} ticks cannot fit in the frame`);

  resetFields();
  const ticks: Tick[] = [];
  let ms: U64 = sent;
  let seq: U64 = 0;
  let opt = 0;
  let modes = 0;
  for (let i = 0; i < count; i++) {
    const head = r.u8();
    const idMode = head & 3;
    if (idMode === ID_NEXT_SEQ) {
      seq = plus(seq, 1);
    } else if (idMode === ID_NEXT_MS) {
      ms = plus(ms, r.uvarint64());
      seq = 0;
    } else if (idMode === ID_FULL) {
      ms = plus(ms, r.zigzag64());
      seq = r.uvarint64();
    } else {
      throw new FrameDecodeError('BAD_VALUE', 'reserved id mode');
    }
    if (!inU64(ms) || !inU64(seq)) throw new FrameDecodeError('BAD_VALUE', 'id out of range');

    const shape = head >>> 6;
    if (shape === SHAPE_NONE) {
      opt = 0;
      modes = 0;
    } else if (shape === SHAPE_NEW) {
      opt = r.u8();
      modes = opt & OPT_DECIMALS ? r.u8() : 0;
      if (opt === 0 || opt & OPT_RESERVED || (opt & (OPT_SIDE | OPT_SELL)) === OPT_SELL) {
        throw new FrameDecodeError('BAD_VALUE', 'invalid optional-field byte');
      }
      for (let k = 0; k < 4; k++) {
        if (!(opt & (1 << k)) && (modes >>> (2 * k)) & 3) throw new FrameDecodeError('BAD_VALUE', 'mode set for an absent field');
      }
    } else if (shape !== SHAPE_REPEAT || opt === 0) {
      throw new FrameDecodeError('BAD_VALUE', 'invalid tick shape');
    }

    const ts = plus(ms, r.zigzag64());
    if (typeof ts !== 'number' || ts < 0) throw new FrameDecodeError('BAD_VALUE', 'ts out of range');
    const tick: Tick = {
      id: ms + '-' + seq,
      ts,
      px: px.read(r, (head >>> 2) & 3),
      sz: sz.read(r, (head >>> 4) & 3),
    };
    for (let k = 0; k < 4; k++) {
      if (opt & (1 << k)) tick[OPTIONAL_KEYS[k]] = fields[2 + k].read(r, (modes >>> (2 * k)) & 3);
    }
    if (opt & OPT_SIDE) tick.side = (opt & OPT_SELL ? 'sell' : 'buy') as Side;
    ticks.push(tick);
  }
  if (r.remaining() !== 0) throw new FrameDecodeError('BAD_VALUE', 'bytes after the last tick');
  const frame: DataFrame = { sym, sent, kind, ticks };
  if (prev !== undefined) frame.prev = prev;
  return frame;
}
