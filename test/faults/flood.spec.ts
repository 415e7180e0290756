import { expect } from 'chai';
import WebSocket from 'ws';
import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, metricValue, waitUntil } from '../helpers/gateway';
import { PlainRedis, streamIdsOf, xaddTicks } from '../helpers/redis';
import { startStack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

/** The gateway's defaults: --rate-limit 100, --rate-burst 200, --flood-close-after 2000, --flood-window-s 10. */
const RATE_LIMIT = 100;
const WINDOW_MS = 10_000;
/** Scheduling noise of a loaded 2-vCPU machine on top of the documented window. */
const MARGIN_MS = 2_000;
const FLOODERS = 20;

describe('fault: clients flooding at 20× the rate limit', function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess;
  const clients: TestClient[] = [];

  before(async () => ({ redis, producer, gw } = await startStack()));

  after(async () => {
    for (const c of clients.splice(0)) c.close();
    await stopStack({ redis, producer, gw });
  });

  it('closes each of 20 flooders with 4002 within the flood window; a one-off burst and a subscriber are untouched', async () => {
    const healthy = await TestClient.connect(gw.url);
    const burst = await TestClient.connect(gw.url);
    clients.push(healthy, burst);
    expect(await healthy.request({ op: 'subscribe', symbols: ['HEALTHY'] })).to.include({ type: 'ack' });
    const flooders = await Promise.all(Array.from({ length: FLOODERS }, () => TestClient.connect(gw.url)));
    clients.push(...flooders);

    let feeding = true;
    const feed = (async () => {
      for (let i = 0; feeding; i += 20) {
        await xaddTicks(producer, 'ticks', ['HEALTHY'], 20, i);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // 20× the limit from the first request on: each connection catches up to 2 requests per elapsed ms, every 10 ms.
    const started = Date.now();
    const sent = new Array<number>(FLOODERS).fill(0);
    const closedAfter = flooders.map((c) => c.closed.then(({ code }) => ({ code, ms: Date.now() - started })));
    const pump = setInterval(() => {
      const due = ((Date.now() - started) * 20 * RATE_LIMIT) / 1000;
      flooders.forEach((c, k) => {
        while (c.ws.readyState === WebSocket.OPEN && sent[k] < due) c.send({ op: 'ping', id: sent[k]++ });
      });
    }, 10);
    // A one-off burst of 500: 200 served from the bucket (plus what refills at 100/s while it arrives), the rest
    // RATE_LIMITED: far from 2,000 in the window.
    for (let i = 0; i < 500; i++) burst.send({ op: 'ping', id: i });

    const closes = await Promise.all(closedAfter);
    clearInterval(pump);
    const slowest = Math.max(...closes.map((c) => c.ms));
    const rates = sent.map((n, k) => Math.round(n / (closes[k].ms / 1000)));
    console.log(`      ${FLOODERS} flooders at ~${Math.min(...rates)}–${Math.max(...rates)} requests/s (limit ${RATE_LIMIT}/s): ` +
      `all closed within ${Math.min(...closes.map((c) => c.ms))}–${slowest} ms`);
    expect(closes.map((c) => c.code)).to.deep.equal(new Array(FLOODERS).fill(4002));
    expect(slowest).to.be.at.most(WINDOW_MS + MARGIN_MS);
    // Each flooder was told RATE_LIMITED exactly --flood-close-after times before its close.
    for (const c of flooders) expect(c.replies.filter((r) => r.code === 'RATE_LIMITED').length).to.equal(2000);

    await waitUntil('the burst answered', () => burst.replies.length === 500);
    const limited = burst.replies.filter((r) => r.code === 'RATE_LIMITED').length;
    expect(limited).to.be.within(250, 300);
    expect(burst.replies.filter((r) => r.type === 'ack').length).to.equal(500 - limited);
    expect(burst.ws.readyState).to.equal(WebSocket.OPEN);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await burst.request({ op: 'ping' })).to.include({ type: 'ack' });

    feeding = false;
    await feed;
    const expected = await streamIdsOf(producer, 'ticks', 'HEALTHY');
    await waitUntil('the subscriber has every tick', () => healthy.idsOf('HEALTHY').length >= expected.length);
    expect(healthy.idsOf('HEALTHY')).to.deep.equal(expected);
    expect(healthy.ws.readyState).to.equal(WebSocket.OPEN);
    expect(await metricValue(gw.http, 'tickgate_client_errors_total', { code: 'FLOODING' })).to.equal(FLOODERS);

    // Still serving: a new client subscribes and gets a new tick.
    const fresh = await TestClient.connect(gw.url);
    clients.push(fresh);
    expect(await fresh.request({ op: 'subscribe', symbols: ['AFTER'] })).to.include({ type: 'ack' });
    const [id] = await xaddTicks(producer, 'ticks', ['AFTER'], 1);
    await waitUntil('the new client has its tick', () => fresh.idsOf('AFTER').length === 1);
    expect(fresh.idsOf('AFTER')).to.deep.equal([id]);
  });
});
