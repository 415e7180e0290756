/**
 * The shipped HAProxy configuration (src/deploy/haproxy.cfg, run unmodified by Debian's haproxy with its
 * environment variables set) in front of two real gateways on one private Redis: WebSocket pass-through, health
 * checks on /readyz, redispatch of refused upgrades, a reload that drains, the per-client limit, and a client
 * resuming through it with `since` after its gateway died. Clients are real WebSockets to HAProxy's port; which
 * gateway holds them is read from each gateway's own /metrics (on its own port) and from HAProxy's admin socket.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { freePort } from '../../src/net';
import { GatewayProcess, metricValue, startGateway, waitUntil } from '../helpers/gateway';
import { Haproxy, startHaproxy } from '../helpers/haproxy';
import { streamIdsOf, xaddTicks } from '../helpers/redis';
import { fixture } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYMBOLS = ['H1', 'H2', 'H3'];

const address = (g: GatewayProcess) => `127.0.0.1:${g.port}`;
const connections = (g: GatewayProcess) => metricValue(g.http, 'tickgate_connections_open');

describe('HAProxy in front of two gateways (src/deploy/haproxy.cfg)', function () {
  this.timeout(60_000);
  let lb: Haproxy | undefined;
  // Before the fixture's hook: HAProxy stops before the gateways and Redis it fronts.
  afterEach(async () => {
    await lb?.stop();
    lb = undefined;
  });
  const fx = fixture('each');

  const twoGateways = () => Promise.all([fx.gateway(['--instance', 'a']), fx.gateway(['--instance', 'b'])]);

  /** A client through HAProxy, subscribed to every symbol; closed when the test ends. */
  async function subscribed(url: string, since?: Record<string, string>): Promise<TestClient> {
    const c = fx.keep(await TestClient.connect(url));
    const ack = await c.request({ op: 'subscribe', symbols: SYMBOLS, ...(since ? { since } : {}) }, 10_000);
    expect(ack.type, JSON.stringify(ack)).to.equal('ack');
    return c;
  }

  /** Writes `count` ticks and waits until every client holds every tick of the stream. */
  async function deliver(clients: TestClient[], count: number): Promise<void> {
    await xaddTicks(fx.producer, 'ticks', SYMBOLS, count);
    const want = await Promise.all(SYMBOLS.map((s) => streamIdsOf(fx.producer, 'ticks', s)));
    await waitUntil('every client has every tick', () => clients.every((c) => SYMBOLS.every((s, i) => c.idsOf(s).at(-1) === want[i].at(-1))), 15_000);
  }

  it('passes WebSocket upgrades through to both gateways (least connections), and their clients get exactly the stream', async () => {
    const [a, b] = await twoGateways();
    lb = await startHaproxy({ gateways: [address(a), address(b)] });
    const clients: TestClient[] = [];
    for (let i = 0; i < 4; i++) clients.push(await subscribed(lb.url));
    expect([await connections(a), await connections(b)]).to.deep.equal([2, 2]);

    await deliver(clients, 300);
    for (const s of SYMBOLS) {
      const want = await streamIdsOf(fx.producer, 'ticks', s);
      for (const c of clients) expect(c.idsOf(s)).to.deep.equal(want);
    }
  });

  it('redispatches every upgrade a dead gateway refuses to the other one, before any health check has noticed', async () => {
    const [a, b] = await twoGateways();
    lb = await startHaproxy({ gateways: [address(a), address(b)] });
    // One client on each gateway, then health checks off for gw1: HAProxy still counts it UP whatever happens.
    const first = [await subscribed(lb.url), await subscribed(lb.url)];
    expect([await connections(a), await connections(b)]).to.deep.equal([1, 1]);
    await lb.admin('disable health gateways/gw1');
    await a.stop('SIGKILL');
    await Promise.race(first.map((c) => c.closed));
    await waitUntil('HAProxy to drop the dead gateway\'s session', async () => (await lb!.servers()).get('gw1')!.sessions === 0);

    // Least connections picks gw1 (0 sessions) first for every one of them; each refusal is retried on gw2.
    const after: TestClient[] = [];
    for (let i = 0; i < 5; i++) after.push(await subscribed(lb.url));
    const gw1 = (await lb.servers()).get('gw1')!;
    expect(gw1.status).to.not.match(/DOWN/);
    expect({ sent: gw1.total, redispatched: gw1.redispatched }).to.deep.equal({ sent: 1 + 5, redispatched: 5 });
    expect(await connections(b)).to.equal(6);
    await deliver(after, 60);
  });

  it('a client whose gateway was SIGKILLed reconnects through HAProxy with since and gets exactly the ticks it missed', async () => {
    const [a, b] = await twoGateways();
    lb = await startHaproxy({ gateways: [address(a), address(b)] });
    const clients = [await subscribed(lb.url), await subscribed(lb.url)];
    await deliver(clients, 90);

    await a.stop('SIGKILL');
    const closed = await Promise.race(clients.map(async (c) => ({ c, close: await c.closed })));
    const dropped = closed.c;
    const held = Object.fromEntries(SYMBOLS.map((s) => [s, dropped.idsOf(s).at(-1)!]));
    await xaddTicks(fx.producer, 'ticks', SYMBOLS, 90, 90);
    await lb.waitForStatus('gw1', 'DOWN');

    const resumed = await subscribed(lb.url, held);
    await deliver([resumed], 30);
    expect(await connections(b)).to.equal(2);
    for (const s of SYMBOLS) {
      const want = await streamIdsOf(fx.producer, 'ticks', s);
      expect([...dropped.idsOf(s), ...resumed.idsOf(s)], s).to.deep.equal(want);
      const firstFrame = resumed.frames.find((f) => f.sym === s)!;
      expect({ kind: firstFrame.kind, prev: firstFrame.prev }).to.deep.equal({ kind: 'replay', prev: held[s] });
    }
  });

  it('takes out of rotation a gateway whose /readyz answers 503 (Redis unreachable) or nothing (SIGSTOP), and back once it answers 200', async () => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const [unready, frozen, b] = await Promise.all([
      startGateway(deadRedis, ['--instance', 'a']), fx.gateway(['--instance', 'b']), fx.gateway(['--instance', 'c'])]);
    try {
      expect((await fetch(`${unready.http}/readyz`)).status).to.equal(503);
      lb = await startHaproxy({ gateways: [address(unready), address(frozen), address(b)] });
      frozen.child.kill('SIGSTOP');
      await lb.waitForStatus('gw1', 'DOWN');
      await lb.waitForStatus('gw2', 'DOWN');
      const clients: TestClient[] = [];
      for (let i = 0; i < 4; i++) clients.push(await subscribed(lb.url));
      expect(await connections(b)).to.equal(4);
      expect([...(await lb.servers()).values()].map((s) => s.total)).to.deep.equal([0, 0, 4]);
      await deliver(clients, 60);

      frozen.child.kill('SIGCONT');
      await lb.waitForStatus('gw2', 'UP');
    } finally {
      await unready.stop('SIGKILL');
    }
  });

  it('on reload keeps open WebSockets on the old process until hard-stop-after, then the client resumes through the new one', async () => {
    const [a, b] = await twoGateways();
    lb = await startHaproxy({ gateways: [address(a), address(b)], env: { TICKGATE_LB_HARD_STOP_AFTER: '3s' } });
    const old = await subscribed(lb.url);
    await deliver([old], 30);
    await lb.reload();
    // The old process no longer listens but still carries this WebSocket.
    await deliver([old], 30);
    const close = await old.closed;
    expect(close.code).to.equal(1006);
    expect(lb.logs.some((l) => /performing a hard-stop/.test(l)), lb.logs.join('\n')).to.equal(true);

    await xaddTicks(fx.producer, 'ticks', SYMBOLS, 30, 60);
    const held = Object.fromEntries(SYMBOLS.map((s) => [s, old.idsOf(s).at(-1)!]));
    const resumed = await subscribed(lb.url, held);
    await deliver([resumed], 30);
    for (const s of SYMBOLS) expect([...old.idsOf(s), ...resumed.idsOf(s)], s).to.deep.equal(await streamIdsOf(fx.producer, 'ticks', s));
    expect((await connections(a)) + (await connections(b))).to.equal(1);
  });

  it('refuses a client address over TICKGATE_LB_MAX_CONNECTIONS_PER_IP with 429 TOO_MANY_CONNECTIONS, like the gateway', async () => {
    const [a, b] = await twoGateways();
    lb = await startHaproxy({ gateways: [address(a), address(b)], env: { TICKGATE_LB_MAX_CONNECTIONS_PER_IP: '2' } });
    const open = [await subscribed(lb.url), await subscribed(lb.url)];
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(lb!.url);
      ws.once('open', () => reject(new Error('a third connection was accepted')));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refused.status).to.equal(429);
    expect(JSON.parse(refused.body)).to.include({ error: 'TOO_MANY_CONNECTIONS' });
    expect((await connections(a)) + (await connections(b))).to.equal(2);

    // HAProxy closes the refused connection itself (else it would hold a place until its keep-alive timeout).
    open[0].close();
    await open[0].closed;
    await waitUntil('HAProxy to count one connection from 127.0.0.1', async () => /key=127\.0\.0\.1 .*conn_cur=1\b/.test(await lb!.admin('show table tickgate')));
    await subscribed(lb.url);
  });
});
