import { expect } from 'chai';
import { ByteReader, ByteWriter } from '../../src/wire/bytes';
import { DecimalParts, formatDecimal, parseDecimal, ParseResult } from '../../src/wire/decimal';
import { WireEncodeError } from '../../src/wire/encode-error';
import { decodeFrame } from '../../src/wire/frame';
import { encodeFrame } from '../../src/wire/frame-encode';
import { FORMAT_NAMES } from '../../src/wire/formats';
import { FRAME_KINDS, FrameKind, isValidDecimal, TickBatch } from '../../src/wire/tick';
import { randomBatch, randomDecimal, randomKind, seededRandom, withExtras } from './wire-fixtures';

const SENT = 1732480000123;

function roundTrip(format: (typeof FORMAT_NAMES)[number], batch: TickBatch, sent = SENT, kind?: FrameKind) {
  return decodeFrame(encodeFrame(format, batch, sent, kind));
}

/** What decodeFrame returns for `batch`: `kind` always, `prev` only when non-empty. */
function decoded(batch: TickBatch, sent = SENT, kind: FrameKind = 'live') {
  const { prev, ...rest } = batch;
  return prev ? { ...rest, prev, sent, kind } : { ...rest, sent, kind };
}

describe('wire: decimal conversion', () => {
  it('turns canonical decimals into (mantissa, scale) and back into the identical string', () => {
    const parts = new DecimalParts();
    for (const s of ['101.250', '-101.250', '0', '0.00', '-0.5', '27123.45', '0.0123', '9007199254740991', '-1.000000000000000']) {
      expect(parseDecimal(s, parts), s).to.equal(ParseResult.Scaled);
      expect(formatDecimal(parts.mantissa, parts.scale)).to.equal(s);
    }
  });

  it('keeps as literals the decimals without an exact integer form', () => {
    const parts = new DecimalParts();
    for (const s of ['-0', '-0.00', '007.5', '00', '9007199254740992', '123456789012345678.123456789012345678']) {
      expect(parseDecimal(s, parts), s).to.equal(ParseResult.Literal);
    }
  });

  it('accepts exactly the strings DECIMAL_PATTERN accepts', () => {
    const rnd = seededRandom(7);
    const alphabet = '0123456789.-e ';
    for (let i = 0; i < 20_000; i++) {
      let s = '';
      const len = Math.floor(rnd() * 12);
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const candidate = i % 2 ? s : randomDecimal(rnd);
      const accepted = parseDecimal(candidate, new DecimalParts()) !== ParseResult.Invalid;
      expect(accepted, JSON.stringify(candidate)).to.equal(isValidDecimal(candidate));
    }
  });
});

describe('wire: varints', () => {
  it('round-trip zigzag values across the whole safe-integer range', () => {
    const values = [0, 1, -1, 63, -64, 64, -65, 2 ** 30, -(2 ** 30), 2 ** 31, 2 ** 32 + 5, -(2 ** 40) - 3];
    values.push(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53 - 2, -(2 ** 52) - 1);
    const w = new ByteWriter(4);
    for (const v of values) {
      w.ensure(10);
      w.zigzag(v);
      w.ensure(10);
      w.uvarint(Math.abs(v));
    }
    const r = new ByteReader(w.buf, 0, w.pos);
    for (const v of values) {
      expect(r.zigzag()).to.equal(v);
      expect(r.uvarint()).to.equal(Math.abs(v));
    }
    expect(r.remaining()).to.equal(0);
  });
});

describe('wire: ByteWriter', () => {
  it('grows only when a reservation does not fit, to the next power-of-two multiple of its size, keeping what was written', () => {
    const w = new ByteWriter(4);
    w.ensure(4);
    expect(w.buf.length).to.equal(4);
    w.ascii('abc');
    w.ensure(1);
    expect(w.buf.length).to.equal(4);
    w.ensure(2);
    expect(w.buf.length).to.equal(8);
    w.ensure(100);
    expect(w.buf.length).to.equal(128);
    expect([...w.buf.subarray(0, 4)]).to.deep.equal([0x61, 0x62, 0x63, 0]);
  });
});

describe('wire: 64-bit varints', () => {
  const U64_MAX = 2n ** 64n - 1n;
  it('round-trip u64 and signed 65-bit zigzag values exactly, as numbers while safe and BigInt beyond', () => {
    const values: bigint[] = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, U64_MAX - 1n, U64_MAX];
    const w = new ByteWriter(4);
    for (const v of values) {
      w.ensure(30);
      w.uvarint64(v);
      w.zigzag64(v);
      w.zigzag64(-v);
    }
    const r = new ByteReader(w.buf, 0, w.pos);
    const asU64 = (v: bigint) => (v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? Number(v) : v);
    for (const v of values) {
      expect(r.uvarint64(), String(v)).to.equal(asU64(v));
      expect(r.zigzag64(), String(v)).to.equal(asU64(v));
      expect(r.zigzag64(), String(-v)).to.equal(asU64(-v));
    }
    expect(r.remaining()).to.equal(0);
  });

  it('writes the same bytes from a BigInt as from a number', () => {
    for (const v of [0, 1, 63, 64, 2 ** 30, 2 ** 31 + 7, Number.MAX_SAFE_INTEGER]) {
      for (const signed of [v, -v]) {
        const a = new ByteWriter(16);
        const b = new ByteWriter(16);
        a.zigzag(signed);
        b.zigzag64(BigInt(signed));
        expect([...b.buf.subarray(0, b.pos)], String(signed)).to.deep.equal([...a.buf.subarray(0, a.pos)]);
      }
      const a = new ByteWriter(16);
      const b = new ByteWriter(16);
      a.uvarint(v);
      b.uvarint64(BigInt(v));
      expect([...b.buf.subarray(0, b.pos)], String(v)).to.deep.equal([...a.buf.subarray(0, a.pos)]);
    }
  });

  it('limits the decoded value, not the raw varint: 2^64-1 in magnitude for ids, 2^53-1 for everything else', () => {
    const read = (bytes: number[], f: (r: ByteReader) => unknown) => () => f(new ByteReader(Uint8Array.from(bytes)));
    const ff9 = Array(9).fill(0xff);
    // zigzag(-(2^64-1)) = 2^65-3: a 65-bit raw varint whose decoded value is in range.
    expect(read([0xfd, ...ff9.slice(1), 0x03], (r) => r.zigzag64())()).to.equal(-U64_MAX);
    expect(read([...ff9, 0x01], (r) => r.uvarint64())()).to.equal(U64_MAX);
    expect(read([...ff9, 0x02], (r) => r.uvarint64())).to.throw(/exceeds 2\^64-1/);
    expect(read([0xff, ...ff9.slice(1), 0x03], (r) => r.zigzag64())).to.throw(/exceeds 2\^64-1/); // -2^64
    expect(read([...Array(10).fill(0x80), 0x00], (r) => r.uvarint64())).to.throw(/longer than 10 bytes/);
    expect(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], (r) => r.uvarint())).to.throw(/exceeds 2\^53-1/); // 2^53
    expect(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20], (r) => r.zigzag())).to.throw(/exceeds 2\^53-1/); // 2^53
    // zigzag(-(2^53-1)) = 2^54-3: the raw varint is above 2^53, the decoded value is not.
    expect(read([0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f], (r) => r.zigzag())()).to.equal(-Number.MAX_SAFE_INTEGER);
  });
});

describe('wire: encodeFrame/decodeFrame round trip', function () {
  this.timeout(30_000); // thousands of cases; the machine may be busy
  for (const format of FORMAT_NAMES) {
    it(`returns the same batch, prev and kind for 3,000 random batches in '${format}' (seed 1000+i)`, () => {
      const seen = new Set<string>();
      for (let i = 0; i < 3000; i++) {
        const rnd = seededRandom(1000 + i);
        const sent = SENT + Math.floor(rnd() * 1000);
        const batch = format.startsWith('json') ? withExtras(rnd, randomBatch(rnd, sent)) : randomBatch(rnd, sent);
        const kind = randomKind(rnd);
        seen.add(`${kind}/${batch.prev === undefined ? 'no prev' : 'prev'}`);
        expect(roundTrip(format, batch, sent, kind), `seed ${1000 + i}`).to.deep.equal(decoded(batch, sent, kind));
      }
      expect(seen.size, 'every kind with and without prev').to.equal(6);
    });
  }

  it("defaults kind to 'live' and treats an empty prev as absent, in every format", () => {
    const batch = { sym: 'BTC-USD', ticks: [{ id: '5-0', ts: 5, px: '1', sz: '2' }] };
    for (const format of FORMAT_NAMES) {
      expect(roundTrip(format, batch), format).to.deep.equal(decoded(batch));
      expect(roundTrip(format, { ...batch, prev: '' }), format).to.deep.equal(decoded(batch));
    }
  });

  it('writes prev after sent and kind only when not live in JSON, as the protocol shows', () => {
    const ticks = [{ id: '2-0', ts: 2, px: '1', sz: '1' }];
    expect(encodeFrame('json', { sym: 'A', prev: '1-0', ticks }, 1, 'replay')).to.equal(
      '{"type":"ticks","sym":"A","sent":1,"prev":"1-0","kind":"replay","ticks":[{"id":"2-0","ts":2,"px":"1","sz":"1"}]}');
    expect(encodeFrame('json', { sym: 'A', ticks }, 1)).to.equal('{"type":"ticks","sym":"A","sent":1,"ticks":[{"id":"2-0","ts":2,"px":"1","sz":"1"}]}');
    expect(encodeFrame('json', { sym: 'A', prev: '', ticks }, 1, 'conflated')).to.equal(
      '{"type":"ticks","sym":"A","sent":1,"kind":"conflated","ticks":[{"id":"2-0","ts":2,"px":"1","sz":"1"}]}');
  });

  it('puts the kind in header flag bits 2-3 of every binary format, JSON payloads included', () => {
    const batch = { sym: 'BTC-USD', ticks: [{ id: '5-0', ts: 5, px: '1', sz: '2' }] };
    for (const format of ['json+lz4', 'bin', 'bin+lz4'] as const) {
      FRAME_KINDS.forEach((kind, n) => {
        const frame = encodeFrame(format, batch, SENT, kind) as Uint8Array;
        expect((frame[1] >> 2) & 3, `${format} ${kind}`).to.equal(n);
        expect(frame[1] & 0xf0).to.equal(0);
      });
    }
  });

  it('costs one byte without prev and three with a live prev a few ms before sent, in binary', () => {
    const ticks = [{ id: `${SENT - 1}-0`, ts: SENT - 1, px: '27123.45', sz: '0.0100' }];
    const none = (encodeFrame('bin', { sym: 'BTC-USD', ticks }, SENT) as Uint8Array).length;
    const before = (encodeFrame('bin', { sym: 'BTC-USD', ticks, prev: `${SENT - 2}-3` }, SENT) as Uint8Array).length;
    expect(before - none, 'presence 1, zigzag(-2) 1, seq 3 1 vs presence 0').to.equal(2);
    const v0 = encodeFrame('bin', { sym: 'BTC-USD', ticks: [] }, SENT) as Uint8Array;
    // header 2, sym 1+7, sent 6, prev presence 1, count 1
    expect(v0.length).to.equal(2 + 8 + 6 + 1 + 1);
    expect(v0[2 + 8 + 6]).to.equal(0);
  });

  it('refuses a prev it cannot carry exactly and an unknown kind', () => {
    const ticks = [{ id: '1-0', ts: 1, px: '1', sz: '1' }];
    expect(() => encodeFrame('bin', { sym: 'A', ticks, prev: '1' }, SENT)).to.throw(WireEncodeError).with.property('code', 'INVALID_ID');
    expect(() => encodeFrame('bin+lz4', { sym: 'A', ticks, prev: '18446744073709551616-0' }, SENT)).to.throw(WireEncodeError).with.property('code', 'ID_OUT_OF_RANGE');
    for (const format of FORMAT_NAMES) {
      expect(() => encodeFrame(format, { sym: 'A', ticks }, SENT, 'stale' as FrameKind), format).to.throw(WireEncodeError).with.property('code', 'INVALID_KIND');
    }
  });

  it("sends 'json' as a text frame and every other format as binary", () => {
    const batch = randomBatch(seededRandom(1), SENT);
    expect(encodeFrame('json', batch, SENT)).to.be.a('string');
    for (const f of ['json+lz4', 'bin', 'bin+lz4'] as const) expect(encodeFrame(f, batch, SENT)).to.be.instanceOf(Uint8Array);
  });

  it('sets the LZ4 flag only when compression made the frame smaller', () => {
    const ticks = Array.from({ length: 50 }, (_, i) => ({ id: `1732480000000-${i}`, ts: 1732480000000, px: '1.00', sz: '1' }));
    const big = encodeFrame('json+lz4', { sym: 'BTC-USD', ticks }, SENT) as Uint8Array;
    const small = encodeFrame('json+lz4', { sym: 'BTC-USD', ticks: ticks.slice(0, 1) }, SENT) as Uint8Array;
    expect(big[1] & 1).to.equal(1);
    expect(small[1] & 1).to.equal(0);
  });

  it('drops extra fields in the binary formats and keeps them in JSON', () => {
    const batch = { sym: 'BTC-USD', ticks: [{ id: '5-0', ts: 5, px: '1', sz: '2', extra: { venue: 'X' } }] };
    expect(roundTrip('bin', batch).ticks[0]).to.deep.equal({ id: '5-0', ts: 5, px: '1', sz: '2' });
    expect(roundTrip('json+lz4', batch).ticks[0].extra).to.deep.equal({ venue: 'X' });
  });

  it('carries every Redis stream id exactly (parts up to 2^64-1) and refuses larger ones with ID_OUT_OF_RANGE', () => {
    const ids = ['9007199254740991-9007199254740991', '9007199254740992-0', '9007199254740993-18446744073709551615',
      '9007199254740994-0', '9007199254740994-1', '18446744073709551615-0', '0-18446744073709551615', '1-0',
      '18446744073709551615-18446744073709551615'];
    const ticks = ids.map((id, i) => ({ id, ts: i === 1 ? Number.MAX_SAFE_INTEGER : i, px: '1', sz: '1' }));
    for (const format of FORMAT_NAMES) {
      for (const prev of ['18446744073709551615-18446744073709551615', '9007199254740993-5', `${SENT}-0`]) {
        const batch = { sym: 'BTC-USD', ticks, prev };
        expect(roundTrip(format, batch), `${format} prev ${prev}`).to.deep.equal(decoded(batch));
      }
    }
    for (const id of ['18446744073709551616-0', '0-18446744073709551616', '99999999999999999999999-0']) {
      const batch = { sym: 'BTC-USD', ticks: [{ id, ts: 0, px: '1', sz: '1' }] };
      expect(() => encodeFrame('bin', batch, SENT), id).to.throw(WireEncodeError).with.property('code', 'ID_OUT_OF_RANGE');
    }
  });

  it('refuses malformed values with a typed error instead of guessing', () => {
    const tick = { id: '1-0', ts: 1, px: '1', sz: '1' };
    const cases: [object, string][] = [
      [{ ...tick, id: '01-0' }, 'INVALID_ID'],
      [{ ...tick, id: '1' }, 'INVALID_ID'],
      [{ ...tick, ts: 1.5 }, 'INVALID_TS'],
      [{ ...tick, ts: -1 }, 'INVALID_TS'],
      [{ ...tick, ts: 2 ** 53 }, 'INVALID_TS'],
      [{ ...tick, px: '1e5' }, 'INVALID_DECIMAL'],
      [{ ...tick, bid: '' }, 'INVALID_DECIMAL'],
    ];
    for (const [t, code] of cases) {
      expect(() => encodeFrame('bin+lz4', { sym: 'BTC-USD', ticks: [t as never] }, SENT)).to.throw(WireEncodeError).with.property('code', code);
    }
    expect(() => encodeFrame('bin', { sym: 'bad symbol', ticks: [] }, SENT)).to.throw(WireEncodeError).with.property('code', 'INVALID_SYMBOL');
  });

  it('refuses each malformed id, send time, ts, decimal and symbol with its code and a message naming the value', () => {
    const tick = { id: '1-0', ts: 1, px: '1', sz: '1' };
    const refusals: [TickBatch, number, string, string][] = [
      ...['', '5', '-5', '5-', '-', '01-0', '1-00', '1a-0', '1-0x', '1.5-0', '1/-0', '1:-0', ' 1-0'].map((id): [TickBatch, number, string, string] =>
        [{ sym: 'A', ticks: [{ ...tick, id }] }, 1, 'INVALID_ID', `${JSON.stringify(id)} is not a stream id <ms>-<seq>`]),
      ...['5', '-', '01-0', '1-a'].map((prev): [TickBatch, number, string, string] =>
        [{ sym: 'A', prev, ticks: [] }, 1, 'INVALID_ID', `${JSON.stringify(prev)} is not a stream id <ms>-<seq>`]),
      [{ sym: 'A', ticks: [{ ...tick, id: '1-18446744073709551616' }] }, 1, 'ID_OUT_OF_RANGE', 'stream id 1-18446744073709551616 has a part above 2^64-1'],
      ...[-1, 1.5, 2 ** 53, NaN].map((sent): [TickBatch, number, string, string] =>
        [{ sym: 'A', ticks: [] }, sent, 'INVALID_SENT', `send time ${sent} is not a safe integer`]),
      [{ sym: 'A', ticks: [{ ...tick, ts: -1 }] }, 1, 'INVALID_TS', 'ts -1 is not an integer in 0..2^53-1'],
      [{ sym: 'A', ticks: [{ ...tick, px: '1e5' }] }, 1, 'INVALID_DECIMAL', 'px "1e5" is not a decimal'],
      [{ sym: 'A', ticks: [{ ...tick, sz: '+1' }] }, 1, 'INVALID_DECIMAL', 'sz "+1" is not a decimal'],
      [{ sym: 'A', ticks: [{ ...tick, asz: '1.' }] }, 1, 'INVALID_DECIMAL', 'asz "1." is not a decimal'],
      [{ sym: 'A', ticks: [{ ...tick, bid: '1234567890123456789' }] }, 1, 'INVALID_DECIMAL', 'bid "1234567890123456789" is not a decimal'],
      [{ sym: 'A', ticks: [{ ...tick, ask: '0.1234567890123456789' }] }, 1, 'INVALID_DECIMAL', 'ask "0.1234567890123456789" is not a decimal'],
      [{ sym: ' A', ticks: [] }, 1, 'INVALID_SYMBOL', 'invalid symbol " A"'],
    ];
    for (const [batch, sent, code, message] of refusals) {
      expect(() => encodeFrame('bin', batch, sent), message).to.throw(WireEncodeError, message).with.property('code', code);
    }
  });

  it('still encodes correctly after a batch that failed halfway', () => {
    const bad = { sym: 'BTC-USD', ticks: [{ id: '1-0', ts: 1, px: '1.5', sz: '1' }, { id: '1-1', ts: 1, px: 'x', sz: '1' }] };
    expect(() => encodeFrame('bin', bad, SENT)).to.throw(WireEncodeError);
    const good = { sym: 'ETH-USD', ticks: [{ id: '2-0', ts: 2, px: '1.6', sz: '1' }] };
    expect(roundTrip('bin', good)).to.deep.equal(decoded(good));
  });
});
