import { expect } from 'chai';
import { ClientEvents, GapEvent } from '../../src/client/client';
import { connect, TickgateClient } from '../../src/client/node';
import { gapMessage, StreamLoss } from '../../src/protocol/gap';
import { encodeAck, encodeError, encodeHeartbeat, encodeMode, encodeSnapshot, Heartbeat } from '../../src/protocol/messages';
import { roundRate } from '../../src/protocol/tiers';
import { encodeFrame } from '../../src/wire/frame-encode';
import { DataFrame, FrameKind, Tick } from '../../src/wire/tick';
import { FAST_RECONNECT, Handler, Request, ScriptedGateway, SENTINEL } from '../helpers/scripted-gateway';

function tick(id: string): Tick {
  return { id, ts: Number(id.split('-')[0]), px: '100.5', sz: '1' };
}

function frame(sym: string, ids: string[], prev?: string, kind: FrameKind = 'live'): string {
  return encodeFrame('json', { sym, ticks: ids.map(tick), ...(prev !== undefined && { prev }) }, 1000, kind) as string;
}

function snapshotText(id: number | undefined, position: string, ticks: [string, string][]): string {
  return encodeSnapshot({ id, position, ticks: ticks.map(([sym, tid]) => ({ sym, ...tick(tid) })) });
}

/** The gateway's ack of a subscribe states the tier it gave, as the server does. */
const tierAck: Handler = (r, ws) => ws.send(encodeAck({ id: r.id, op: r.op, symbols: r.symbols,
  ...(r.op === 'subscribe' && r.maxRate !== undefined && { maxRate: roundRate(r.maxRate) }), ...(r.delayed && { delayed: true }) }));

function next<K extends keyof ClientEvents>(client: TickgateClient, event: K): Promise<ClientEvents[K]> {
  return new Promise((resolve) => {
    const listener = (...args: ClientEvents[K]) => {
      client.off(event, listener);
      resolve(args);
    };
    client.on(event, listener);
  });
}

type Logged = ['ticks', string, FrameKind, string[]] | ['gap', GapEvent] | ['snapshot', string[]] | ['heartbeat', Heartbeat];

function record(client: TickgateClient): Logged[] {
  const log: Logged[] = [];
  client.on('ticks', (f: DataFrame) => f.sym !== SENTINEL && log.push(['ticks', f.sym, f.kind, f.ticks.map((t) => t.id)]));
  client.on('gap', (g) => log.push(['gap', g]));
  client.on('snapshot', (s) => log.push(['snapshot', s.ticks.map((t) => `${t.sym}@${t.id}`)]));
  client.on('heartbeat', (h) => log.push(['heartbeat', h]));
  return log;
}


describe('client SDK: subscription tiers (maxRate, delayed, heartbeats)', function () {
  this.timeout(10_000);
  let gateway: ScriptedGateway;
  let client: TickgateClient | undefined;

  beforeEach(() => {
    gateway = new ScriptedGateway();
    gateway.onRequest = tierAck;
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    await gateway.close();
  });

  async function deliver(c: TickgateClient, ...data: string[]): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const listener = (f: DataFrame) => {
        if (f.sym !== SENTINEL) return;
        c.off('ticks', listener);
        resolve();
      };
      c.on('ticks', listener);
    });
    for (const d of data) gateway.last.send(d);
    gateway.last.send(frame(SENTINEL, ['1-0']));
    await done;
  }

  const bodies = (connection = 0): Request[] => gateway.requests.filter((r) => r.connection === connection).map((r) => r.body);

  it('sends maxRate and delayed with the subscribe, and reports the asked and the granted tier per symbol', async () => {
    client = connect(gateway.url);
    await next(client, 'open');
    await client.subscribe(['A'], { maxRate: 5 }); // sent as given: the server validates and rounds it
    await client.subscribe(['B'], { delayed: true, maxRate: 4 });
    await client.subscribe(['C']);
    expect(bodies()).to.deep.equal([
      { op: 'subscribe', id: 1, symbols: ['A'], maxRate: 5 },
      { op: 'subscribe', id: 2, symbols: ['B'], maxRate: 4, delayed: true },
      { op: 'subscribe', id: 3, symbols: ['C'] },
    ]);
    expect(['A', 'B', 'C', 'D'].map((s) => client!.tierOf(s)?.label)).to.deep.equal(['4/s', 'delayed 4/s', 'full', undefined]);
    expect(['A', 'B', 'C'].map((s) => client!.grantedTier(s)?.label)).to.deep.equal(['4/s', 'delayed 4/s', 'full']);
  });

  it('records the tier the ack states, which may differ from the one asked', async () => {
    client = connect(gateway.url);
    gateway.onRequest = (r, ws) => ws.send(encodeAck({ id: r.id, op: r.op, symbols: r.symbols })); // a gateway without tiers
    await client.subscribe(['A'], { maxRate: 2 });
    expect([client.tierOf('A')?.label, client.grantedTier('A')?.label]).to.deep.equal(['2/s', 'full']);
  });

  it('on reconnect restores every tier with one subscribe per tier, since for held ids, snapshot for the others', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await client.subscribe(['A', 'B'], { maxRate: 4 });
    await client.subscribe(['C'], { delayed: true });
    await client.subscribe(['D']);
    await deliver(client, frame('A', ['5-0'], undefined, 'conflated'), frame('C', ['3-0']), frame('D', ['7-0']));
    const reopened = next(client, 'open');
    gateway.last.close(1001);
    await reopened;
    await gateway.until(() => bodies(1).length === 3);
    const [first, second, third] = bodies(1);
    expect([first, second, third]).to.deep.equal([
      { op: 'subscribe', id: first.id, symbols: ['A', 'B'], snapshot: true, since: { A: '5-0' }, maxRate: 4 },
      { op: 'subscribe', id: second.id, symbols: ['C'], since: { C: '3-0' }, delayed: true },
      { op: 'subscribe', id: third.id, symbols: ['D'], since: { D: '7-0' } },
    ]);
  });

  it('settles a subscribe caught by a drop once every tier of the resubscription is acked, and rejects on a refusal', async () => {
    client = connect(gateway.url, { reconnect: FAST_RECONNECT });
    await client.subscribe(['A'], { maxRate: 1 });
    const held: Request[] = [];
    gateway.onRequest = (r, ws, conn) => {
      if (conn === 0) return ws.close(1001); // never answered on the first connection
      if (r.delayed) return held.push(r); // answered below
      tierAck(r, ws, conn);
    };
    let settled = false;
    const pending = client.subscribe(['B'], { delayed: true }).then(() => (settled = true));
    await gateway.until(() => held.length === 1);
    expect(bodies(1).map((b) => [b.symbols, b.maxRate, b.delayed])).to.deep.equal([[['A'], 1, undefined], [['B'], undefined, true]]);
    await client.ping(); // the first tier's ack has been handled
    expect(settled).to.equal(false);
    gateway.last.send(encodeAck({ id: held[0].id, op: 'subscribe', symbols: ['B'], delayed: true }));
    await pending;

    gateway.onRequest = (r, ws, conn) => {
      if (conn === 1 && r.op === 'subscribe') return ws.close(1001);
      if (r.delayed) return ws.send(encodeError({ id: r.id, code: 'FORBIDDEN', message: 'delayed data only for others' }));
      tierAck(r, ws, conn);
    };
    const err = await client.subscribe(['C'], { delayed: true }).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'FORBIDDEN');
  });

  it('on a rate tier accepts a chain of conflated frames and reports a conflated frame whose prev it never had as a gap', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A'], { maxRate: 4 });
    const log = record(client);
    await deliver(
      client,
      frame('A', ['10-0'], undefined, 'conflated'), // the tier's first frame for A: no prev
      frame('A', ['14-2'], '10-0', 'conflated'),
      frame('A', ['20-0'], '14-2', 'conflated'),
      frame('A', ['31-0'], '25-0', 'conflated'), // the tier's frame with 25-0 never came: stale for a while
      frame('A', ['33-0'], '31-0', 'conflated'),
    );
    expect(log.filter((e) => e[0] === 'gap')).to.deep.equal([['gap', { sym: 'A', expected: '20-0', got: '25-0' }]]);
    expect(log.filter((e) => e[0] === 'ticks').map((e) => e[3])).to.deep.equal([['10-0'], ['14-2'], ['20-0'], ['31-0'], ['33-0']]);
    expect(client.lastId('A')).to.equal('33-0');
  });

  it('accepts the slow-consumer ladder\'s conflated frames on a rate tier without a gap', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A'], { maxRate: 10 });
    await deliver(client, frame('A', ['10-0'], undefined, 'conflated'));
    gateway.last.send(encodeMode({ mode: 'conflated', reason: 'send buffer above 1 MiB' }));
    await next(client, 'mode');
    const log = record(client);
    await deliver(client, frame('A', ['40-0'], '30-0', 'conflated'));
    expect(log.filter((e) => e[0] === 'gap')).to.deep.equal([]);
    expect(client.lastId('A')).to.equal('40-0');
  });

  it('emits heartbeat restricted to the wanted symbols, and treats a named id newer than the held one as a stall', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A', 'B', 'C', 'D'], { maxRate: 4 });
    await deliver(client, frame('A', ['10-0']), frame('B', ['20-0']), frame('C', ['30-0']));
    const log = record(client);
    gateway.onRequest = (r, ws, conn) => {
      if (r.op === 'snapshot') ws.send(snapshotText(r.id, '99-0', [['B', '25-0']]));
      tierAck(r, ws, conn);
    };
    const snapshot = next(client, 'snapshot');
    gateway.last.send(encodeHeartbeat({ time: 1000, quiet: { A: '10-0', B: '25-0', C: '29-0', D: null, OTHER: '5-0' } }));
    await snapshot;
    expect(log).to.deep.equal([
      ['heartbeat', { time: 1000, quiet: { A: '10-0', B: '25-0', C: '29-0', D: null } }],
      ['gap', { sym: 'B', expected: '20-0', got: '25-0', stalled: true }],
      ['snapshot', ['B@25-0']],
    ]);
    expect(bodies().filter((b) => b.op === 'snapshot').map((b) => b.symbols)).to.deep.equal([['B']]);
    expect(client.lastId('B')).to.equal('25-0');
  });

  it('does not judge a heartbeat for a symbol whose subscribe is on its way, nor while the ladder conflates', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    await deliver(client, frame('A', ['10-0']));
    const log = record(client);
    const unanswered: Request[] = [];
    gateway.onRequest = (r) => unanswered.push(r);
    void client.subscribe(['A'], { maxRate: 2 });
    await gateway.until(() => unanswered.length === 1);
    gateway.last.send(encodeHeartbeat({ time: 1, quiet: { A: '12-0' } }));
    await next(client, 'heartbeat');
    gateway.last.send(encodeAck({ id: unanswered[0].id, op: 'subscribe', symbols: ['A'], maxRate: 2 }));
    gateway.last.send(encodeMode({ mode: 'conflated', reason: 'slow' }));
    gateway.last.send(encodeHeartbeat({ time: 2, quiet: { A: '12-0' } }));
    await next(client, 'heartbeat');
    expect(log.map((e) => e[0])).to.deep.equal(['heartbeat', 'heartbeat']);
  });

  for (const delayed of [true, false]) {
    it(`applies a gap announcement ${delayed ? 'with' : 'without'} "delayed" to the ${delayed ? 'delayed' : 'real-time'} symbols only`, async () => {
      client = connect(gateway.url);
      await client.subscribe(['RT1', 'RT2'], { maxRate: 4 });
      await client.subscribe(['DL'], { delayed: true });
      await deliver(client, frame('RT1', ['10-0']), frame('DL', ['5-0']));
      const log = record(client);
      const loss: StreamLoss = { stream: 'ticks', after: '1-0', through: '9-0', reason: 'trimmed', ...(delayed && { delayed: true as const }) };
      const asked = gateway.requests.length;
      gateway.last.send(gapMessage(loss));
      await gateway.until(() => gateway.requests.length > asked);
      expect(log.filter((e) => e[0] === 'gap').map((e) => e[1])).to.deep.equal(delayed
        ? [{ sym: 'DL', expected: '5-0', got: undefined, loss }]
        : [{ sym: 'RT1', expected: '10-0', got: undefined, loss }, { sym: 'RT2', expected: undefined, got: undefined, loss }]);
      expect(gateway.requests[asked].body).to.deep.equal({ op: 'snapshot', id: gateway.requests[asked].body.id, symbols: delayed ? ['DL'] : ['RT1', 'RT2'] });
    });
  }

  it('moves a held symbol between rates of one chain with since = the held id, and the catch-up is no gap', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A', 'B']);
    await deliver(client, frame('A', ['10-0', '10-1']));
    const log = record(client);
    gateway.onRequest = (r, ws, conn) => {
      if (r.since?.A) ws.send(frame('A', ['17-0'], r.since.A, 'conflated')); // the rate tier's catch-up
      tierAck(r, ws, conn);
    };
    await client.subscribe(['A', 'B', 'C'], { maxRate: 4 });
    expect(bodies()[1]).to.deep.equal({ op: 'subscribe', id: 2, symbols: ['A', 'B', 'C'], since: { A: '10-1' }, maxRate: 4 });
    await deliver(client, frame('A', ['22-0'], '17-0', 'conflated'));
    gateway.onRequest = (r, ws, conn) => {
      if (r.since?.A) ws.send(frame('A', ['22-1', '23-0'], r.since.A, 'replay')); // back to every tick: a replay
      tierAck(r, ws, conn);
    };
    await client.subscribe(['A']);
    expect(bodies()[2]).to.deep.equal({ op: 'subscribe', id: 3, symbols: ['A'], since: { A: '22-0' } });
    await deliver(client, frame('A', ['24-0'], '23-0'));
    expect(log.filter((e) => e[0] === 'gap')).to.deep.equal([]);
    expect(log.filter((e) => e[0] === 'ticks').map((e) => e[3])).to.deep.equal([['17-0'], ['22-0'], ['22-1', '23-0'], ['24-0']]);
    expect([client.tierOf('A')?.label, client.tierOf('B')?.label, client.tierOf('C')?.label]).to.deep.equal(['full', '4/s', '4/s']);
  });

  it('moves a held symbol between real time and delayed with a snapshot, whose older id starts the new chain', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    await deliver(client, frame('A', ['100-0']));
    const log = record(client);
    gateway.onRequest = (r, ws, conn) => {
      if (r.op !== 'subscribe') return tierAck(r, ws, conn);
      ws.send(frame('A', ['101-0'], '100-0')); // the real-time chain, still in flight when the server moved A
      ws.send(snapshotText(r.id, '40-0', [['A', '40-0']]));
      tierAck(r, ws, conn);
    };
    await client.subscribe(['A'], { delayed: true });
    expect(bodies()[1]).to.deep.equal({ op: 'subscribe', id: 2, symbols: ['A'], snapshot: true, delayed: true });
    await deliver(client, frame('A', ['41-0'], '40-0'), frame('A', ['43-0'], '42-0'));
    expect(log.filter((e) => e[1] !== SENTINEL)).to.deep.equal([
      ['ticks', 'A', 'live', ['101-0']],
      ['snapshot', ['A@40-0']],
      ['ticks', 'A', 'live', ['41-0']],
      ['gap', { sym: 'A', expected: '41-0', got: '42-0' }], // the delayed chain is checked as any other
      ['ticks', 'A', 'live', ['43-0']],
    ]);
    expect(client.duplicatesDropped).to.equal(0);
  });

  it('starts a new chain after a move to delayed whose snapshot has no tick of the symbol', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A']);
    await deliver(client, frame('A', ['100-0']));
    gateway.onRequest = (r, ws, conn) => {
      if (r.op === 'subscribe') ws.send(snapshotText(r.id, '40-0', []));
      tierAck(r, ws, conn);
    };
    await client.subscribe(['A'], { delayed: true });
    expect(client.lastId('A')).to.equal(undefined);
    const log = record(client);
    await deliver(client, frame('A', ['50-0'], '49-0'));
    expect(log).to.deep.equal([['ticks', 'A', 'live', ['50-0']]]);
  });

  it('keeps the old tier and held id when the server refuses a move', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A'], { delayed: true });
    await deliver(client, frame('A', ['10-0']));
    gateway.onRequest = (r, ws) => ws.send(encodeError({ id: r.id, code: 'FORBIDDEN', message: 'delayed data only: subscribe with "delayed":true' }));
    const err = await client.subscribe(['A', 'B']).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'FORBIDDEN');
    expect([client.tierOf('A')?.label, client.tierOf('B'), client.lastId('A')]).to.deep.equal(['delayed', undefined, '10-0']);
  });

  it('does not let a refused move undo a later move of the same symbol', async () => {
    client = connect(gateway.url);
    await client.subscribe(['A'], { maxRate: 1 });
    gateway.onRequest = (r, ws, conn) => {
      if (r.maxRate === 4) ws.send(encodeError({ id: r.id, code: 'CAPACITY_EXCEEDED', message: 'retry later' }));
      else tierAck(r, ws, conn);
    };
    const refused = client.subscribe(['A'], { maxRate: 4 }).catch((e: unknown) => e);
    const later = client.subscribe(['A'], { maxRate: 10 });
    expect(await refused).to.have.property('code', 'CAPACITY_EXCEEDED');
    await later;
    expect([client.tierOf('A')?.label, client.grantedTier('A')?.label]).to.deep.equal(['10/s', '10/s']);
  });

  it('after a move across chains made while disconnected, resubscribes that symbol with a snapshot, not since', async () => {
    client = connect(gateway.url, { reconnect: { initialDelayMs: 200, maxDelayMs: 200 } });
    await client.subscribe(['A', 'B']);
    await deliver(client, frame('A', ['10-0']), frame('B', ['11-0']));
    const closed = next(client, 'close');
    gateway.last.close(1001);
    await closed;
    const moved = client.subscribe(['A'], { delayed: true });
    await gateway.until(() => bodies(1).length === 2);
    await moved;
    const [dl, rt] = bodies(1);
    expect([dl, rt]).to.deep.equal([
      { op: 'subscribe', id: dl.id, symbols: ['A'], snapshot: true, delayed: true },
      { op: 'subscribe', id: rt.id, symbols: ['B'], since: { B: '11-0' } },
    ]);
  });
});
