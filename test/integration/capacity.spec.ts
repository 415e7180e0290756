/**
 * The capacity limits of a worker, against a real gateway: --session-capacity (close 4006, and the 503 refusal when
 * the table of client addresses is full) and --topic-capacity (CAPACITY_EXCEEDED, all or nothing).
 */
import { expect } from 'chai';
import { metricValue, waitUntil } from '../helpers/gateway';
import { fixture } from '../helpers/stack';
import { refusalOf } from '../helpers/upgrade';
import { TestClient } from '../helpers/ws-client';
import WebSocket from 'ws';

/** The smallest capacity the configuration accepts: small enough to fill from a test. */
const CAPACITY = 16;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FULL = 'gateway at its connection capacity; retry with backoff';

/** A connection from the loopback address 127.0.0.`host` (the whole 127/8 reaches a gateway on 127.0.0.1). */
const from = (host: number): WebSocket.ClientOptions => ({ localAddress: `127.0.0.${host}` });

describe('worker capacity', function () {
  this.timeout(30_000);
  const fx = fixture();

  describe('--session-capacity', () => {
    it('closes the connection beyond a worker\'s capacity with 4006, and admits one again after another leaves', async () => {
      const gw = await fx.gateway(['--workers', '1', '--session-capacity', String(CAPACITY)]);
      const held = await Promise.all(Array.from({ length: CAPACITY }, () => TestClient.connect(gw.url).then((c) => fx.keep(c))));
      const beyond = fx.keep(await TestClient.connect(gw.url));
      // uWS sends the close at once; 2 s is margin for a loaded machine, not a timer of the gateway.
      expect(await Promise.race([beyond.closed, sleep(2000).then(() => 'still open')])).to.deep.equal({ code: 4006, reason: FULL });
      for (const c of held) expect(c.ws.readyState, 'connections within capacity stay open').to.equal(WebSocket.OPEN);
      held[0].close();
      await waitUntil('a slot freed', async () => (await metricValue(gw.http, 'tickgate_connections_open')) === CAPACITY - 1);
      const next = fx.keep(await TestClient.connect(gw.url));
      expect(await next.request({ op: 'ping' })).to.deep.include({ type: 'ack' });
    });

    it('refuses the upgrade with 503 TOO_MANY_CONNECTIONS (reason capacity) once the address table (capacity × workers) is full', async () => {
      // One worker: which worker the kernel hands a connection to is a hash, so with two a worker could fill first.
      // 17, not a power of two: the table holds exactly that many, not the 32 slots it is rounded up to.
      const room = CAPACITY + 1;
      const gw = await fx.gateway(['--workers', '1', '--session-capacity', String(room)]);
      // One connection from each of `room` distinct addresses: the table is full; the next address is refused at the
      // upgrade, before any worker would close it with 4006.
      const held = await Promise.all(Array.from({ length: room }, (_, k) => TestClient.connect(gw.url, from(2 + k)).then((c) => fx.keep(c))));
      const refusal = await refusalOf(gw.url, { localAddress: `127.0.0.${2 + room}` });
      expect([refusal.status, refusal.body]).to.deep.equal([503, { error: 'TOO_MANY_CONNECTIONS', message: FULL }]);
      expect(await metricValue(gw.http, 'tickgate_upgrades_rejected_total', { reason: 'capacity' })).to.equal(1);
      held[1].close();
      await waitUntil('an address freed', async () => (await metricValue(gw.http, 'tickgate_connections_open')) === room - 1);
      const next = fx.keep(await TestClient.connect(gw.url, from(2 + room)));
      expect(await next.request({ op: 'ping' })).to.deep.include({ type: 'ack' });
    });
  });

  describe('--topic-capacity', () => {
    it('refuses a subscribe that would pass the worker\'s topics as a whole (CAPACITY_EXCEEDED), and takes it once topics are released', async () => {
      const gw = await fx.gateway(['--workers', '1', '--topic-capacity', String(CAPACITY)]);
      const c = fx.keep(await TestClient.connect(gw.url));
      const first = Array.from({ length: 10 }, (_, i) => `A${i}`);
      const second = Array.from({ length: 7 }, (_, i) => `B${i}`);
      await c.request({ op: 'subscribe', symbols: first });
      const refused = await c.request({ op: 'subscribe', symbols: second });
      expect(refused).to.deep.equal({ type: 'error', id: refused.id, code: 'CAPACITY_EXCEEDED',
        message: 'the gateway cannot track more topics now; retry later' });
      expect(await c.request({ op: 'subscriptions' })).to.deep.include({ symbols: first });
      expect(await metricValue(gw.http, 'tickgate_active_topics'), 'topics held after the refusal').to.equal(first.length);
      expect(await metricValue(gw.http, 'tickgate_subscriptions')).to.equal(first.length);
      // Nothing of the refused request holds a topic: with one released, all 7 fit exactly (9 + 7 = 16).
      await c.request({ op: 'unsubscribe', symbols: [first[0]] });
      expect(await c.request({ op: 'subscribe', symbols: second })).to.deep.include({ type: 'ack', symbols: second });
      expect(await c.request({ op: 'subscribe', symbols: ['C'] })).to.deep.include({ code: 'CAPACITY_EXCEEDED' });
    });
  });
});
