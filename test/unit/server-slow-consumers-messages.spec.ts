import { expect } from 'chai';
import { createMetrics } from '../../src/metrics/metrics';
import { SlowConsumerLadder } from '../../src/server/slow-consumers';
import { NewestFrames } from '../../src/server/newest-frames';
import { FULL } from '../../src/protocol/tiers';
import { LADDER, LIMITS, T0 } from '../helpers/ladder';
import { newSessionData, Socket } from '../../src/server/session-data';
import { encodeFrame } from '../../src/wire/frame-encode';
import { decodeFrame } from '../../src/wire/frame';
import { FormatName, topicFor } from '../../src/wire/formats';

const OPTS = LADDER;
const HIGH = OPTS.conflateAboveBytes + 1;

/** Records what the ladder sends, with the binary flag, and how it closes. */
function harness(format: FormatName, symbols: string[]) {
  const newest = new NewestFrames();
  const ladder = new SlowConsumerLadder(OPTS, createMetrics(), newest);
  const session = newSessionData(1, format, '127.0.0.1', LIMITS, undefined);
  for (const s of symbols) session.symbols.set(s, FULL);
  const sent: { data: string | Uint8Array; binary: boolean }[] = [];
  const closed: [number, string][] = [];
  const topics = new Set(symbols.map((s) => topicFor(format, s)));
  const ws = {
    buffered: 0,
    getUserData: () => ({ session }),
    getBufferedAmount: () => ws.buffered,
    send: (data: string | Uint8Array, binary: boolean) => (sent.push({ data, binary }), 1),
    subscribe: (t: string) => (topics.add(t), true),
    unsubscribe: (t: string) => topics.delete(t),
    cork: (f: () => void) => (f(), ws),
    end: (code: number, reason: string) => closed.push([code, reason]),
  };
  const check = (at: number) => ladder.check(ws as unknown as Socket, T0 + at);
  const publish = (sym: string, id: string) => {
    const frame = encodeFrame(format, { sym, ticks: [{ id, ts: 1, px: '1.5', sz: '2' }] }, 5, 'live');
    newest.published(topicFor(format, sym), typeof frame === 'string' ? Buffer.from(frame) : frame, typeof frame !== 'string');
  };
  /** Conflated at `OPTS.conflateAfterMs`. */
  const conflate = () => {
    ws.buffered = HIGH;
    check(0);
    check(OPTS.conflateAfterMs);
  };
  const controls = () => sent.filter((m) => typeof m.data === 'string' && !m.data.startsWith('{"type":"ticks"'))
    .map((m) => [JSON.parse(m.data as string), m.binary]);
  const frames = () => sent.filter((m) => typeof m.data !== 'string' || m.data.startsWith('{"type":"ticks"'))
    .map((m) => ({ binary: m.binary, frame: decodeFrame(m.data) }));
  return { ladder, session, ws, sent, closed, check, publish, conflate, controls, frames };
}

describe('slow-consumer ladder: what it sends', () => {
  it('sends a binary client\'s conflated frames as binary and its mode and snapshot messages as text', () => {
    const h = harness('bin', ['A']);
    h.publish('A', '10-0');
    h.conflate();
    h.ws.buffered = 0;
    h.publish('A', '12-0');
    h.check(400);
    expect(h.frames().map((f) => [f.binary, f.frame.prev, f.frame.ticks.map((t) => t.id)])).to.deep.equal([[true, '10-0', ['12-0']]]);
    h.check(400 + OPTS.recoverAfterMs);
    expect(h.controls().map(([m, binary]) => [m.type, m.mode, binary])).to.deep.equal([
      ['mode', 'conflated', false], ['snapshot', undefined, false], ['mode', 'full', false],
    ]);
  });

  it('sends a JSON client\'s conflated frames as text', () => {
    const h = harness('json', ['A']);
    h.conflate();
    h.ws.buffered = 0;
    h.publish('A', '12-0');
    h.check(400);
    expect(h.frames().map((f) => f.binary)).to.deep.equal([false]);
  });

  it('sends a symbol first published while conflated without prev, and a symbol never published not at all', () => {
    const h = harness('json', ['A', 'C']);
    h.conflate();
    h.ws.buffered = 0;
    h.publish('C', '7-0');
    h.check(400);
    expect(h.frames().map((f) => [f.frame.sym, f.frame.prev, f.frame.ticks.map((t) => t.id)])).to.deep.equal([['C', undefined, ['7-0']]]);
  });

  it('announces snapshot-only with its reason, and closes with 4001 and a reason', () => {
    const h = harness('json', ['A']);
    h.conflate();
    h.check(OPTS.conflateAfterMs + 1);
    h.check(OPTS.conflateAfterMs + 1 + OPTS.snapshotOnlyAfterMs);
    const t = OPTS.conflateAfterMs + 1 + OPTS.snapshotOnlyAfterMs;
    h.check(t + 1);
    h.check(t + 1 + OPTS.slowDisconnectAfterMs);
    expect(h.controls().map(([m]) => [m.mode, m.reason])).to.deep.equal([
      ['conflated', 'send buffer above limit'], ['snapshot-only', 'still above limit while conflated'],
    ]);
    expect(h.closed).to.deep.equal([[4001, 'client too slow: send buffer stayed above limit']]);
  });

  it('after a snapshot-only client drains, conflates from the snapshot it was sent: older ticks are not sent again', () => {
    const h = harness('json', ['A']);
    h.publish('A', '10-0');
    h.conflate();
    h.check(OPTS.conflateAfterMs + 1);
    h.check(OPTS.conflateAfterMs + 1 + OPTS.snapshotOnlyAfterMs);
    h.publish('A', '15-0');
    h.ws.buffered = 0;
    h.check(5000);
    h.check(5001); // drained: snapshot with 15-0, back to conflated
    expect(h.controls().slice(-2).map(([m, binary]) => [m.type, m.position, binary])).to.deep.equal([['snapshot', '15-0', false], ['mode', undefined, false]]);
    h.check(5200);
    expect(h.frames()).to.deep.equal([]);
    h.publish('A', '16-0');
    h.check(5400);
    expect(h.frames().map((f) => [f.frame.prev, f.frame.ticks.map((t) => t.id)])).to.deep.equal([['15-0', ['16-0']]]);
  });

  it('does not count a send buffer of exactly --recover-below-bytes as drained', () => {
    const h = harness('json', ['A']);
    h.conflate();
    h.ws.buffered = OPTS.recoverBelowBytes;
    h.check(1000);
    h.check(1000 + OPTS.recoverAfterMs * 2);
    expect(h.session.ladder?.mode).to.equal('conflated');
  });

  it('gives a recovering client a snapshot of the symbols published so far, positioned at the newest id among them', () => {
    const h = harness('json', ['A', 'B', 'C']);
    h.publish('A', '20-0');
    h.publish('B', '11-0');
    h.conflate();
    h.ws.buffered = 0;
    h.check(1000);
    h.check(1000 + OPTS.recoverAfterMs);
    const snapshot = h.controls().map(([m]) => m).find((m) => m.type === 'snapshot');
    expect(snapshot).to.deep.equal({
      type: 'snapshot', id: null, position: '20-0',
      ticks: [{ sym: 'A', id: '20-0', ts: 1, px: '1.5', sz: '2' }, { sym: 'B', id: '11-0', ts: 1, px: '1.5', sz: '2' }],
    });
  });

  it('positions the snapshot of a client none of whose symbols was published at 0-0', () => {
    const h = harness('json', ['C']);
    h.conflate();
    h.ws.buffered = 0;
    h.check(1000);
    h.check(1000 + OPTS.recoverAfterMs);
    expect(h.controls().map(([m]) => m).find((m) => m.type === 'snapshot')).to.deep.equal({ type: 'snapshot', id: null, position: '0-0', ticks: [] });
  });
});
