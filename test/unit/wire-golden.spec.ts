/**
 * The binary batch pinned byte for byte: every vector below was written by hand from src/wire/README.md
 * ("Frame header", "Binary batch"), varints and zigzag computed by hand, never by the project's encoder. Each is checked in both
 * directions: the encoder produces exactly these bytes, and the decoder turns them into exactly these ticks.
 * Ids above 2^53 are pinned in wire-ids.spec.ts; the header flags, LZ4 and the decoder's refusals in
 * wire-golden-frame.spec.ts.
 */
import { expect } from 'chai';
import { encodeBinaryBatch } from '../../src/wire/binary';
import { ByteWriter } from '../../src/wire/bytes';
import { decodeFrame } from '../../src/wire/frame';
import { encodeFrame } from '../../src/wire/frame-encode';
import { FrameKind, Tick, TickBatch } from '../../src/wire/tick';
import { hex, zigzagVarint } from './wire-fixtures';

interface Golden {
  batch: TickBatch;
  sent: number;
  kind: FrameKind;
  bytes: Uint8Array;
}

/** Both directions of one vector, as two behaviours. */
function pinBothWays(what: string, g: Golden): void {
  it(`encodes ${what} to exactly the golden bytes`, () => {
    expect([...(encodeFrame('bin', g.batch, g.sent, g.kind) as Uint8Array)]).to.deep.equal([...g.bytes]);
  });
  it(`decodes the golden bytes of ${what} to exactly those ticks`, () => {
    const { prev, ...rest } = g.batch;
    expect(decodeFrame(g.bytes)).to.deep.equal(prev ? { ...rest, prev, sent: g.sent, kind: g.kind } : { ...rest, sent: g.sent, kind: g.kind });
  });
}

// Trades only (shape 0): every id mode, every decimal mode in px and sz (never the same pair twice in a row, so
// the two mode fields of the head cannot be confused), literals, ts before and after the id, `prev` present.
const trades: Tick[] = [
  { id: '1000-1', ts: 999, px: '100.0', sz: '100' },
  { id: '1000-2', ts: 1000, px: '100.1', sz: '1' },
  { id: '1003-0', ts: 1010, px: '0.1', sz: '2' },
  { id: '990-7', ts: 900, px: '007.5', sz: '-0.00' },
  { id: '990-9', ts: 990, px: '9007199254740992', sz: '0.005' },
  { id: '995-0', ts: 1000, px: '-0.5', sz: '0.006' },
  { id: '1000-5', ts: 1000, px: '-0.4', sz: '0.06' },
];
const tradeBytes = hex(`
  01 02                       // version 1; flags: binary, live
  02 41 42                    // symbol "AB"
  e8 07                       // sent 1000 = 7·128 + 104
  01 03 03                    // prev present; prev ms − sent = −2: zigzag 3; prev seq 3
  07                          // 7 ticks; previous id (sent, 0) = (1000, 0)
  28                          // head: id mode 0, px mode 2, sz mode 2, shape 0
  01                          //   id (1000, 0+1); ts − ms = −1: zigzag 1
  01 d0 0f                    //   px "100.0": scale 1, zigzag(1000) = 2000 = 15·128 + 80
  00 c8 01                    //   sz "100": scale 0, zigzag(100) = 200 = 1·128 + 72
  10                          // head: id mode 0, px mode 0, sz mode 1
  00                          //   id (1000, 2); ts − ms = 0
  02                          //   px "100.1": delta +1 (1 byte, absolute 2002 takes 2)
  02                          //   sz "1": absolute 1 (1 byte, delta −99 takes 2); scale stays 0
  05                          // head: id mode 1, px mode 1, sz mode 0
  03 0e                       //   ms += 3, seq 0: (1003, 0); ts − ms = +7: zigzag 14
  02                          //   px "0.1": absolute 1 (delta −1000 takes 2 bytes); scale stays 1
  02                          //   sz "2": delta +1 (as short as absolute, so delta)
  3e                          // head: id mode 2, px mode 3, sz mode 3
  19 07                       //   ms += −13: zigzag 25; seq 7: (990, 7)
  b3 01                       //   ts − ms = −90: zigzag 179 = 1·128 + 51
  05 30 30 37 2e 35           //   px literal "007.5" (leading zero)
  05 2d 30 2e 30 30           //   sz literal "-0.00" (negative zero)
  2e                          // head: id mode 2 (seq not +1), px mode 3, sz mode 2
  00 09 00                    //   ms += 0, seq 9: (990, 9); ts − ms = 0
  10 39 30 30 37 31 39 39 32 35 34 37 34 30 39 39 32 // px literal "9007199254740992" (mantissa 2^53)
  03 0a                       //   sz "0.005": no previous value after a literal, so scale 3, zigzag(5)
  09                          // head: id mode 1, px mode 2, sz mode 0
  05 0a                       //   ms += 5: (995, 0); ts − ms = +5: zigzag 10
  01 09                       //   px "-0.5": no previous value after a literal: scale 1, zigzag(−5) = 9
  02                          //   sz "0.006": delta +1
  22                          // head: id mode 2, px mode 0, sz mode 2
  0a 05 00                    //   ms += +5: zigzag 10, seq 5: (1000, 5); ts − ms = 0
  02                          //   px "-0.4": delta +1 (−5 → −4)
  02 0c                       //   sz "0.06": the scale changed (3 → 2): scale 2, zigzag(6)
`);

// Quotes: shape 1 with each opt bit and the modes byte, shape 2, shape 0 in between, side buy and sell, a side
// without decimals (no modes byte), and a field's previous value carried over ticks that lack it.
const quotes: Tick[] = [
  { id: '101-0', ts: 101, px: '5', sz: '1', bid: '4', ask: '6', side: 'buy' },
  { id: '101-1', ts: 101, px: '6', sz: '1', bid: '5', ask: '7', side: 'buy' },
  { id: '101-2', ts: 102, px: '6', sz: '2', bid: '5', ask: '7', side: 'buy' },
  { id: '102-0', ts: 102, px: '6', sz: '2', bsz: '10.0', asz: '0.25', side: 'sell' },
  { id: '102-1', ts: 100, px: '6.0', sz: '2' },
  { id: '102-2', ts: 102, px: '6.1', sz: '3', side: 'sell' },
  { id: '102-3', ts: 102, px: '6.1', sz: '3', side: 'sell' },
  { id: '103-0', ts: 104, px: '6.1', sz: '3', bid: '5', ask: '07', bsz: '0.1', asz: '0.26' },
];
const quoteBytes = hex(`
  01 06                       // version 1; flags: binary, kind 1 (replay) in bits 2-3
  01 51 64 00 08              // symbol "Q"; sent 100; no prev; 8 ticks
  69                          // head: id mode 1, px mode 2, sz mode 2, shape 1
  01                          //   ms += 1: (101, 0)
  13 0a                       //   opt: bid, ask, side (buy); modes: bid 2, ask 2
  00 00 0a 00 02              //   ts − ms = 0; px "5": scale 0, zigzag 10; sz "1": scale 0, zigzag 2
  00 08 00 0c                 //   bid "4": scale 0, zigzag 8; ask "6": scale 0, zigzag 12
  40                          // head: id mode 0, px 0, sz 0, shape 1 (the modes changed)
  13 00                       //   opt: bid, ask, side (buy); modes: bid 0, ask 0
  00 02 00 02 02              //   ts − ms = 0; px +1; sz +0; bid +1; ask +1
  80                          // head: id mode 0, shape 2 (opt and modes as before)
  02 00 02 00 00              //   ts − ms = +1; px +0; sz +1; bid +0; ask +0
  41                          // head: id mode 1, px 0, sz 0, shape 1
  01 3c a0                    //   ms += 1: (102, 0); opt: bsz, asz, side sell; modes: bsz 2, asz 2
  00 00 00                    //   ts − ms = 0; px +0; sz +0
  01 c8 01 02 32              //   bsz "10.0": scale 1, zigzag 200; asz "0.25": scale 2, zigzag 50
  08                          // head: id mode 0, px mode 2, sz mode 0, shape 0
  03 01 78 00                 //   ts − ms = −2: zigzag 3; px "6.0": scale 1, zigzag 120; sz +0
  40 30                       // head: id mode 0, shape 1; opt: side sell only, so no modes byte
  00 02 02                    //   ts − ms = 0; px +1; sz +1
  80 00 00 00                 // head: id mode 0, shape 2; ts − ms = 0; px +0; sz +0
  41                          // head: id mode 1, shape 1
  01 0f 1c                    //   ms += 1: (103, 0); opt: bid, ask, bsz, asz, no side; modes: 0, 3, 1, 0
  02 00 00                    //   ts − ms = +1; px +0; sz +0
  00                          //   bid "5": delta 0 from the last tick that carried bid
  02 30 37                    //   ask literal "07"
  02                          //   bsz "0.1": absolute 1 (delta −99 takes 2 bytes)
  02                          //   asz "0.26": delta +1
`);

describe('wire: binary batch golden bytes, written by hand from src/wire/README.md', () => {
  describe('trades: id modes, decimal modes, literals, ts around the id, prev present', () => {
    pinBothWays('seven trade ticks', { batch: { sym: 'AB', prev: '998-3', ticks: trades }, sent: 1000, kind: 'live', bytes: tradeBytes });
  });

  describe('quotes: tick shapes, the opt and modes bytes, side, prev absent', () => {
    pinBothWays('eight quote ticks', { batch: { sym: 'Q', ticks: quotes }, sent: 100, kind: 'replay', bytes: quoteBytes });
  });

  describe('a conflated frame, the longest literal, an empty batch', () => {
    pinBothWays('a conflated tick before sent, prev present', {
      batch: { sym: 'Z', prev: '250-4', ticks: [{ id: '290-0', ts: 290, px: '1', sz: '1' }] },
      sent: 300,
      kind: 'conflated',
      bytes: hex(`
        01 0a                 // version 1; flags: binary, kind 2 (conflated)
        01 5a ac 02           // symbol "Z"; sent 300 = 2·128 + 44
        01 63 04              // prev present; prev ms − sent = −50: zigzag 99; seq 4
        01                    // 1 tick
        2a 13 00              // head: id mode 2, px 2, sz 2; ms += −10: zigzag 19; seq 0
        00 00 02 00 02        // ts − ms = 0; px "1", sz "1": scale 0, zigzag 2
      `),
    });
    pinBothWays('the longest literal, 18 + 18 digits and a sign', {
      batch: { sym: 'Z', ticks: [{ id: '0-1', ts: 0, px: '-123456789012345678.123456789012345678', sz: '1' }] },
      sent: 0,
      kind: 'live',
      bytes: hex(`
        01 02 01 5a 00 00 01  // header; "Z"; sent 0; no prev; 1 tick
        2c 00                 // head: id mode 0 (0-1), px mode 3, sz mode 2; ts − ms = 0
        26 2d 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38 // px literal, 38 characters: "-123456789012345678
        2e 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38    //   .123456789012345678"
        00 02                 // sz "1": scale 0, zigzag 2
      `),
    });
    pinBothWays('a batch with no tick and no prev', {
      batch: { sym: 'Z', ticks: [] },
      sent: 300,
      kind: 'live',
      bytes: hex('01 02 01 5a ac 02 00 00'), // header; "Z"; sent 300; no prev; 0 ticks
    });
  });

  describe('shape after a tick without optional fields, the id (sent, 0), values at 2^53-1 next to ids above it', () => {
    pinBothWays('a repeated opt and modes after a tick without optional fields, sent again as shape 1', {
      batch: { sym: 'A', ticks: [
        { id: '0-1', ts: 0, px: '1', sz: '1', bid: '1' },
        { id: '0-2', ts: 0, px: '1', sz: '1', bid: '1' },
        { id: '0-3', ts: 0, px: '1', sz: '1' },
        { id: '0-4', ts: 0, px: '1', sz: '1', bid: '1' },
      ] },
      sent: 0,
      kind: 'live',
      bytes: hex(`
        01 02 01 41 00 00 04  // header; "A"; sent 0; no prev; 4 ticks
        68 01 02              // head: id mode 0, px 2, sz 2, shape 1; opt: bid; modes: bid 2
        00 00 02 00 02 00 02  //   ts − ms = 0; px, sz, bid "1": scale 0, zigzag 2
        40 01 00              // head: id mode 0, all deltas, shape 1 (the modes changed); opt: bid; modes: bid 0
        00 00 00 00           //   ts − ms = 0; px, sz, bid +0
        00 00 00 00           // head: shape 0; ts − ms = 0; px, sz +0
        40 01 00              // head: shape 1 again, since the previous tick had no optional field; opt, modes as two ticks before
        00 00 00 00           //   ts − ms = 0; px, sz, bid +0 (bid's previous value is the second tick's)
      `),
    });
    pinBothWays('a first tick whose id is (sent, 0): id mode 2, ms += 0, seq 0', {
      batch: { sym: 'A', ticks: [{ id: '5-0', ts: 5, px: '1', sz: '1' }] },
      sent: 5,
      kind: 'live',
      bytes: hex('01 02 01 41 05 00 01  2a 00 00  00 00 02 00 02'), // head: id mode 2, px 2, sz 2; ms += 0; seq 0; ts; px; sz
    });
    pinBothWays('a seq one above the previous one in the next ms: id mode 2, not 0', {
      batch: { sym: 'A', ticks: [{ id: '5-0', ts: 5, px: '1', sz: '1' }, { id: '6-1', ts: 6, px: '1', sz: '1' }] },
      sent: 0,
      kind: 'live',
      bytes: hex(`
        01 02 01 41 00 00 02        // header; "A"; sent 0; no prev; 2 ticks
        29 05 00 00 02 00 02        // head: id mode 1, px 2, sz 2; ms += 5; ts − ms = 0; px, sz "1"
        02 02 01 00 00 00           // head: id mode 2, px 0, sz 0; ms += 1: zigzag 2; seq 1; ts − ms = 0; px, sz +0
      `),
    });
    pinBothWays('a ts of 2^53-1 one below its id\'s ms of 2^53', {
      batch: { sym: 'A', ticks: [{ id: '9007199254740992-0', ts: Number.MAX_SAFE_INTEGER, px: '1', sz: '1' }] },
      sent: 0,
      kind: 'live',
      bytes: hex(`
        01 02 01 41 00 00 01        // header; "A"; sent 0; no prev; 1 tick
        29 80 80 80 80 80 80 80 10  // head: id mode 1, px 2, sz 2; ms += 2^53 (seven 0x80, then 2^4)
        01 00 02 00 02              // ts − ms = −1: zigzag 1; px, sz "1"
      `),
    });
    pinBothWays('sent 2^53-1 with a prev of 2^53+1, two ms after it', {
      batch: { sym: 'A', prev: '9007199254740993-0', ticks: [] },
      sent: Number.MAX_SAFE_INTEGER,
      kind: 'live',
      bytes: hex('01 02 01 41  ff ff ff ff ff ff ff 0f  01 04 00  00'), // sent: 53 one bits; prev ms − sent = +2: zigzag 4; seq 0; 0 ticks
    });
  });

  it('writes the same bytes into a writer that starts at one byte and must grow for every part', () => {
    for (const [batch, sent, golden] of [[{ sym: 'AB', prev: '998-3', ticks: trades }, 1000, tradeBytes], [{ sym: 'Q', ticks: quotes }, 100, quoteBytes]] as const) {
      const w = new ByteWriter(1);
      encodeBinaryBatch(w, batch, sent);
      expect([...w.buf.subarray(0, w.pos)]).to.deep.equal([...golden.subarray(2)]);
    }
    const w = new ByteWriter(1);
    encodeBinaryBatch(w, { sym: 'A', prev: '18446744073709551615-18446744073709551615', ticks: [] }, Number.MAX_SAFE_INTEGER);
    expect([...w.buf.subarray(0, w.pos)]).to.deep.equal([...hex(`
      01 41 ff ff ff ff ff ff ff 0f     // "A"; sent 2^53-1
      01 80 80 80 80 80 80 80 e0 ff 03  // prev ms − sent = 2^64-2^53: zigzag 2^65-2^54, bits 54-64: 7 × 0x80, e0, ff, 03
      ff ff ff ff ff ff ff ff ff 01 00  // prev seq 2^64-1; 0 ticks
    `)]);
  });

  it('writes the frame kind in header flag bits 2-3 only: live 0x02, replay 0x06, conflated 0x0a', () => {
    const batch = { sym: 'AB', prev: '998-3', ticks: trades };
    for (const [kind, flags] of [['live', 0x02], ['replay', 0x06], ['conflated', 0x0a]] as const) {
      const expected = Uint8Array.from(tradeBytes);
      expected[1] = flags;
      expect([...(encodeFrame('bin', batch, 1000, kind) as Uint8Array)], kind).to.deep.equal([...expected]);
      expect(decodeFrame(expected), kind).to.deep.equal({ ...batch, sent: 1000, kind });
    }
  });

  describe('delta or absolute: delta exactly when its varint is no longer than the absolute one', () => {
    // Around every varint length: |zigzag| of 2^(7n-1) - 1 and -2^(7n-1) take n bytes, one further takes n + 1.
    const edges: bigint[] = [];
    for (let n = 1n; n <= 8n; n++) {
      const b = 2n ** (7n * n - 1n);
      edges.push(b - 1n, b, -b, -b - 1n);
    }
    const safe = (v: bigint) => v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n;
    const pairs: [bigint, bigint][] = []; // (previous px, px), both safe: the delta and the value sit on the edges
    for (const px of [0n, 1n, -1n, ...edges]) {
      for (const delta of edges) if (safe(px) && safe(px - delta)) pairs.push([px - delta, px]);
    }
    const max = 2n ** 53n - 1n;
    pairs.push([-max, max], [max, -max], [-1n, max], [1n, -max]); // deltas beyond 2^53-1 (the first two): absolute

    it(`writes px mode 0 (delta) or 1 (absolute) and exactly its varint, for ${pairs.length} pairs of values`, () => {
      for (const [before, px] of pairs) {
        const delta = zigzagVarint(px - before);
        const absolute = zigzagVarint(px);
        const useDelta = safe(px - before) && delta.length <= absolute.length;
        const expected = [
          0x01, 0x02, 0x01, 0x41, 0x00, 0x00, 0x02, // header; "A"; sent 0; no prev; 2 ticks
          0x28, 0x00, 0x00, ...zigzagVarint(before), 0x00, 0x02, // id 0-1 (mode 0); ts 0; px scale 0; sz "1" scale 0
          useDelta ? 0x00 : 0x04, 0x00, ...(useDelta ? delta : absolute), 0x00, // id 0-2; ts 0; px; sz delta 0
        ];
        const batch = { sym: 'A', ticks: [{ id: '0-1', ts: 0, px: String(before), sz: '1' }, { id: '0-2', ts: 0, px: String(px), sz: '1' }] };
        const frame = encodeFrame('bin', batch, 0) as Uint8Array;
        expect([...frame], `${before} then ${px}`).to.deep.equal(expected);
        expect(decodeFrame(frame).ticks, `${before} then ${px}`).to.deep.equal(batch.ticks);
      }
    });
  });
});
