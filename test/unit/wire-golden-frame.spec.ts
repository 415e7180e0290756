/**
 * The frame header pinned byte for byte from src/wire/README.md ("Frame header", "Decoder errors"): the LZ4 flag
 * and its u32 length, `json+lz4` payloads, and the exact error code of every reserved value the wire spec names.
 * The tick layout itself is pinned in wire-golden.spec.ts.
 */
import { expect } from 'chai';
import { compressSync, uncompressSync } from 'lz4-napi';
import { FrameDecodeError } from '../../src/wire/errors';
import { decodeFrame } from '../../src/wire/frame';
import { encodeFrame } from '../../src/wire/frame-encode';
import { Tick } from '../../src/wire/tick';
import { hex, seededRandom } from './wire-fixtures';

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const utf8 = (s: string) => new TextEncoder().encode(s);
/** The header's u32 little-endian length, from the wire spec's definition. */
const u32le = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);

// 200 ticks of one ms (id mode 0), ts = ms, px = sz = "1" (unchanged: delta 0): a payload LZ4 shrinks.
const longTicks: Tick[] = Array.from({ length: 200 }, (_, i) => ({ id: `1000-${i + 1}`, ts: 1000, px: '1', sz: '1' }));
const longBatch = { sym: 'L', ticks: longTicks };
const longPayload = hex(`
  01 4c e8 07 00 c8 01        // symbol "L"; sent 1000; no prev; 200 ticks = 1·128 + 72
  28 00 00 02 00 02           // head: id mode 0, px 2, sz 2; ts − ms = 0; px "1", sz "1": scale 0, zigzag 2
  ${'00 00 00 00 '.repeat(199)} // 199 × head (all modes 0), ts − ms = 0, px +0, sz +0
`);
const LONG_PAYLOAD_LENGTH = hex('29 03 00 00'); // 7 + 6 + 199·4 = 809 = 0x329, little-endian

describe('wire: frame header golden bytes, written by hand from src/wire/README.md', () => {
  it('sends a binary payload of at least 512 bytes as version 1, flags LZ4 + binary + kind, its u32 length, one LZ4 block', () => {
    expect(longPayload.length).to.equal(809);
    for (const [kind, flags] of [['live', 0x03], ['replay', 0x07], ['conflated', 0x0b]] as const) {
      const frame = encodeFrame('bin+lz4', longBatch, 1000, kind) as Uint8Array;
      expect([...frame.subarray(0, 6)], kind).to.deep.equal([0x01, flags, ...LONG_PAYLOAD_LENGTH]);
      // Bytes 2.. are exactly lz4-napi's compressSync output (src/wire/README.md); only the block is not written by hand.
      expect([...frame.subarray(2)], kind).to.deep.equal([...compressSync(Buffer.from(longPayload))]);
    }
  });

  it('decodes an LZ4 frame whose block was written by hand (one literal run, no match)', () => {
    // Token 0xf0: 15+ literals, no match; 809 − 15 = 794 = 255 + 255 + 255 + 29 more; then the 809 bytes themselves.
    const frame = concat(hex('01 07'), LONG_PAYLOAD_LENGTH, hex('f0 ff ff ff 1d'), longPayload);
    expect(decodeFrame(frame)).to.deep.equal({ ...longBatch, sent: 1000, kind: 'replay' });
  });

  it('compresses a binary payload from 512 bytes on, and sends one of 508 bytes uncompressed however well it would shrink', () => {
    const below = hex(`
      01 02 01 4c e8 07 00 7d     // flags: binary, LZ4 bit clear; "L"; sent 1000; no prev; 125 ticks
      28 00 00 02 00 02 ${'00 00 00 00 '.repeat(124)} // the ticks as above: 6 + 6 + 124·4 = 508 payload bytes
    `);
    expect([...(encodeFrame('bin+lz4', { sym: 'L', ticks: longTicks.slice(0, 125) }, 1000) as Uint8Array)]).to.deep.equal([...below]);
    const at = encodeFrame('bin+lz4', { sym: 'L', ticks: longTicks.slice(0, 126) }, 1000) as Uint8Array;
    expect([...at.subarray(0, 6)]).to.deep.equal([...hex('01 03 00 02 00 00')]); // LZ4 + binary; 6 + 6 + 125·4 = 512 = 0x200
  });

  describe('json+lz4: the header, then byte for byte the json text frame', () => {
    const batch = { sym: 'Z', prev: '250-4', ticks: [{ id: '290-0', ts: 290, px: '1', sz: '1' }] };
    const liveJson = '{"type":"ticks","sym":"Z","sent":300,"prev":"250-4","ticks":[{"id":"290-0","ts":290,"px":"1","sz":"1"}]}';
    const conflatedJson = '{"type":"ticks","sym":"Z","sent":300,"prev":"250-4","kind":"conflated","ticks":[{"id":"290-0","ts":290,"px":"1","sz":"1"}]}';

    it('sends a payload below 256 bytes uncompressed: flags hold only the kind (binary bit clear)', () => {
      for (const [kind, flags, json] of [['live', 0x00, liveJson], ['conflated', 0x08, conflatedJson]] as const) {
        const bytes = concat(Uint8Array.of(0x01, flags), utf8(json));
        expect(encodeFrame('json', batch, 300, kind), kind).to.equal(json);
        expect([...(encodeFrame('json+lz4', batch, 300, kind) as Uint8Array)], kind).to.deep.equal([...bytes]);
        expect(decodeFrame(bytes), kind).to.deep.equal({ ...batch, sent: 300, kind });
      }
    });

    it('compresses a longer payload: flags LZ4 + kind, the u32 length of the JSON text, an LZ4 block of it', () => {
      const ticks = longTicks.map((t) => `{"id":"${t.id}","ts":1000,"px":"1","sz":"1"}`).join(',');
      const json = utf8(`{"type":"ticks","sym":"L","sent":1000,"kind":"replay","ticks":[${ticks}]}`);
      const frame = encodeFrame('json+lz4', longBatch, 1000, 'replay') as Uint8Array;
      expect([...frame.subarray(0, 6)]).to.deep.equal([0x01, 0x05, ...u32le(json.length)]);
      expect([...frame.subarray(2)]).to.deep.equal([...compressSync(Buffer.from(json))]);
      const literalBlock = concat(Uint8Array.of(0xf0), new Uint8Array(Math.floor((json.length - 15) / 255)).fill(0xff),
        Uint8Array.of((json.length - 15) % 255), json);
      expect(decodeFrame(concat(hex('01 05'), u32le(json.length), literalBlock))).to.deep.equal({ ...longBatch, sent: 1000, kind: 'replay' });
    });

    it('compresses a JSON payload from 256 bytes on, and sends one of 255 bytes uncompressed', () => {
      const ticks = longTicks.slice(0, 4).map((t) => `{"id":"${t.id}","ts":1000,"px":"1","sz":"1"}`).join(',');
      const below = `{"type":"ticks","sym":"ABCDEFGHIJKLMNOPQ","sent":1000,"prev":"999-0","ticks":[${ticks}]}`;
      expect(below.length).to.equal(255);
      const shorter = { sym: 'ABCDEFGHIJKLMNOPQ', prev: '999-0', ticks: longTicks.slice(0, 4) };
      expect([...(encodeFrame('json+lz4', shorter, 1000) as Uint8Array)]).to.deep.equal([0x01, 0x00, ...utf8(below)]);
      const at = encodeFrame('json+lz4', { ...shorter, sym: 'ABCDEFGHIJKLMNOPQR' }, 1000) as Uint8Array;
      expect([...at.subarray(0, 6)]).to.deep.equal([...hex('01 01 00 01 00 00')]); // LZ4, JSON, live; one symbol letter more: 256
    });

    it('sends a payload uncompressed when LZ4 would not make it smaller, even at equal length', () => {
      const rnd = seededRandom(1);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
      const note = Array.from({ length: 521 }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
      const batch = { sym: 'A', ticks: [{ id: '1-0', ts: 0, px: '1', sz: '2', extra: { note } }] };
      const json = `{"type":"ticks","sym":"A","sent":0,"ticks":[{"id":"1-0","ts":0,"px":"1","sz":"2","note":"${note}"}]}`;
      expect(compressSync(Buffer.from(json)).length, 'LZ4 output as long as the payload').to.equal(json.length);
      expect([...(encodeFrame('json+lz4', batch, 0) as Uint8Array)]).to.deep.equal([0x01, 0x00, ...utf8(json)]);
    });

    it('carries a JSON text of a megabyte whole, with characters of up to 3 UTF-8 bytes', () => {
      const ticks = Array.from({ length: 20_000 }, (_, i) => ({ id: `1000-${i}`, ts: 1000, px: '1', sz: '1', extra: { v: '€'.repeat(i % 7) } }));
      const json = encodeFrame('json', { sym: 'A', ticks }, 1000) as string;
      expect(json.length).to.be.above(1_000_000);
      const frame = encodeFrame('json+lz4', { sym: 'A', ticks }, 1000) as Uint8Array;
      expect(frame[1]).to.equal(0x01);
      expect(uncompressSync(Buffer.from(frame.subarray(2))).toString('utf8') === json).to.equal(true);
    });

    it('rejects a header kind that disagrees with the JSON with BAD_VALUE', () => {
      expect(() => decodeFrame(concat(hex('01 04'), utf8(liveJson)))).to.throw(FrameDecodeError, 'header says replay, JSON payload says live')
        .with.property('code', 'BAD_VALUE');
      expect(() => decodeFrame(concat(hex('01 00'), utf8(conflatedJson)))).to.throw(FrameDecodeError, 'header says live, JSON payload says conflated')
        .with.property('code', 'BAD_VALUE');
    });
  });
});

describe('wire: the decoder refuses what src/wire/README.md reserves, with its exact code', () => {
  // Header "01 02", symbol "A", sent 0; then prev presence, tick count, ticks. Previous id before the first tick: (0, 0).
  const frame = (rest: string) => hex(`01 02 01 41 00 ${rest}`);
  const oneTick = '00 01 28 00 00 02 00 02'; // no prev; 1 tick: id mode 0 (0-1), ts 0, px "1" and sz "1" with scale
  const withOpt = (opt: string, modes: string) => frame(`00 01 68 ${opt} ${modes} 00 00 02 00 02 00 02`); // shape 1, bid "1"

  it('accepts the valid frames the cases below break one byte of', () => {
    const tick = { id: '0-1', ts: 0, px: '1', sz: '1' };
    expect(decodeFrame(frame(oneTick))).to.deep.equal({ sym: 'A', sent: 0, kind: 'live', ticks: [tick] });
    expect(decodeFrame(withOpt('01', '02'))).to.deep.equal({ sym: 'A', sent: 0, kind: 'live', ticks: [{ ...tick, bid: '1' }] });
    expect(decodeFrame(frame('00 01 28 00 12 02 00 02')).ticks[0].px).to.equal('0.000000000000000001'); // scale 18
    expect(decodeFrame(frame('01 00 00 01 28 00 00 02 00 02')).prev).to.equal('0-0');
  });

  // Each case also names the check that caught it (the message), since several checks share a code.
  const cases: [string, Uint8Array, string, RegExp][] = [
    ['an empty binary frame', hex(''), 'TRUNCATED', /frame shorter than its header/],
    ['a binary frame of one byte', hex('01'), 'TRUNCATED', /frame shorter than its header/],
    ['a binary batch frame of its header only', hex('01 02'), 'TRUNCATED', /frame ends in the middle of a value/],
    ['a JSON frame of its header only', hex('01 00'), 'BAD_JSON_FRAME', /data frame is not valid JSON/],
    ['an LZ4 frame with three bytes of its length', hex('01 01 00 00 00'), 'TRUNCATED', /LZ4 frame without its length/],
    ['an LZ4 JSON frame of length 0 and an empty block', hex('01 01 00 00 00 00'), 'BAD_JSON_FRAME', /data frame is not valid JSON/],
    ['a JSON payload that is not UTF-8', hex('01 00 7b ff 7d'), 'BAD_JSON_FRAME', /JSON payload is not UTF-8/],
    ['version 0', hex('00 02 01 41 00 00 00'), 'BAD_VERSION', /unsupported frame version 0/],
    ['version 2', hex('02 02 01 41 00 00 00'), 'BAD_VERSION', /unsupported frame version 2/],
    ['frame kind 3 (binary)', hex('01 0e 01 41 00 00 00'), 'BAD_FLAGS', /reserved frame kind 3/],
    ['frame kind 3 (JSON)', concat(hex('01 0c'), utf8('{"type":"ticks","sym":"A","sent":0,"ticks":[]}')), 'BAD_FLAGS', /reserved frame kind 3/],
    ...[0x10, 0x20, 0x40, 0x80].map((bit): [string, Uint8Array, string, RegExp] =>
      [`reserved flag bit 0x${bit.toString(16)}`, hex(`01 ${(0x02 | bit).toString(16)} 01 41 00 00 00`), 'BAD_FLAGS', new RegExp(`unknown flags 0x${(0x02 | bit).toString(16)}`)]),
    ['an empty symbol', hex('01 02 00 00 00 00'), 'BAD_VALUE', /invalid symbol/],
    ['a symbol starting with a space', hex('01 02 02 20 41 00 00 00'), 'BAD_VALUE', /invalid symbol/],
    ['a prev presence byte 2', frame('02 00 00 01 28 00 00 02 00 02'), 'BAD_VALUE', /invalid prev presence byte/],
    ['id mode 3', frame('00 01 2b 00 00 02 00 02'), 'BAD_VALUE', /reserved id mode/],
    ['shape 3', frame('00 01 e8 00 00 02 00 02'), 'BAD_VALUE', /invalid tick shape/],
    ['shape 3 after a tick with optional fields', frame('00 02 68 01 02 00 00 02 00 02 00 02 c0 00 00 00 00'), 'BAD_VALUE', /invalid tick shape/],
    ['shape 2 on the first tick', frame('00 01 a8 00 00 02 00 02'), 'BAD_VALUE', /invalid tick shape/],
    ['shape 2 after a tick without optional fields', frame('00 02 28 00 00 02 00 02 80 00 00 00'), 'BAD_VALUE', /invalid tick shape/],
    ['opt reserved bit 6', withOpt('41', '02'), 'BAD_VALUE', /invalid optional-field byte/],
    ['opt reserved bit 7', withOpt('81', '02'), 'BAD_VALUE', /invalid optional-field byte/],
    ['opt "sell" without "side present"', withOpt('21', '02'), 'BAD_VALUE', /invalid optional-field byte/],
    ['shape 1 with an empty opt byte', frame('00 01 68 00 00 00 02 00 02'), 'BAD_VALUE', /invalid optional-field byte/],
    ['a bid mode with bid absent', withOpt('02', '0b'), 'BAD_VALUE', /mode set for an absent field/],
    ['an ask mode with ask absent', withOpt('01', '06'), 'BAD_VALUE', /mode set for an absent field/],
    ['a bsz mode with bsz absent', withOpt('01', '12'), 'BAD_VALUE', /mode set for an absent field/],
    ['an asz mode with asz absent', withOpt('01', 'c2'), 'BAD_VALUE', /mode set for an absent field/],
    ['decimal scale 19', frame('00 01 28 00 13 02 00 02'), 'BAD_VALUE', /decimal scale 19 above 18/],
    ['a px delta with no previous px', frame('00 01 20 00 02 00 02'), 'BAD_VALUE', /refers to a previous value that does not exist/],
    ['an sz absolute with no previous sz', frame('00 01 18 00 00 02 02'), 'BAD_VALUE', /refers to a previous value that does not exist/],
    ['a px absolute right after a px literal', frame('00 02 2c 00 01 31 00 02 04 00 02 00'), 'BAD_VALUE', /refers to a previous value that does not exist/],
    // px 2^53-1 (scale 0, zigzag 2^54-2), then px delta +1
    ['a px delta past 2^53-1', frame('00 02 28 00 00 fe ff ff ff ff ff ff 1f 00 02 00 00 02 00'), 'BAD_VALUE', /decimal mantissa exceeds 2\^53-1/],
    ['a literal that is not a decimal', frame('00 01 2c 00 03 31 65 35 00 02'), 'BAD_VALUE', /literal is not a decimal/],
    ['a byte after the last tick', frame(`${oneTick} 00`), 'BAD_VALUE', /bytes after the last tick/],
    ['a frame ending inside a tick', frame(oneTick).subarray(0, -1), 'TRUNCATED', /frame ends in the middle of a value/],
    // Four bytes a tick is the least the count check lets through: the tick itself is cut short.
    ['one tick in four bytes', frame('00 01 28 00 00 02'), 'TRUNCATED', /frame ends in the middle of a value/],
    ['more ticks than the frame could hold', frame('00 02 28 00 00 02 00 02'), 'TRUNCATED', /2 ticks cannot fit in the frame/],
  ];
  for (const [what, bytes, code, message] of cases) {
    it(`rejects ${what} with ${code}`, () => {
      expect(() => decodeFrame(bytes)).to.throw(FrameDecodeError, message).with.property('code', code);
    });
  }
});
