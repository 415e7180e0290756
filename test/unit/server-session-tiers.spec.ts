import { expect } from 'chai';
import { createMetrics, Metrics } from '../../src/metrics/metrics';
import { createLogger } from '../../src/log';
import { SessionHandler } from '../../src/server/session';
import { newSessionData, SessionData, SessionState, Socket, SocketData } from '../../src/server/session-data';
import type { Entitlements } from '../../src/server/auth';
import type { CatchupAnswer, CatchupRequest } from '../../src/contracts/catchup';
import { FULL, tierFor } from '../../src/protocol/tiers';
import { LocalRegistry } from '../helpers/registry-model';
import { FakeUwsSocket } from '../helpers/fake-socket';
import { LIMITS } from '../helpers/ladder';

const RATE_4 = tierFor(4, false);
const RATE_2 = tierFor(2, false);

/** One session on a handler whose catch-ups the spec answers by hand, in order. */
function harness(o: { realtime?: boolean; delayedTier?: boolean } = {}) {
  const registry = new LocalRegistry();
  const metrics = createMetrics();
  const asked: CatchupRequest[] = [];
  const pending: ((a: CatchupAnswer) => void)[] = [];
  const handler = new SessionHandler({
    registry, metrics, log: createLogger('silent'), workerId: 1, delayedTier: o.delayedTier ?? true,
    limits: { ...LIMITS, rateLimit: 1000, rateBurst: 1000 },
    catchup: (_session, request) => {
      asked.push(request);
      return new Promise((resolve) => pending.push(resolve));
    },
    cancelCatchup: () => undefined,
  });
  const entitlements: Entitlements | undefined = o.realtime === undefined ? undefined : { subject: 'u', realtime: o.realtime, allows: () => true };
  const session: SessionData = newSessionData(1, 'json', '127.0.0.1', LIMITS, entitlements);
  const ws = new FakeUwsSocket<SocketData>({ session });
  const socket = ws as unknown as Socket;
  handler.open(socket);
  const request = (req: object) => handler.message(socket, new TextEncoder().encode(JSON.stringify(req)).buffer as ArrayBuffer, false);
  /** Answers the oldest unanswered catch-up, then lets the session handle it. */
  const answer = async (a: Partial<CatchupAnswer> = {}) => {
    pending.shift()!({ frames: [], unavailable: [], ...a });
    await new Promise((resolve) => setImmediate(resolve));
  };
  /** The registry's count of each topic this spec's sessions use, topics at 0 left out. */
  const counted = () => Object.fromEntries(TOPICS.filter((t) => registry.subscriberCount(t) > 0).map((t) => [t, registry.subscriberCount(t)]));
  return { handler, registry, metrics, asked, pending, session, ws, socket, request, answer, counted };
}

const TOPICS = ['json/A', 'json@4/A', 'json@2/A', 'json@d/A', 'json@d4/A', 'json/B', 'json@4/B', 'json@d/B', 'json/C', 'json@4/C'];

async function gauge(metrics: Metrics): Promise<Record<string, number>> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'tickgate_tier_subscriptions');
  return Object.fromEntries((m?.values ?? []).filter((v) => v.value !== 0).map((v) => [String(v.labels.tier), v.value]));
}

describe('session: subscription tiers (SessionHandler)', () => {
  it('states the tier in the subscribe ack: the rounded maxRate, delayed only when true', () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A'] });
    h.request({ op: 'subscribe', id: 2, symbols: ['B'], maxRate: 5 });
    h.request({ op: 'subscribe', id: 3, symbols: ['C'], maxRate: 1.5, delayed: true });
    expect(h.ws.messages()).to.deep.equal([
      { type: 'ack', id: 1, op: 'subscribe', symbols: ['A'] },
      { type: 'ack', id: 2, op: 'subscribe', symbols: ['B'], maxRate: 4 },
      { type: 'ack', id: 3, op: 'subscribe', symbols: ['C'], maxRate: 1, delayed: true },
    ]);
    expect([...h.ws.topics]).to.deep.equal(['json/A', 'json@4/B', 'json@d1/C']);
    expect([...h.session.symbols]).to.deep.equal([['A', FULL], ['B', RATE_4], ['C', tierFor(1, true)]]);
  });

  it('moves a symbol subscribed on another tier: out of the old topic, into the new one, on the socket and in the registry', () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A', 'B'], maxRate: 4 });
    expect(h.counted()).to.deep.equal({ 'json@4/A': 1, 'json@4/B': 1 });
    h.request({ op: 'subscribe', id: 2, symbols: ['A'], delayed: true });
    expect([...h.ws.topics].sort()).to.deep.equal(['json@4/B', 'json@d/A']);
    expect(h.counted()).to.deep.equal({ 'json@4/B': 1, 'json@d/A': 1 });
    expect(h.registry.stats().subscriptions).to.equal(2);
    h.request({ op: 'subscriptions', id: 3 });
    expect(h.ws.messages().slice(-1)).to.deep.equal([{ type: 'ack', id: 3, op: 'subscriptions', symbols: ['A', 'B'] }]);
  });

  it('leaves a symbol subscribed again on the same tier as it is: no catch-up, no topic change', () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A'], maxRate: 4 });
    h.request({ op: 'subscribe', id: 2, symbols: ['A'], maxRate: 7, snapshot: true, since: { A: '5-0' } });
    expect(h.asked).to.deep.equal([]);
    expect([...h.ws.topics]).to.deep.equal(['json@4/A']);
    expect(h.counted()).to.deep.equal({ 'json@4/A': 1 });
    expect(h.ws.messages()[1]).to.deep.equal({ type: 'ack', id: 2, op: 'subscribe', symbols: ['A'], maxRate: 4 });
  });

  it('catches a moved symbol up from the request\'s since on the new tier, and switches topics with the catch-up\'s replies', async () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A'] });
    h.request({ op: 'subscribe', id: 2, symbols: ['A'], maxRate: 2, since: { A: '5-0' } });
    expect(h.asked).to.deep.equal([{ format: 'json', tier: RATE_2.index, snapshot: [], since: { A: '5-0' } }]);
    // Until the answer, the old tier keeps flowing; the new topic is already counted so the fan-out serves it.
    expect([...h.ws.topics]).to.deep.equal(['json/A']);
    expect(h.counted()).to.deep.equal({ 'json/A': 1, 'json@2/A': 1 });
    await h.answer({ frames: [{ frame: 'replayed', binary: false }] });
    expect([...h.ws.topics]).to.deep.equal(['json@2/A']);
    expect(h.counted()).to.deep.equal({ 'json@2/A': 1 });
    expect(h.ws.sent.slice(1).map((m) => m.data)).to.deep.equal(['replayed', '{"type":"ack","id":2,"op":"subscribe","symbols":["A"],"maxRate":2}']);
  });

  it('keeps a symbol on its old tier when the catch-up of its move fails', async () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A'] });
    h.request({ op: 'subscribe', id: 2, symbols: ['A'], delayed: true, snapshot: true });
    await h.answer({ failed: 'redis down' });
    expect([...h.ws.topics]).to.deep.equal(['json/A']);
    expect(h.counted()).to.deep.equal({ 'json/A': 1 });
    expect(h.session.symbols.get('A')).to.equal(FULL);
    expect(h.ws.messages()[1]).to.include({ type: 'error', id: 2, code: 'INTERNAL' });
  });

  it('refuses a delayed subscribe with BAD_REQUEST when the gateway serves no delayed tier', () => {
    const h = harness({ delayedTier: false });
    h.request({ op: 'subscribe', id: 1, symbols: ['A'], delayed: true });
    expect(h.ws.messages()).to.deep.equal([
      { type: 'error', id: 1, code: 'BAD_REQUEST', message: 'this gateway serves no delayed tier (--delay-s 0)' },
    ]);
    expect(h.registry.stats().subscriptions).to.equal(0);
  });

  describe('a token with "realtime": false', () => {
    const FORBIDDEN = { type: 'error', code: 'FORBIDDEN', message: 'delayed data only: subscribe with "delayed":true' };

    it('is refused FORBIDDEN for a real-time subscribe, with or without maxRate, and nothing is counted', () => {
      const h = harness({ realtime: false });
      h.request({ op: 'subscribe', id: 1, symbols: ['A'] });
      h.request({ op: 'subscribe', id: 2, symbols: ['A'], maxRate: 1, snapshot: true });
      expect(h.ws.messages()).to.deep.equal([{ ...FORBIDDEN, id: 1 }, { ...FORBIDDEN, id: 2 }]);
      expect(h.registry.stats().subscriptions).to.equal(0);
      expect(h.asked).to.deep.equal([]);
      expect(h.session.symbols.size).to.equal(0);
    });

    it('may subscribe delayed, with or without maxRate', () => {
      const h = harness({ realtime: false });
      h.request({ op: 'subscribe', id: 1, symbols: ['A'], delayed: true });
      h.request({ op: 'subscribe', id: 2, symbols: ['B'], delayed: true, maxRate: 4 });
      expect(h.ws.messages()).to.deep.equal([
        { type: 'ack', id: 1, op: 'subscribe', symbols: ['A'], delayed: true },
        { type: 'ack', id: 2, op: 'subscribe', symbols: ['B'], maxRate: 4, delayed: true },
      ]);
      expect([...h.ws.topics]).to.deep.equal(['json@d/A', 'json@d4/B']);
    });

    it('cannot move a delayed symbol to real time', () => {
      const h = harness({ realtime: false });
      h.request({ op: 'subscribe', id: 1, symbols: ['A'], delayed: true });
      h.request({ op: 'subscribe', id: 2, symbols: ['A'], maxRate: 4 });
      expect(h.ws.messages()[1]).to.deep.equal({ ...FORBIDDEN, id: 2 });
      expect([...h.ws.topics]).to.deep.equal(['json@d/A']);
      expect(h.counted()).to.deep.equal({ 'json@d/A': 1 });
    });
  });

  it('snapshots symbols of several tiers with one catch-up per tier, one after another, then one ack', async () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A', 'C'] });
    h.request({ op: 'subscribe', id: 2, symbols: ['B'], maxRate: 4 });
    h.request({ op: 'snapshot', id: 3, symbols: ['A', 'B', 'C'] });
    expect(h.asked).to.deep.equal([{ format: 'json', tier: FULL.index, snapshot: ['A', 'C'], since: {} }]);
    await h.answer({ snapshot: { position: '9-0', ticks: [] } });
    expect(h.asked.slice(1)).to.deep.equal([{ format: 'json', tier: RATE_4.index, snapshot: ['B'], since: {} }]);
    expect(h.session.state).to.equal(SessionState.CatchingUp);
    await h.answer({ snapshot: { position: '8-0', ticks: [] } });
    expect(h.ws.messages().slice(2)).to.deep.equal([
      { type: 'snapshot', id: 3, position: '9-0', ticks: [] },
      { type: 'snapshot', id: 3, position: '8-0', ticks: [] },
      { type: 'ack', id: 3, op: 'snapshot', symbols: ['A', 'B', 'C'] },
    ]);
    expect(h.session.state).to.equal(SessionState.Open);
  });

  it('resumes after pause with one snapshot per tier held, each tier live with its snapshot, the ack last', async () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A'], maxRate: 4 });
    h.request({ op: 'subscribe', id: 2, symbols: ['B'] });
    h.request({ op: 'pause', id: 3 });
    expect(h.registry.stats().subscriptions).to.equal(0);
    expect([...h.ws.topics]).to.deep.equal([]);
    h.request({ op: 'resume', id: 4 });
    expect(h.counted()).to.deep.equal({ 'json@4/A': 1, 'json/B': 1 });
    expect(h.asked).to.deep.equal([{ format: 'json', tier: RATE_4.index, snapshot: ['A'], since: {} }]);
    await h.answer({ snapshot: { position: '9-0', ticks: [] } });
    expect([...h.ws.topics]).to.deep.equal(['json@4/A']);
    expect(h.asked.slice(1)).to.deep.equal([{ format: 'json', tier: FULL.index, snapshot: ['B'], since: {} }]);
    await h.answer({ snapshot: { position: '10-0', ticks: [] } });
    expect([...h.ws.topics]).to.deep.equal(['json@4/A', 'json/B']);
    expect(h.counted()).to.deep.equal({ 'json@4/A': 1, 'json/B': 1 });
    expect(h.ws.messages().slice(3).map((m) => m.type)).to.deep.equal(['snapshot', 'snapshot', 'ack']);
    expect([...h.session.symbols]).to.deep.equal([['A', RATE_4], ['B', FULL]]);
  });

  it('moves a symbol while paused without counting anything, and resumes it on its new tier', async () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A'] });
    h.request({ op: 'pause', id: 2 });
    h.request({ op: 'subscribe', id: 3, symbols: ['A'], maxRate: 4 });
    expect(h.registry.stats().subscriptions).to.equal(0);
    h.request({ op: 'resume', id: 4 });
    expect(h.asked).to.deep.equal([{ format: 'json', tier: RATE_4.index, snapshot: ['A'], since: {} }]);
    await h.answer();
    expect([...h.ws.topics]).to.deep.equal(['json@4/A']);
    expect(h.counted()).to.deep.equal({ 'json@4/A': 1 });
  });

  it('keeps the tierSubscriptions gauge equal to what the session has counted, per tier', async () => {
    const h = harness();
    h.request({ op: 'subscribe', id: 1, symbols: ['A', 'B'] });
    h.request({ op: 'subscribe', id: 2, symbols: ['C'], maxRate: 4 });
    expect(await gauge(h.metrics)).to.deep.equal({ full: 2, '4/s': 1 });
    h.request({ op: 'subscribe', id: 3, symbols: ['A'], maxRate: 4 });
    expect(await gauge(h.metrics)).to.deep.equal({ full: 1, '4/s': 2 });
    h.request({ op: 'unsubscribe', id: 4, symbols: ['B'] });
    h.request({ op: 'pause', id: 5 });
    expect(await gauge(h.metrics)).to.deep.equal({});
    h.request({ op: 'resume', id: 6 });
    expect(await gauge(h.metrics)).to.deep.equal({ '4/s': 2 });
    h.handler.close(h.socket, 1000);
    expect(await gauge(h.metrics)).to.deep.equal({});
  });
});
