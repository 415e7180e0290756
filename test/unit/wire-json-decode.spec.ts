import { expect } from 'chai';
import { decodeSnapshot } from '../../src/protocol/messages';
import { FrameDecodeError } from '../../src/wire/errors';
import { decodeJsonFrame, decodeJsonTick } from '../../src/wire/json';

const tick = { id: '5-0', ts: 5, px: '1', sz: '2' };
const frame = (ticks: unknown[], extra: object = {}) => JSON.stringify({ type: 'ticks', sym: 'A', sent: 9, ...extra, ticks });

describe('wire: the SDK reads a JSON tick defensively', () => {
  it('never reads a key the protocol owns into extra, whatever the sender wrote', () => {
    const owned = { type: 'ack', sym: 'B', sent: '1', prev: '9-0', kind: 'replay', ticks: '[]', position: '9-0', stream: 's',
      after: '1-0', through: '2-0', reason: 'trimmed', extra: 'x' };
    expect(decodeJsonTick({ ...tick, ...owned, venue: 'XNAS' })).to.deep.equal({ ...tick, extra: { venue: 'XNAS' } });
    expect(decodeJsonTick({ ...tick, ...owned })).to.deep.equal(tick);
  });

  it('checks the id JSON.parse kept of duplicate keys (the last) like any other: an invalid one fails the frame', () => {
    const text = '{"type":"ticks","sym":"A","sent":9,"ticks":[{"id":"5-0","ts":5,"px":"1","sz":"2","id":"not-an-id"}]}';
    expect(() => decodeJsonFrame(text)).to.throw(FrameDecodeError, /tick id is not a stream id/);
  });

  it('rejects a tick whose id is not a stream id Redis could hold, with BAD_JSON_FRAME', () => {
    for (const id of ['', '5', '05-0', '5-0 ', '18446744073709551616-0', '0-18446744073709551616', 'abc']) {
      expect(() => decodeJsonFrame(frame([{ ...tick, id }])), id).to.throw(FrameDecodeError, /tick id/).with.property('code', 'BAD_JSON_FRAME');
    }
    expect(decodeJsonFrame(frame([{ ...tick, id: '18446744073709551615-18446744073709551615' }])).ticks[0].id).to.equal('18446744073709551615-18446744073709551615');
  });

  it('rejects a tick whose ts is not an integer in 0..2^53-1, with BAD_JSON_FRAME', () => {
    for (const ts of [-1, 1.5, 2 ** 53, Number.MAX_VALUE, 1e300]) {
      expect(() => decodeJsonFrame(frame([{ ...tick, ts }])), String(ts)).to.throw(FrameDecodeError, /tick ts/).with.property('code', 'BAD_JSON_FRAME');
    }
    expect(decodeJsonFrame(frame([{ ...tick, ts: Number.MAX_SAFE_INTEGER }])).ticks[0].ts).to.equal(Number.MAX_SAFE_INTEGER);
  });

  it('rejects a frame whose sym or sent could not have come from a gateway', () => {
    for (const extra of [{ sym: 'bad symbol' }, { sym: 5 }, { sent: -1 }, { sent: 1.5 }, { sent: '9' }]) {
      expect(() => decodeJsonFrame(frame([tick], extra)), JSON.stringify(extra)).to.throw(FrameDecodeError).with.property('code', 'BAD_JSON_FRAME');
    }
  });

  it('reads a snapshot tick\'s sym as its symbol, never as extra, and checks its id like any tick', () => {
    const snapshot = (t: object) => ({ type: 'snapshot', position: '9-0', ticks: [t] });
    expect(decodeSnapshot(snapshot({ sym: 'A', ...tick, prev: '1-0', venue: 'X' })).ticks).to.deep.equal([{ sym: 'A', ...tick, extra: { venue: 'X' } }]);
    expect(() => decodeSnapshot(snapshot({ sym: 'A', ...tick, id: '1' }))).to.throw(FrameDecodeError, /tick id/);
  });
});
