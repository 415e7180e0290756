import { expect } from 'chai';
import { createMetrics, Metrics } from '../../src/metrics/metrics';
import { Heartbeats } from '../../src/server/heartbeats';
import { NewestFrames } from '../../src/server/newest-frames';
import { newSessionData, SessionData, SessionState, Socket, SocketData } from '../../src/server/session-data';
import { decodeHeartbeat, HEARTBEAT } from '../../src/protocol/messages';
import { FULL, Tier, tierFor, tierTopic } from '../../src/protocol/tiers';
import { encodeFrame } from '../../src/wire/frame-encode';
import { FakeUwsSocket } from '../helpers/fake-socket';
import { LIMITS, T0 } from '../helpers/ladder';

const INTERVAL = 5000;
const RATE_4 = tierFor(4, false);

describe('quiet-symbol heartbeats (Heartbeats)', () => {
  let frames: NewestFrames;
  let metrics: Metrics;
  let calls: { head: number; entry: number };
  let heartbeats: Heartbeats;
  let nextSession: number;

  beforeEach(() => {
    frames = new NewestFrames();
    metrics = createMetrics();
    calls = { head: 0, entry: 0 };
    nextSession = 1;
    const counting = {
      head: (time: number) => (calls.head++, HEARTBEAT.head(time)),
      entry: (sym: string, lastId: string | null) => (calls.entry++, HEARTBEAT.entry(sym, lastId)),
    };
    heartbeats = new Heartbeats(INTERVAL, frames, metrics, T0, counting);
  });

  function connection(symbols: [string, Tier][]): FakeUwsSocket<SocketData> {
    const session: SessionData = newSessionData(nextSession++, 'json', '127.0.0.1', LIMITS, undefined);
    for (const [sym, tier] of symbols) session.symbols.set(sym, tier);
    return new FakeUwsSocket<SocketData>({ session });
  }

  const publish = (sym: string, tier: Tier, id: string) =>
    frames.published(tierTopic('json', sym, tier), encodeFrame('json', { sym, ticks: [{ id, ts: 1, px: '1.5', sz: '2' }] }, 5, 'live'), false);

  /** One heartbeat at `at` (ms after T0) over `sockets`; false when none was due. */
  function beat(at: number, sockets: FakeUwsSocket<SocketData>[]): boolean {
    if (!heartbeats.begin(T0 + at)) return false;
    for (const ws of sockets) heartbeats.send(ws as unknown as Socket);
    heartbeats.end();
    return true;
  }

  const received = (ws: FakeUwsSocket<SocketData>) => ws.sent.map((m) => decodeHeartbeat(m.data as string));

  it('is due once per interval, not before', () => {
    expect(beat(INTERVAL - 1, [])).to.equal(false);
    expect(beat(INTERVAL, [])).to.equal(true);
    expect(beat(INTERVAL + 1, [])).to.equal(false);
    expect(beat(2 * INTERVAL, [])).to.equal(true);
  });

  it('names the symbols whose tier topic had no frame in the interval, with the last id on it or null, in one message per connection', async () => {
    const a = connection([['A', FULL], ['B', FULL], ['C', RATE_4]]);
    const b = connection([['A', FULL]]);
    publish('A', FULL, '10-0');
    // A frame on C's full topic is not one on the 4/s topic C is held on.
    publish('C', FULL, '11-0');
    beat(INTERVAL, [a, b]);
    expect(received(a)).to.deep.equal([{ time: T0 + INTERVAL, quiet: { B: null, C: null } }]);
    expect(b.sent).to.deep.equal([]);
    publish('C', RATE_4, '12-0');
    beat(2 * INTERVAL, [a, b]);
    expect(received(a)[1]).to.deep.equal({ time: T0 + 2 * INTERVAL, quiet: { A: '10-0', B: null } });
    expect(received(b)).to.deep.equal([{ time: T0 + 2 * INTERVAL, quiet: { A: '10-0' } }]);
    beat(3 * INTERVAL, [a]);
    expect(received(a)[2]).to.deep.equal({ time: T0 + 3 * INTERVAL, quiet: { A: '10-0', B: null, C: '12-0' } });
    expect(a.sent.every((m) => m.binary === false)).to.equal(true);
    expect(await counter(metrics, 'tickgate_heartbeats_sent_total')).to.equal(4);
  });

  it('encodes the head once per interval and each quiet topic\'s entry once per interval, however many connections hold it', () => {
    const sockets = [0, 1, 2].map(() => connection([['A', FULL], ['B', RATE_4]]));
    publish('A', FULL, '10-0');
    beat(INTERVAL, sockets);
    expect(calls).to.deep.equal({ head: 1, entry: 1 });
    beat(2 * INTERVAL, sockets);
    expect(calls).to.deep.equal({ head: 2, entry: 3 });
    expect(sockets.map((ws) => ws.sent.length)).to.deep.equal([2, 2, 2]);
  });

  it('sends nothing to a paused or closed connection, nor to one whose symbols all had frames', () => {
    const paused = connection([['A', FULL]]);
    paused.getUserData().session.state = SessionState.Paused;
    const closed = connection([['A', FULL]]);
    closed.getUserData().session.state = SessionState.Closed;
    const active = connection([['B', FULL]]);
    publish('B', FULL, '10-0');
    beat(INTERVAL, [paused, closed, active]);
    expect([paused, closed, active].map((ws) => ws.sent.length)).to.deep.equal([0, 0, 0]);
  });

  it('is off with an interval of 0', () => {
    heartbeats = new Heartbeats(0, frames, metrics, T0);
    const ws = connection([['A', FULL]]);
    for (const at of [0, INTERVAL, 100 * INTERVAL]) expect(beat(at, [ws])).to.equal(false);
    expect(ws.sent).to.deep.equal([]);
  });
});

async function counter(metrics: Metrics, name: string): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((a, v) => a + v.value, 0);
}
