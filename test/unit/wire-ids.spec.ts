import { expect } from 'chai';
import { FrameDecodeError } from '../../src/wire/errors';
import { decodeFrame } from '../../src/wire/frame';
import { encodeFrame } from '../../src/wire/frame-encode';
import { compareStreamIds, isStreamIdSyntax, isValidDecimal, isValidStreamId } from '../../src/wire/tick';
import { hex } from './wire-fixtures';

const FF9 = 'ff ff ff ff ff ff ff ff ff';

describe('wire: stream ids over the whole Redis range', () => {
  it('accepts canonical <ms>-<seq> with parts in 0..2^64-1 and nothing else', () => {
    for (const id of ['0-0', '1-0', '1732480000000-5', '9007199254740993-0', '18446744073709551615-18446744073709551615']) {
      expect(isValidStreamId(id), id).to.equal(true);
    }
    for (const id of ['', '1', '1-', '-1', '01-0', '1-00', '1-0-0', ' 1-0', '1-0 ', '+1-0', '1e3-0', '0x1-0', '1.0-0', '１-0',
      '18446744073709551616-0', '0-18446744073709551616', '99999999999999999999-0', '100000000000000000000-0', 5]) {
      expect(isValidStreamId(id), String(id)).to.equal(false);
    }
  });

  it('orders ids as numbers over the whole range, whatever the lengths of their parts, with \'\' before every id', () => {
    const ascending = ['', '0-0', '0-1', '0-9', '0-10', '0-18446744073709551615', '1-0', '9-99', '10-0', '10-2', '10-10',
      '9007199254740993-0', '9007199254740993-1', '18446744073709551615-0', '18446744073709551615-18446744073709551615'];
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) {
        expect(compareStreamIds(ascending[i], ascending[j]), `${ascending[i]} vs ${ascending[j]}`).to.equal(Math.sign(i - j));
      }
    }
  });

  describe('binary golden bytes, written by hand from the layout in src/wire/README.md', () => {
    // sent 0; prev 9007199254740993-18446744073709551615; four ticks, px = sz = "1", ts 0 except where noted.
    const batch = {
      sym: 'A',
      prev: '9007199254740993-18446744073709551615',
      ticks: [
        { id: '9007199254740994-0', ts: 0, px: '1', sz: '1' },
        { id: '9007199254740994-1', ts: 0, px: '1', sz: '1' },
        { id: '0-18446744073709551615', ts: 5, px: '1', sz: '1' },
        { id: '18446744073709551615-0', ts: 0, px: '1', sz: '1' },
      ],
    };
    const golden = hex(`
      01 02                                  // version 1, flags: binary, live
      01 41                                  // symbol "A"
      00                                     // sent 0
      01                                     // prev present
      82 80 80 80 80 80 80 20                // prev ms - sent = 2^53+1: zigzag 2^54+2
      ${FF9} 01                              // prev seq 2^64-1: 64 one bits, 9 x 0xff then 0x01
      04                                     // 4 ticks
      29 82 80 80 80 80 80 80 10             // head: id mode 1, px and sz mode 2; ms += 2^53+2, seq 0
      83 80 80 80 80 80 80 20 00 02 00 02    // ts - ms = -(2^53+2): zigzag 2^54+3; px, sz: scale 0, zigzag(1)
      00 83 80 80 80 80 80 80 20 00 00       // id mode 0 (seq + 1); the same ts delta; px, sz delta 0
      02 83 80 80 80 80 80 80 20 ${FF9} 01   // id mode 2: ms += -(2^53+2), back to 0; seq 2^64-1
      0a 00 00                               // ts - ms = 5; px, sz delta 0
      01 ${FF9} 01                           // id mode 1: ms += 2^64-1, seq 0
      fd ff ff ff ff ff ff ff ff 03 00 00    // ts - ms = -(2^64-1): zigzag 2^65-3, 65 bits in 10 bytes
    `);

    it('encodes ids above 2^53-1, in ticks and in prev, to exactly these bytes', () => {
      expect([...(encodeFrame('bin', batch, 0) as Uint8Array)]).to.deep.equal([...golden]);
    });

    it('decodes these bytes to the exact ids', () => {
      expect(decodeFrame(golden)).to.deep.equal({ ...batch, sent: 0, kind: 'live' });
    });

    it('leaves the bytes of ordinary ids as they were', () => {
      const ordinary = { sym: 'A', prev: '1732480000000-0', ticks: [
        { id: '1732480000001-0', ts: 1732480000001, px: '1', sz: '1' }, { id: '1732480000001-1', ts: 1732480000001, px: '1', sz: '1' }] };
      expect([...(encodeFrame('bin', ordinary, 1732480000002) as Uint8Array)]).to.deep.equal([...hex(`
        01 02 01 41 82 c0 eb fe b5 32          // header, symbol, sent 1732480000002
        01 03 00 02                            // prev: ms - sent = -2, seq 0; 2 ticks
        2a 01 00 00 00 02 00 02                // id mode 2: ms += -1, seq 0; ts - ms = 0; px, sz
        00 00 00 00                            // id mode 0, px and sz mode 0; ts - ms = 0; px, sz delta 0
      `)]);
    });
  });

  describe('binary decoder refuses ids and times outside their range with BAD_VALUE', () => {
    // Header, symbol "A", sent 0, then the rest: prev presence (and prev), tick count, ticks.
    const frame = (rest: string) => hex(`01 02 01 41 00 ${rest}`);
    const cases: [string, string, RegExp][] = [
      ['prev ms above 2^64-1 (zigzag 2^64)', '01 80 80 80 80 80 80 80 80 80 04 00 00', /exceeds 2\^64-1/],
      ['prev seq above 2^64-1', '01 00 80 80 80 80 80 80 80 80 80 02 00', /exceeds 2\^64-1/],
      ['prev ms before 0', '01 01 00 00', /prev id out of range/],
      ['tick ms summing past 2^64-1', `00 02 2a fe ${FF9.slice(3)} 03 00 fd ${FF9.slice(3)} 03 00 02 00 02 29 01`, /id out of range/],
      ['tick ms below 0', '00 01 2a 01 00 00 00 02 00 02', /id out of range/],
      ['tick ms below 0 by more than 2^53 (zigzag 2^61-1)', '00 01 2a ff ff ff ff ff ff ff ff 1f 00 00 00 02 00 02', /id out of range/],
      ['tick seq above 2^64-1', '00 01 2a 00 80 80 80 80 80 80 80 80 80 02 00 00 02 00 02', /exceeds 2\^64-1/],
      ['a varint longer than 10 bytes', '00 01 29 80 80 80 80 80 80 80 80 80 80 00 00 00 02 00 02', /longer than 10 bytes/],
      ['ts above 2^53-1', '00 01 29 01 80 80 80 80 80 80 80 20 00 02 00 02', /ts out of range/],
      ['ts below 0', '00 01 29 01 03 00 02 00 02', /ts out of range/],
    ];
    for (const [what, rest, message] of cases) {
      it(`rejects ${what}`, () => {
        expect(() => decodeFrame(frame(rest))).to.throw(FrameDecodeError, message).with.property('code', 'BAD_VALUE');
      });
    }
  });
});

describe('wire: value predicates', () => {
  it('refuse values that are not strings, even when their string form is valid', () => {
    // A JSON request or a decoded field can hold an array or a number; RegExp.test would stringify it and accept.
    for (const v of [['1-2'], 12, { toString: () => '1-2' }]) expect(isStreamIdSyntax(v), String(v)).to.equal(false);
    for (const v of [['1.5'], 1.5, 7]) expect(isValidDecimal(v), String(v)).to.equal(false);
    expect(isStreamIdSyntax('1-2')).to.equal(true);
    expect(isValidDecimal('1.5')).to.equal(true);
  });
});
