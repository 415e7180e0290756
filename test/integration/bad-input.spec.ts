import { expect } from 'chai';
import { get, IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, metricValue, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { plainClient, PlainRedis, privateRedis, streamIdsOf, tickFields } from '../helpers/redis';
import { Reply, TestClient } from '../helpers/ws-client';
import { DEFAULT_SERVERS, expectEveryWorkerServes } from '../helpers/workers';

describe('bad input', function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess;
  let strict: GatewayProcess;
  let healthy: TestClient;
  let feeding: Promise<void>;
  let stopFeed = false;
  const clients: TestClient[] = [];

  async function client(target = gw): Promise<TestClient> {
    const c = await TestClient.connect(target.url);
    clients.push(c);
    return c;
  }

  /** The error reply to one raw frame. */
  async function errorFor(frame: string | Buffer): Promise<Reply> {
    const c = await client();
    c.send(frame);
    return c.reply((r) => r.type === 'error');
  }

  before(async () => {
    redis = await privateRedis();
    producer = await plainClient(redis.url);
    gw = await startGateway(redis.url);
    strict = await startGateway(redis.url, ['--instance', 'strict', '--max-symbols', '5', '--max-payload', '1024',
      '--rate-limit', '10', '--rate-burst', '10', '--flood-close-after', '50']);
    await waitUntil('ready', async () => (await readyStatus(gw.http)) === 200);
    healthy = await TestClient.connect(gw.url);
    await healthy.request({ op: 'subscribe', symbols: ['HEALTHY'] });
    // A steady feed for the whole file: the healthy client must get every tick however others misbehave.
    feeding = (async () => {
      for (let i = 0; !stopFeed; i++) {
        await producer.xAdd('ticks', '*', tickFields('HEALTHY', i));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  after(async () => {
    stopFeed = true;
    await feeding;
    healthy?.close();
    await gw?.stop();
    await strict?.stop();
    await producer?.quit();
    await redis?.stop();
    killAll();
  });

  it('answers invalid JSON with BAD_REQUEST', async () => {
    expect(await errorFor('{"op":"subscribe",')).to.include({ code: 'BAD_REQUEST', message: 'request is not valid JSON' });
  });

  it('answers a JSON array with BAD_REQUEST', async () => {
    expect(await errorFor('[{"op":"ping"}]')).to.include({ code: 'BAD_REQUEST', message: 'request must be a JSON object' });
  });

  it('answers an unknown op with UNKNOWN_OP and echoes the id', async () => {
    expect(await errorFor('{"op":"buy","id":7}')).to.include({ code: 'UNKNOWN_OP', id: 7 });
  });

  it('answers a subscribe without symbols with BAD_REQUEST naming the field', async () => {
    expect(await errorFor('{"op":"subscribe","id":"a"}')).to.include({ code: 'BAD_REQUEST', id: 'a', message: '"symbols" is required' });
  });

  it('answers a subscribe to 10,000 symbols with TOO_MANY_SYMBOLS', async () => {
    const symbols = Array.from({ length: 10_000 }, (_, i) => `S${i}`);
    expect(await errorFor(JSON.stringify({ op: 'subscribe', id: 1, symbols }))).to.include({ code: 'TOO_MANY_SYMBOLS', id: 1 });
  });

  it('answers an invalid symbol with INVALID_SYMBOL naming it, and subscribes to none of the request', async () => {
    const c = await client();
    const r = await c.request({ op: 'subscribe', symbols: ['GOOD', 'bad symbol'] });
    expect(r).to.include({ code: 'INVALID_SYMBOL', message: 'invalid symbol "bad symbol"' });
    expect((await c.request({ op: 'subscriptions' })).symbols).to.deep.equal([]);
  });

  it('answers a binary frame with UNSUPPORTED_FRAME', async () => {
    expect(await errorFor(Buffer.from([1, 2, 3]))).to.include({ code: 'UNSUPPORTED_FRAME' });
  });

  it('closes a connection that sends a frame over the payload limit with 1009', async () => {
    const c = await client(strict);
    c.send('x'.repeat(2048));
    expect((await c.closed).code).to.equal(1009);
  });

  it('answers each request of a 1,000-request burst exactly once, RATE_LIMITED beyond the bucket, and keeps the connection', async () => {
    const c = await client();
    const t0 = Date.now();
    for (let i = 0; i < 1000; i++) c.send({ op: 'ping', id: i });
    await waitUntil('1,000 replies', () => c.replies.length === 1000);
    const took = Date.now() - t0;
    const ids = c.replies.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
    expect(ids).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i));
    // The bucket (the defaults: --rate-burst 200, --rate-limit 100/s) answers its 200 at once, then what refills
    // while the burst lasts; every other request is RATE_LIMITED.
    const acks = c.replies.filter((r) => r.type === 'ack').length;
    expect(acks).to.be.within(200, 200 + Math.ceil((100 * took) / 1000));
    expect(c.replies.filter((r) => r.code === 'RATE_LIMITED').length).to.equal(1000 - acks);
    expect((await c.request({ op: 'ping' }, 10_000)).type).to.be.oneOf(['ack', 'error']);
    expect(c.ws.readyState).to.equal(WebSocket.OPEN);
  });

  it('closes with 4002 a connection that keeps flooding after RATE_LIMITED errors', async () => {
    const c = await client(strict);
    for (let i = 0; i < 200; i++) c.send({ op: 'ping', id: i });
    expect((await c.closed).code).to.equal(4002);
    // 50 RATE_LIMITED within the window, and the close on the 51st refusal; a token refilled mid-burst is an ack.
    expect(c.replies.filter((r) => r.code === 'RATE_LIMITED').length).to.equal(50);
  });

  it('refuses more symbols than --max-symbols per connection, counting earlier subscriptions', async () => {
    const c = await client(strict);
    expect((await c.request({ op: 'subscribe', symbols: ['A', 'B', 'C'] })).type).to.equal('ack');
    expect(await c.request({ op: 'subscribe', symbols: ['A', 'D', 'E', 'F'] })).to.include({ code: 'TOO_MANY_SYMBOLS' });
    expect((await c.request({ op: 'subscribe', symbols: ['A', 'D', 'E'] })).type).to.equal('ack');
  });

  it('refuses an unsupported format or compression at upgrade with HTTP 400', async () => {
    for (const [query, message] of [['format=xml', 'unsupported format "xml"'], ['compression=gzip', 'unsupported compression "gzip"']]) {
      const res = await new Promise<IncomingMessage>((resolve, reject) =>
        get(`${gw.http}/v1/stream?${query}`, { headers: { upgrade: 'websocket', connection: 'Upgrade',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } }, resolve).once('error', reject));
      let body = '';
      for await (const chunk of res) body += chunk;
      expect(res.statusCode).to.equal(400);
      expect(JSON.parse(body)).to.include({ error: 'BAD_REQUEST' });
      expect(JSON.parse(body).message).to.contain(message);
    }
  });

  it('counts every client error by code, keeps running, and the healthy client got every tick in order', async () => {
    expect(await metricValue(gw.http, 'tickgate_client_errors_total', { code: 'BAD_REQUEST' })).to.be.at.least(3);
    expect(await metricValue(gw.http, 'tickgate_client_errors_total', { code: 'RATE_LIMITED' })).to.be.greaterThan(0);
    expect(await metricValue(strict.http, 'tickgate_client_errors_total', { code: 'MESSAGE_TOO_BIG' })).to.equal(1);
    expect(await readyStatus(gw.http)).to.equal(200);
    await waitUntil('the feed ran alongside', async () => (await streamIdsOf(producer, 'ticks', 'HEALTHY')).length > 20);
    stopFeed = true;
    await feeding;
    const expected = await streamIdsOf(producer, 'ticks', 'HEALTHY');
    await waitUntil('healthy client caught up', () => healthy.idsOf('HEALTHY').length >= expected.length);
    const got = healthy.idsOf('HEALTHY');
    // The healthy client subscribed before the feed started, so it must hold the whole stream of its symbol.
    expect(got).to.deep.equal(expected);
    expect(expected.length).to.be.greaterThan(20);
    await expectEveryWorkerServes(gw, producer, DEFAULT_SERVERS);
    await expectEveryWorkerServes(strict, producer, DEFAULT_SERVERS);
  });
});
