import { expect } from 'chai';
import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, metricValue, waitUntil } from '../helpers/gateway';
import { PlainRedis, streamIdsOf, xaddTicks } from '../helpers/redis';
import { startStack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYMBOLS = Array.from({ length: 20 }, (_, i) => `SYM${i}`);

describe('delivery through a real gateway and a real redis-server', function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess;
  const clients: TestClient[] = [];

  before(async () => ({ redis, producer, gw } = await startStack()));

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  after(() => stopStack({ redis, producer, gw }));

  it('gives each of 50 clients exactly the ticks of its 3 symbols, in stream order, with no duplicate or gap', async () => {
    const wanted: string[][] = [];
    for (let c = 0; c < 50; c++) {
      const client = await TestClient.connect(gw.url);
      const syms = [SYMBOLS[c % 20], SYMBOLS[(c * 7 + 3) % 20], SYMBOLS[(c * 13 + 11) % 20]];
      const unique = [...new Set(syms)];
      const ack = await client.request({ op: 'subscribe', symbols: unique });
      expect(ack).to.include({ type: 'ack', op: 'subscribe' });
      clients.push(client);
      wanted.push(unique);
    }
    await xaddTicks(producer, 'ticks', SYMBOLS, 5000);
    const expected = new Map<string, string[]>();
    for (const s of SYMBOLS) expected.set(s, await streamIdsOf(producer, 'ticks', s));
    const total = (c: number) => wanted[c].reduce((n, s) => n + expected.get(s)!.length, 0);
    await waitUntil('every client has its ticks', () => clients.every((cl, c) => cl.tickCount() >= total(c)), 20_000);
    clients.forEach((client, c) => {
      for (const s of wanted[c]) expect(client.idsOf(s), `client ${c} ${s}`).to.deep.equal(expected.get(s));
      expect([...client.ticks.keys()].sort(), `client ${c} got only its symbols`).to.deep.equal([...wanted[c]].sort());
      expect(client.unexpected).to.deep.equal([]);
    });
  });

  it('stops delivering an unsubscribed symbol and only that symbol', async () => {
    const client = await TestClient.connect(gw.url);
    clients.push(client);
    await client.request({ op: 'subscribe', symbols: ['SYM1', 'SYM2'] });
    await xaddTicks(producer, 'ticks', ['SYM1', 'SYM2'], 100);
    await waitUntil('first batch', () => client.tickCount() === 100);
    const ack = await client.request({ op: 'unsubscribe', symbols: ['SYM1'] });
    expect(ack).to.include({ type: 'ack', op: 'unsubscribe' });
    const after = await xaddTicks(producer, 'ticks', ['SYM1', 'SYM2'], 100);
    await waitUntil('second batch of SYM2', () => client.idsOf('SYM2').length === 100);
    expect(client.idsOf('SYM1')).to.have.length(50);
    expect(client.idsOf('SYM2').slice(50)).to.deep.equal(after.filter((_, i) => i % 2 === 1));
    const subs = await client.request({ op: 'subscriptions' });
    expect(subs.symbols).to.deep.equal(['SYM2']);
  });

  it('leaves no trace of sessions in the registry once every client has disconnected', async () => {
    for (let i = 0; i < 10; i++) {
      const client = await TestClient.connect(gw.url);
      await client.request({ op: 'subscribe', symbols: ['SYM3', 'SYM4', `SYM${5 + i}`] });
      clients.push(client);
    }
    expect(await metricValue(gw.http, 'tickgate_connections_open')).to.equal(10);
    expect(await metricValue(gw.http, 'tickgate_subscriptions')).to.equal(30);
    // Half close cleanly, half vanish without a close frame.
    clients.splice(0).forEach((c, i) => (i % 2 === 0 ? c.close() : c.ws.terminate()));
    await waitUntil('registry empty', async () => (await metricValue(gw.http, 'tickgate_connections_open')) === 0);
    expect(await metricValue(gw.http, 'tickgate_subscriptions')).to.equal(0);
    expect(await metricValue(gw.http, 'tickgate_active_topics')).to.equal(0);
  });

  it('acks every entry it reads, malformed ones included, and counts what it skipped', async () => {
    const client = await TestClient.connect(gw.url);
    clients.push(client);
    await client.request({ op: 'subscribe', symbols: ['SYM0'] });
    await producer.xAdd('ticks', '*', { sym: 'SYM0', px: 'not-a-price', sz: '1', ts: '1' });
    await producer.xAdd('ticks', '*', { px: '1.0', sz: '1', ts: '1' });
    const [good] = await xaddTicks(producer, 'ticks', ['SYM0'], 1);
    await waitUntil('good tick after bad ones', () => client.idsOf('SYM0').includes(good));
    expect(client.idsOf('SYM0')).to.deep.equal([good]);
    expect(await metricValue(gw.http, 'tickgate_malformed_entries_total', { kind: 'bad_price' })).to.equal(1);
    expect(await metricValue(gw.http, 'tickgate_malformed_entries_total', { kind: 'missing_field' })).to.equal(1);
    await waitUntil('all acked', async () => ((await producer.xPending('ticks', 'tickgate:test')).pending === 0));
  });
});
