import { expect } from 'chai';
import { createMetrics, Metrics } from '../../src/metrics/metrics';
import { SlowConsumerLadder } from '../../src/server/slow-consumers';
import { NewestFrames } from '../../src/server/newest-frames';
import { FULL } from '../../src/protocol/tiers';
import { LADDER, LIMITS, T0 } from '../helpers/ladder';
import { newSessionData, SessionData, SessionState, Socket } from '../../src/server/session-data';
import { encodeFrame } from '../../src/wire/frame-encode';
import { topicFor } from '../../src/wire/formats';

const OPTS = LADDER;

/** What the ladder does to a socket, recorded: the only surface it touches. */
class FakeSocket {
  buffered = 0;
  readonly sent: (string | Uint8Array)[] = [];
  readonly topics = new Set<string>();
  closedWith: number | undefined;
  constructor(readonly session: SessionData) {}
  getUserData() { return { session: this.session }; }
  getBufferedAmount() { return this.buffered; }
  send(data: string | Uint8Array) { this.sent.push(data); return 1; }
  subscribe(topic: string) { this.topics.add(topic); return true; }
  unsubscribe(topic: string) { this.topics.delete(topic); return true; }
  cork(f: () => void) { f(); return this; }
  end(code: number) { this.closedWith = code; }
  /** Control messages sent so far, parsed, oldest first; data frames as `frame`. */
  messages(): Record<string, unknown>[] {
    return this.sent.map((m) => (typeof m === 'string' && !m.startsWith('{"type":"ticks"') ? JSON.parse(m) : { type: 'frame', data: m }));
  }
}

async function counter(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
}

describe('slow-consumer ladder (SlowConsumerLadder.check, injected clock)', () => {
  let metrics: Metrics;
  let ladder: SlowConsumerLadder;
  let frames: NewestFrames;
  let ws: FakeSocket;
  // Times are offsets from a wall-clock instant: the ladder keeps 0 for "not since".
    const check = (at: number) => ladder.check(ws as unknown as Socket, T0 + at);
  const publish = (sym: string, id: string) =>
    frames.published(topicFor('json', sym), Buffer.from(encodeFrame('json', { sym, ticks: [{ id, ts: 1, px: '1.5', sz: '2' }] }, 5, 'live') as string), false);

  beforeEach(() => {
    metrics = createMetrics();
    frames = new NewestFrames();
    ladder = new SlowConsumerLadder(OPTS, metrics, frames);
    const s = newSessionData(1, 'json', '127.0.0.1', LIMITS, undefined);
    s.symbols.set('A', FULL);
    s.symbols.set('B', FULL);
    ws = new FakeSocket(s);
    ws.topics.add(topicFor('json', 'A'));
    ws.topics.add(topicFor('json', 'B'));
    publish('A', '10-0');
    publish('B', '11-0');
  });

  it('keeps no state for a client at or below --conflate-above-bytes, and forgets a spike that drained in time', () => {
    ws.buffered = OPTS.conflateAboveBytes;
    check(0);
    expect(ws.session.ladder).to.equal(undefined);
    ws.buffered = OPTS.conflateAboveBytes + 1;
    check(0);
    check(OPTS.conflateAfterMs - 1);
    expect(ws.session.ladder?.mode).to.equal('full');
    ws.buffered = 0;
    check(OPTS.conflateAfterMs);
    expect(ws.session.ladder).to.equal(undefined);
    expect(ws.sent).to.deep.equal([]);
  });

  it('conflates a client above the limit for exactly --conflate-after-ms: announces it and takes it off its live topics', async () => {
    ws.buffered = OPTS.conflateAboveBytes + 1;
    check(1000);
    check(1000 + OPTS.conflateAfterMs - 1);
    expect(ws.messages()).to.deep.equal([]);
    check(1000 + OPTS.conflateAfterMs);
    expect(ws.messages()).to.deep.equal([{ type: 'mode', mode: 'conflated', reason: 'send buffer above limit' }]);
    expect([...ws.topics]).to.deep.equal([]);
    expect(await counter(metrics, 'tickgate_mode_changes_total', { mode: 'conflated' })).to.equal(1);
  });

  it('while conflated and drained below the limit, sends at most one conflated frame per symbol per --conflate-interval-ms, chained by prev', () => {
    ws.buffered = OPTS.conflateAboveBytes + 1;
    check(0);
    check(OPTS.conflateAfterMs);
    ws.sent.length = 0;
    ws.buffered = OPTS.recoverBelowBytes; // below the conflation limit, not drained enough to recover
    publish('A', '12-0');
    check(300);
    const frames = ws.sent.map((m) => JSON.parse(m as string));
    expect(frames).to.deep.equal([{ type: 'ticks', sym: 'A', sent: T0 + 300, prev: '10-0', kind: 'conflated', ticks: [{ id: '12-0', ts: 1, px: '1.5', sz: '2' }] }]);
    publish('A', '13-0');
    check(300 + OPTS.conflateIntervalMs - 1);
    expect(ws.sent).to.have.length(1);
    check(300 + OPTS.conflateIntervalMs);
    expect(JSON.parse(ws.sent[1] as string)).to.include({ prev: '12-0', kind: 'conflated' });
  });

  it('moves a conflated client still above the limit for --snapshot-only-after-ms to snapshot-only, then closes it with 4001 after --slow-disconnect-after-ms', async () => {
    ws.buffered = OPTS.conflateAboveBytes + 1;
    check(0);
    check(OPTS.conflateAfterMs); // conflated; the high-water clock restarts at each step
    check(OPTS.conflateAfterMs + 1);
    check(OPTS.conflateAfterMs + 1 + OPTS.snapshotOnlyAfterMs - 1);
    expect(ws.session.ladder?.mode).to.equal('conflated');
    check(OPTS.conflateAfterMs + 1 + OPTS.snapshotOnlyAfterMs);
    expect(ws.session.ladder?.mode).to.equal('snapshot-only');
    const t = OPTS.conflateAfterMs + 1 + OPTS.snapshotOnlyAfterMs;
    check(t + 1);
    check(t + 1 + OPTS.slowDisconnectAfterMs - 1);
    expect(ws.closedWith).to.equal(undefined);
    check(t + 1 + OPTS.slowDisconnectAfterMs);
    expect(ws.closedWith).to.equal(4001);
    expect(await counter(metrics, 'tickgate_slow_consumer_disconnects_total')).to.equal(1);
  });

  it('brings a snapshot-only client seen drained on two sweeps back to conflated with a snapshot of its symbols', () => {
    ws.buffered = OPTS.conflateAboveBytes + 1;
    check(0);
    check(OPTS.conflateAfterMs);
    check(OPTS.conflateAfterMs + 1);
    check(OPTS.conflateAfterMs + 1 + OPTS.snapshotOnlyAfterMs);
    ws.sent.length = 0;
    ws.buffered = 0;
    check(5000); // the first sweep that sees it drained starts the clock
    expect(ws.sent).to.deep.equal([]);
    check(5001);
    expect(ws.messages()).to.deep.equal([
      { type: 'snapshot', id: null, position: '11-0', ticks: [{ sym: 'A', id: '10-0', ts: 1, px: '1.5', sz: '2' }, { sym: 'B', id: '11-0', ts: 1, px: '1.5', sz: '2' }] },
      { type: 'mode', mode: 'conflated', reason: 'drained' },
    ]);
  });

  it('returns a conflated client drained below --recover-below-bytes for --recover-after-ms to full: snapshot, then its topics, then the mode', () => {
    ws.buffered = OPTS.conflateAboveBytes + 1;
    check(0);
    check(OPTS.conflateAfterMs);
    ws.sent.length = 0;
    ws.buffered = OPTS.recoverBelowBytes - 1;
    publish('B', '20-0');
    check(1000);
    check(1000 + OPTS.recoverAfterMs - 1);
    expect(ws.session.ladder?.mode).to.equal('conflated');
    ws.sent.length = 0;
    check(1000 + OPTS.recoverAfterMs);
    expect(ws.messages()).to.deep.equal([
      { type: 'snapshot', id: null, position: '20-0', ticks: [{ sym: 'A', id: '10-0', ts: 1, px: '1.5', sz: '2' }, { sym: 'B', id: '20-0', ts: 1, px: '1.5', sz: '2' }] },
      { type: 'mode', mode: 'full', reason: 'drained' },
    ]);
    expect([...ws.topics].sort()).to.deep.equal([topicFor('json', 'A'), topicFor('json', 'B')]);
    expect(ws.session.ladder).to.equal(undefined);
  });

  it('leaves paused, catching-up and closed sessions alone', () => {
    ws.buffered = OPTS.conflateAboveBytes + 1;
    for (const state of [SessionState.Paused, SessionState.CatchingUp, SessionState.Closed]) {
      ws.session.state = state;
      check(0);
      check(OPTS.conflateAfterMs * 10);
      expect(ws.session.ladder, state).to.equal(undefined);
    }
  });
});
