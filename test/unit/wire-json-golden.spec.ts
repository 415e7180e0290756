/**
 * The JSON data frame pinned character for character from the README ("Server → client data, JSON format"), and the
 * decoder's refusal of anything that is not such a frame, each with its code and the check that caught it.
 */
import { expect } from 'chai';
import { FrameDecodeError } from '../../src/wire/errors';
import { decodeFrame } from '../../src/wire/frame';
import { encodeFrame } from '../../src/wire/frame-encode';
import { decodeJsonTick, encodeJsonFrame } from '../../src/wire/json';

function expectRefused(text: string, message: RegExp): void {
  expect(() => decodeFrame(text), text).to.throw(FrameDecodeError, message).with.property('code', 'BAD_JSON_FRAME');
}

describe('wire: JSON frame text, as the README shows it', () => {
  it('encodes the README example exactly, and decodes it back', () => {
    const text = '{"type":"ticks","sym":"BTC-USD","sent":1795567877725,"prev":"1795567877700-0","ticks":[' +
      '{"id":"1795567877724-0","ts":1795567877723,"px":"31363.67","sz":"0.955","bid":"31363.66","ask":"31363.68","side":"buy"}]}';
    const batch = { sym: 'BTC-USD', prev: '1795567877700-0', ticks: [
      { id: '1795567877724-0', ts: 1795567877723, px: '31363.67', sz: '0.955', bid: '31363.66', ask: '31363.68', side: 'buy' as const }] };
    expect(encodeFrame('json', batch, 1795567877725)).to.equal(text);
    expect(decodeFrame(text)).to.deep.equal({ ...batch, sent: 1795567877725, kind: 'live' });
  });

  it('writes the known fields in order (bid, ask, bsz, asz, side), then the unknown ones escaped, ticks separated by commas', () => {
    const ticks = [
      { id: '1-0', ts: 1, px: '1', sz: '2', bid: '3', ask: '4', bsz: '5', asz: '6', side: 'sell' as const, extra: { venue: 'X"\\\n€', n: '7' } },
      { id: '1-1', ts: 0, px: '-0.5', sz: '2', asz: '6' },
    ];
    const text = '{"type":"ticks","sym":"A","sent":0,"kind":"replay","ticks":[' +
      '{"id":"1-0","ts":1,"px":"1","sz":"2","bid":"3","ask":"4","bsz":"5","asz":"6","side":"sell","venue":"X\\"\\\\\\n€","n":"7"},' +
      '{"id":"1-1","ts":0,"px":"-0.5","sz":"2","asz":"6"}]}';
    expect(encodeFrame('json', { sym: 'A', ticks }, 0, 'replay')).to.equal(text);
    expect(decodeFrame(text)).to.deep.equal({ sym: 'A', sent: 0, kind: 'replay', ticks });
  });

  it('writes no kind when none is given', () => {
    expect(encodeJsonFrame({ sym: 'A', ticks: [] }, 0)).to.equal('{"type":"ticks","sym":"A","sent":0,"ticks":[]}');
  });

  it('accepts kind written out as "live", and sent 0', () => {
    expect(decodeFrame('{"type":"ticks","sym":"A","sent":0,"kind":"live","ticks":[]}')).to.deep.equal({ sym: 'A', sent: 0, kind: 'live', ticks: [] });
  });

  it('leaves out optional fields that are not strings and a side other than buy or sell, and keeps only string extras', () => {
    const raw = { id: '1-0', ts: 0, px: '1', sz: '2', bid: 3, ask: null, bsz: '5', asz: ['6'], side: 'hold', venue: 'X', n: 7 };
    expect(decodeJsonTick(raw)).to.deep.equal({ id: '1-0', ts: 0, px: '1', sz: '2', bsz: '5', extra: { venue: 'X' } });
    expect(decodeJsonTick({ id: '1-0', ts: 0, px: '1', sz: '2', side: 'buy' })).to.deep.equal({ id: '1-0', ts: 0, px: '1', sz: '2', side: 'buy' });
  });

  describe('refuses what is not a ticks frame with BAD_JSON_FRAME', () => {
    const cases: [string, RegExp][] = [
      ['{"type":"ticks","sym":"A","sent":1,"ticks":[]', /not valid JSON/],
      ['null', /not a ticks frame/],
      ['5', /not a ticks frame/],
      ['"ticks"', /not a ticks frame/],
      ['{"type":"tick","sym":"A","sent":1,"ticks":[]}', /not a ticks frame/],
      ['{"sym":"A","sent":1,"ticks":[]}', /not a ticks frame/],
      ['{"type":"ticks","sym":"","sent":1,"ticks":[]}', /not a ticks frame/],
      ['{"type":"ticks","sym":"A","ticks":[]}', /not a ticks frame/],
      ['{"type":"ticks","sym":"A","sent":1}', /not a ticks frame/],
      ['{"type":"ticks","sym":"A","sent":1,"ticks":{}}', /not a ticks frame/],
      ['{"type":"ticks","sym":"A","sent":1,"ticks":"[]"}', /not a ticks frame/],
      ['{"type":"ticks","sym":"A","sent":1,"kind":"Live","ticks":[]}', /unknown frame kind/],
      ['{"type":"ticks","sym":"A","sent":1,"prev":"1-01","ticks":[]}', /prev is not a stream id/],
    ];
    for (const [text, message] of cases) it(`refuses ${text}`, () => expectRefused(text, message));
  });

  describe('refuses a tick that is not one with BAD_JSON_FRAME', () => {
    const frame = (tick: string) => `{"type":"ticks","sym":"A","sent":1,"ticks":[{"id":"1-0","ts":1,"px":"1","sz":"1"},${tick}]}`;
    const cases: [string, RegExp][] = [
      ['null', /tick is not an object/],
      ['5', /tick is not an object/],
      ['"1-0"', /tick is not an object/],
      ['{"ts":1,"px":"1","sz":"1"}', /tick lacks id, ts, px or sz/],
      ['{"id":1,"ts":1,"px":"1","sz":"1"}', /tick lacks id, ts, px or sz/],
      ['{"id":"1-1","ts":"1","px":"1","sz":"1"}', /tick lacks id, ts, px or sz/],
      ['{"id":"1-1","ts":1,"px":1,"sz":"1"}', /tick lacks id, ts, px or sz/],
      ['{"id":"1-1","ts":1,"px":"1"}', /tick lacks id, ts, px or sz/],
      ['{"id":"1-1","ts":-1,"px":"1","sz":"1"}', /tick ts is not an integer/],
    ];
    for (const [tick, message] of cases) it(`refuses the tick ${tick}`, () => expectRefused(frame(tick), message));
  });
});
