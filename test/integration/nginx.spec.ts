/**
 * The nginx example (src/deploy/nginx.conf, run by Debian's nginx with only its port and gateway addresses
 * replaced) in front of two real gateways: `nginx -t` accepts it, WebSockets pass through, and a connection refused
 * by a dead gateway goes to the other (proxy_next_upstream). nginx OSS checks no /readyz, so there is no health
 * check to test.
 */
import { expect } from 'chai';
import { metricValue, waitUntil } from '../helpers/gateway';
import { Nginx, startNginx } from '../helpers/nginx';
import { xaddTicks } from '../helpers/redis';
import { fixture } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYMBOLS = ['N1', 'N2'];

describe('nginx in front of two gateways (src/deploy/nginx.conf)', function () {
  this.timeout(60_000);
  let proxy: Nginx | undefined;
  // Before the fixture's hook: nginx stops before the gateways and Redis it fronts.
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });
  const fx = fixture('each');

  async function subscribed(url: string): Promise<TestClient> {
    const c = fx.keep(await TestClient.connect(url));
    const ack = await c.request({ op: 'subscribe', symbols: SYMBOLS }, 10_000);
    expect(ack.type, JSON.stringify(ack)).to.equal('ack');
    return c;
  }

  /** Writes `count` ticks; every client, subscribed before, must receive exactly them. */
  async function expectExactDelivery(clients: TestClient[], count: number, offset: number): Promise<void> {
    const ids = await xaddTicks(fx.producer, 'ticks', SYMBOLS, count, offset);
    const want = (s: string) => ids.filter((_, i) => SYMBOLS[(offset + i) % SYMBOLS.length] === s);
    await waitUntil('every client has every tick', () => clients.every((c) => SYMBOLS.every((s) => c.idsOf(s).at(-1) === want(s).at(-1))), 15_000);
    for (const c of clients) for (const s of SYMBOLS) expect(c.idsOf(s), s).to.deep.equal(want(s));
  }

  it('passes nginx -t and WebSockets through to both gateways; after one is SIGKILLed every new connection reaches the other', async () => {
    const [a, b] = await Promise.all([fx.gateway(['--instance', 'a']), fx.gateway(['--instance', 'b'])]);
    proxy = await startNginx([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
    expect(proxy.checked).to.match(/test is successful/);

    const before = [await subscribed(proxy.url), await subscribed(proxy.url)];
    expect([await metricValue(a.http, 'tickgate_connections_open'), await metricValue(b.http, 'tickgate_connections_open')]).to.deep.equal([1, 1]);
    await expectExactDelivery(before, 40, 0);

    await a.stop('SIGKILL');
    const after: TestClient[] = [];
    for (let i = 0; i < 4; i++) after.push(await subscribed(proxy.url));
    expect(await metricValue(b.http, 'tickgate_connections_open')).to.equal(1 + 4);
    await expectExactDelivery(after, 40, 40);
  });
});
