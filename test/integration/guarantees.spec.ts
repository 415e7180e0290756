import { expect } from 'chai';
import { RawWs } from '../../src/bench/raw-ws';
import { PrivateRedis } from '../../src/demo/private-redis';
import { symbolNames } from '../../src/producer/random-walk';
import { compareStreamIds } from '../../src/wire/tick';
import { encodeRequest } from '../../src/protocol/requests';
import { GatewayProcess, metricValue, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { startProducer } from '../helpers/producer';
import { plainClient, PlainRedis, privateRedis, streamIdsOf, xaddTicks } from '../helpers/redis';
import { Reply, TestClient } from '../helpers/ws-client';

interface SnapshotMessage extends Reply {
  position: string;
  ticks: { sym: string; id: string; px: string }[];
}

/**
 * A client that subscribes and then never reads again: a raw socket (the `ws` library resumes its socket by itself),
 * so the kernel's buffers fill and then the gateway's.
 */
function stalledClient(g: GatewayProcess, symbols: string[]): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const opening = RawWs.open({ host: '127.0.0.1', port: g.port, path: '/v1/stream', timeoutMs: 10_000, now: Date.now }, {
      message: (_opcode, payload) => {
        if (payload.includes('"type":"ack"')) void opening.then((ws) => (ws.stopReading(), resolve(ws)));
      },
      close: (why) => reject(new Error(`stalled client closed before it stalled: ${why}`)),
    });
    opening.then((ws) => ws.sendText(encodeRequest({ op: 'subscribe', id: 1, symbols })), reject);
  });
}

/** The newest entry of `sym` in the stream, as Redis has it. */
async function latestIn(redis: PlainRedis, sym: string): Promise<string | undefined> {
  const ids = await streamIdsOf(redis, 'ticks', sym);
  return ids[ids.length - 1];
}

describe('guarantees: snapshot, resume, pause, slow consumers', function () {
  this.timeout(120_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  const gateways: GatewayProcess[] = [];
  const clients: TestClient[] = [];

  async function gateway(flags: string[] = []): Promise<GatewayProcess> {
    const g = await startGateway(redis.url, flags);
    gateways.push(g);
    await waitUntil('ready', async () => (await readyStatus(g.http)) === 200);
    return g;
  }

  async function client(g: GatewayProcess): Promise<TestClient> {
    const c = await TestClient.connect(g.url);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    redis = await privateRedis();
    producer = await plainClient(redis.url);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const g of gateways.splice(0)) await g.stop();
    await producer.quit();
    await redis.stop();
    killAll();
  });

  it('answers a watchlist subscribe with one snapshot frame of every symbol\'s latest tick, before any live tick, with no gap after it', async () => {
    const g = await gateway();
    const symbols = ['A', 'B', 'C', 'D'];
    await xaddTicks(producer, 'ticks', symbols, 40);
    const c = await client(g);
    // Ticks keep arriving while the snapshot is taken.
    const writing = xaddTicks(producer, 'ticks', symbols, 400, 40);
    const ack = await c.request({ op: 'subscribe', symbols, snapshot: true });
    await writing;
    expect(ack.type).to.equal('ack');
    // Written after the ack: every symbol has live frames after its snapshot tick, whatever the race above did.
    await xaddTicks(producer, 'ticks', symbols, 40, 440);
    const snapshots = c.replies.filter((r) => r.type === 'snapshot') as SnapshotMessage[];
    expect(snapshots).to.have.length(1);
    const snap = snapshots[0];
    expect(snap.ticks.map((t) => t.sym).sort()).to.deep.equal(symbols);
    for (const sym of symbols) {
      const all = await streamIdsOf(producer, 'ticks', sym);
      await waitUntil(`live ${sym}`, () => (c.ticks.get(sym)?.length ?? 0) + all.indexOf(snap.ticks.find((t) => t.sym === sym)!.id) + 1 >= all.length);
      const snapId = snap.ticks.find((t) => t.sym === sym)!.id;
      // Snapshot tick + live ticks = the stream from the snapshot on: no gap, no duplicate.
      expect([snapId, ...c.idsOf(sym)]).to.deep.equal(all.slice(all.indexOf(snapId)));
      const first = c.frames.find((f) => f.sym === sym);
      expect(first?.prev, `${sym}: the first live frame follows the snapshot tick`).to.equal(snapId);
      // Every tick in the snapshot is at or before the snapshot's position.
      expect(compareStreamIds(snapId, snap.position)).to.be.at.most(0);
    }
    // The snapshot came before any live frame (the last symbol's wait above means there are live frames).
    expect(c.order.indexOf('snapshot')).to.be.at.least(0);
    expect(c.order.findIndex((o) => o.startsWith('ticks:'))).to.be.greaterThan(c.order.indexOf('snapshot'));
  });

  it('loads a snapshot from the stream for a symbol the gateway has not published since it started', async () => {
    await xaddTicks(producer, 'ticks', ['OLD'], 3);
    const g = await gateway();
    const c = await client(g);
    await c.request({ op: 'subscribe', symbols: ['OLD'], snapshot: true });
    const snap = c.replies.find((r) => r.type === 'snapshot') as SnapshotMessage;
    expect(snap.ticks.map((t) => t.id)).to.deep.equal([await latestIn(producer, 'OLD')]);
  });

  it('resumes a client that was away 2 s at 20,000 ticks/s with no gap and no duplicate', async () => {
    const g = await gateway(['--history-per-symbol', '4096']);
    const symbols = symbolNames(50);
    const mine = symbols.slice(0, 5);
    const feed = startProducer(redis.url, ['--rate', '20000', '--symbols', '50', '--maxlen', '0']);
    let c = await client(g);
    await c.request({ op: 'subscribe', symbols: mine });
    await waitUntil('ticks flowing', () => mine.every((s) => (c.ticks.get(s)?.length ?? 0) > 10));
    c.ws.terminate();
    const before = new Map(mine.map((s) => [s, c.idsOf(s)]));
    await new Promise((r) => setTimeout(r, 2000));
    const since = Object.fromEntries(mine.map((s) => [s, before.get(s)![before.get(s)!.length - 1]]));
    c = await client(g);
    const ack = await c.request({ op: 'subscribe', symbols: mine, since });
    expect(ack.type, JSON.stringify(c.replies)).to.equal('ack');
    expect(c.replies.some((r) => r.code === 'RESUME_UNAVAILABLE')).to.equal(false);
    await new Promise((r) => setTimeout(r, 500));
    await feed.stop();
    for (const sym of mine) {
      const all = await streamIdsOf(producer, 'ticks', sym);
      await waitUntil(`caught up ${sym}`, () => before.get(sym)!.length + c.idsOf(sym).length >= all.length);
      expect([...before.get(sym)!, ...c.idsOf(sym)], sym).to.deep.equal(all);
      expect(c.frames.find((f) => f.sym === sym)).to.include({ kind: 'replay', prev: since[sym] });
    }
  });

  it('resumes from the stream in Redis when the position is older than the gateway\'s memory', async () => {
    const g = await gateway(['--history-per-symbol', '8']);
    const ids = await xaddTicks(producer, 'ticks', ['R'], 100);
    const c = await client(g);
    await c.request({ op: 'subscribe', symbols: ['R'], since: { R: ids[9] } });
    await waitUntil('replay', () => c.idsOf('R').length === 90);
    expect(c.idsOf('R')).to.deep.equal(ids.slice(10));
  });

  it('answers a position beyond the stream\'s retention with RESUME_UNAVAILABLE and a fresh snapshot', async () => {
    const g = await gateway(['--history-per-symbol', '8']);
    const ids = await xaddTicks(producer, 'ticks', ['T'], 200);
    await producer.xTrim('ticks', 'MAXLEN', 50);
    const c = await client(g);
    const ack = await c.request({ op: 'subscribe', symbols: ['T'], since: { T: ids[5] } });
    expect(ack.type).to.equal('ack');
    const err = c.replies.find((r) => r.type === 'error')!;
    expect(err).to.include({ code: 'RESUME_UNAVAILABLE' });
    expect(err.symbols).to.deep.equal(['T']);
    const snap = c.replies.find((r) => r.type === 'snapshot') as SnapshotMessage;
    expect(snap.ticks.map((t) => t.id)).to.deep.equal([ids[ids.length - 1]]);
    expect(c.order.indexOf('error')).to.be.lessThan(c.order.indexOf('snapshot'));
    expect(c.order.indexOf('snapshot')).to.be.lessThan(c.order.indexOf('ack'));
  });

  it('answers a snapshot request with the latest tick of each held symbol only, after the live ticks it already sent', async () => {
    const g = await gateway();
    const c = await client(g);
    await c.request({ op: 'subscribe', symbols: ['H1', 'H2'] });
    const ids = await xaddTicks(producer, 'ticks', ['H1', 'H2'], 10);
    await waitUntil('live', () => c.tickCount() === 10);
    const ack = await c.request({ op: 'snapshot', symbols: ['H1', 'H2', 'NOT-HELD'] });
    expect(ack).to.include({ type: 'ack', op: 'snapshot' });
    expect(ack.symbols).to.deep.equal(['H1', 'H2', 'NOT-HELD']);
    const snap = c.replies.find((r) => r.type === 'snapshot') as SnapshotMessage;
    expect(snap.ticks.map((t) => [t.sym, t.id])).to.deep.equal([['H1', ids[8]], ['H2', ids[9]]]);
    expect(c.order.indexOf('snapshot')).to.be.greaterThan(c.order.lastIndexOf('ticks:H2'));
    // Nothing was counted twice or subscribed again: live ticks go on, once each.
    const after = await xaddTicks(producer, 'ticks', ['H1'], 3, 10);
    await waitUntil('live again', () => c.tickCount() === 13);
    expect(c.idsOf('H1').slice(5)).to.deep.equal(after);
    const paused = await client(g);
    await paused.request({ op: 'subscribe', symbols: ['H1'] });
    await paused.request({ op: 'pause' });
    expect(await paused.request({ op: 'snapshot', symbols: ['H1'] })).to.include({ type: 'ack', op: 'snapshot' });
    expect(paused.replies.filter((r) => r.type === 'snapshot')).to.deep.equal([]);
  });

  it('sends nothing while paused, then on resume a fresh snapshot and live ticks again', async () => {
    const g = await gateway();
    const c = await client(g);
    await c.request({ op: 'subscribe', symbols: ['P'] });
    await xaddTicks(producer, 'ticks', ['P'], 10);
    await waitUntil('live', () => c.tickCount() === 10);
    expect((await c.request({ op: 'pause' })).type).to.equal('ack');
    const whilePaused = await xaddTicks(producer, 'ticks', ['P'], 20);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.tickCount()).to.equal(10);
    await c.request({ op: 'resume' });
    const snap = c.replies.find((r) => r.type === 'snapshot') as SnapshotMessage;
    expect(snap.ticks.map((t) => t.id)).to.deep.equal([whilePaused[19]]);
    const after = await xaddTicks(producer, 'ticks', ['P'], 5);
    await waitUntil('live again', () => c.tickCount() === 15);
    expect(c.idsOf('P').slice(10)).to.deep.equal(after);
  });

  it('conflates a client that stops reading while 99 others lose nothing, announces each step, and keeps memory bounded', async () => {
    const g = await gateway(['--conflate-above-bytes', '65536', '--conflate-after-ms', '200', '--snapshot-only-after-ms', '60000',
      '--recover-after-ms', '300', '--max-backpressure', '67108864']);
    const symbols = symbolNames(20);
    const others = await Promise.all(Array.from({ length: 99 }, () => client(g)));
    // One symbol each: the 99 healthy clients live in this test process, which must keep up with them.
    await Promise.all(others.map((c, i) => c.request({ op: 'subscribe', symbols: [symbols[i % 20]] })));
    const slow = await client(g);
    await slow.request({ op: 'subscribe', symbols });
    const rss = () => metricValue(g.http, 'tickgate_process_resident_memory_bytes');
    const rssBefore = await rss();
    // RSS over the stalled client's whole life, not once: sampled gently (each scrape makes every worker collect).
    let rssPeak = rssBefore;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rssPeak = Math.max(rssPeak, await rss());
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const feed = startProducer(redis.url, ['--rate', '10000', '--symbols', '20', '--maxlen', '0']);
    // The slow client stops reading from its socket: the kernel buffers fill, then the gateway's.
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // Polled gently: each scrape makes every worker collect its metrics, which would itself move the latency measured.
    await waitUntil('slow client conflated', async () => (await metricValue(g.http, 'tickgate_mode_changes_total', { mode: 'conflated' })) >= 1, 60_000, 500);
    // Stalled 3 s more once conflated, the feed still running: memory must stay bounded through that too.
    await new Promise((r) => setTimeout(r, 3000));
    await feed.stop();
    socket.resume();
    await waitUntil('slow client back to full', () => slow.replies.some((r) => r.type === 'mode' && r.mode === 'full'), 30_000);
    sampling = false;
    await sampler;
    expect(slow.replies.find((r) => r.type === 'mode')).to.include({ mode: 'conflated' });
    expect(slow.frames.some((f) => f.kind === 'conflated')).to.equal(true);
    // Its latest price per symbol is the stream's latest (from the snapshot sent on its way back to full).
    const back = slow.replies.filter((r) => r.type === 'snapshot').pop() as SnapshotMessage;
    expect(back.ticks.map((t) => t.sym).sort()).to.deep.equal([...symbols].sort());
    for (const t of back.ticks) expect(t.id).to.equal(await latestIn(producer, t.sym));
    for (const [i, c] of others.entries()) {
      const sym = symbols[i % 20];
      const all = await streamIdsOf(producer, 'ticks', sym);
      await waitUntil(`client ${i} ${sym}`, () => c.idsOf(sym).length >= all.length, 30_000);
      expect(c.idsOf(sym), `client ${i} ${sym}`).to.deep.equal(all);
    }
    // The stalled socket may hold at most --max-backpressure (64 MiB) in the gateway; 64 MiB more is margin for the
    // heap's and the allocator's own growth under this load.
    expect(rssPeak - rssBefore).to.be.below(64 * 2 ** 20 + 64 * 2 ** 20);
    // The others' latency with and without the stalled client is measured by make bench (src/bench/slow-consumer.ts),
    // outside this process: here 100 clients share the test's own event loop, whose tail would be measured too.
  });

  it('closes a client whose send buffer passes --max-backpressure before the ladder acts with 4001, and serves the others on', async () => {
    // Flooded faster than the ladder acts (here it waits 60 s), a client reaches the hard limit and uWS drops frames.
    // Closing it sends a close frame that is dropped in turn, re-entering the dropped handler from inside ws.end():
    // the worker threw there and took the whole process down with it.
    const g = await gateway(['--workers', '1', '--max-backpressure', '65536', '--conflate-above-bytes', '16384', '--conflate-after-ms', '60000']);
    const symbols = symbolNames(20);
    const healthy = await client(g);
    await healthy.request({ op: 'subscribe', symbols });
    const stalled = await stalledClient(g, symbols);
    const feed = startProducer(redis.url, ['--rate', '10000', '--symbols', '20', '--maxlen', '0']);
    try {
      await waitUntil('stalled client closed as too slow', async () => (await metricValue(g.http, 'tickgate_connections_closed_total', { reason: 'slow_consumer' })) === 1, 30_000, 250);
      const received = healthy.frames.length;
      await waitUntil('the healthy client still receiving', () => healthy.frames.length > received + 100, 5_000);
    } finally {
      await feed.stop();
      stalled.close();
    }
    expect(g.child.exitCode, 'gateway alive').to.equal(null);
    expect(await metricValue(g.http, 'tickgate_worker_restarts_total')).to.equal(0);
    expect(await metricValue(g.http, 'tickgate_slow_consumer_disconnects_total')).to.equal(1);
    expect(healthy.ws.readyState).to.equal(healthy.ws.OPEN);
  });
});
