/**
 * Several gateway processes on one port of one host (SO_REUSEPORT, which uSockets sets on every listen socket of a
 * fixed port): Linux spreads new connections over the processes, and when one dies the port keeps accepting
 * through the others. This is how one host holds more connections than one process's descriptor limit. Each
 * gateway's own figures come from its --metrics-port: a request to the shared port reaches whichever process the
 * kernel picks.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { freePort } from '../../src/net';
import { GatewayProcess, metricValue, waitUntil } from '../helpers/gateway';
import { xaddTicks } from '../helpers/redis';
import { fixture } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYMBOLS = ['R1', 'R2', 'R3', 'R4'];

interface Instance {
  gw: GatewayProcess;
  metrics: string;
}

describe('two gateway processes sharing one port (SO_REUSEPORT)', function () {
  this.timeout(60_000);
  const fx = fixture('each');

  async function instance(port: number, name: string): Promise<Instance> {
    const metricsPort = await freePort();
    const gw = await fx.gateway(['--port', String(port), '--instance', name, '--metrics-port', String(metricsPort)], false);
    const metrics = `http://127.0.0.1:${metricsPort}`;
    await waitUntil(`instance ${name} reading`, async () => (await metricValue(metrics, 'tickgate_reader_ready')) === 1);
    return { gw, metrics };
  }

  const open = (i: Instance) => metricValue(i.metrics, 'tickgate_connections_open');

  async function subscribedClients(port: number, n: number): Promise<TestClient[]> {
    return Promise.all(Array.from({ length: n }, async (_, k) => {
      const c = fx.keep(await TestClient.connect(`ws://127.0.0.1:${port}/v1/stream`));
      const ack = await c.request({ op: 'subscribe', symbols: [SYMBOLS[k % SYMBOLS.length]] }, 10_000);
      expect(ack.type, JSON.stringify(ack)).to.equal('ack');
      return c;
    }));
  }

  /** Writes `count` ticks; every client, subscribed before, must receive exactly those of its symbol, in order. */
  async function expectExactDelivery(clients: TestClient[], count: number, offset: number): Promise<void> {
    const ids = await xaddTicks(fx.producer, 'ticks', SYMBOLS, count, offset);
    const symOf = (k: number) => SYMBOLS[k % SYMBOLS.length];
    const want = new Map(SYMBOLS.map((s) => [s, ids.filter((_, i) => symOf(offset + i) === s)]));
    await waitUntil('every client has its symbol up to the last tick written', () =>
      clients.every((c, k) => c.idsOf(symOf(k)).at(-1) === want.get(symOf(k))!.at(-1)), 15_000);
    clients.forEach((c, k) => expect(c.idsOf(symOf(k)), `client ${k}`).to.deep.equal(want.get(symOf(k))));
  }

  it('both listen on the port and Linux spreads connections over them; after one is SIGKILLed the port serves every new connection through the other', async () => {
    const port = await freePort();
    const [a, b] = await Promise.all([instance(port, 'a'), instance(port, 'b')]);
    expect([a.gw.port, b.gw.port]).to.deep.equal([port, port]);

    const before = await subscribedClients(port, 40);
    const spread = [await open(a), await open(b)];
    expect(spread[0] + spread[1]).to.equal(40);
    // The kernel hashes each connection's addresses: all 40 on one process has a probability of 2^-39.
    expect(spread.every((n) => n > 0), `connections per process: ${spread}`).to.equal(true);
    await expectExactDelivery(before, 200, 0);

    await a.gw.stop('SIGKILL');
    await waitUntil("the killed process's clients to see their connection close",
      () => before.filter((c) => c.ws.readyState === WebSocket.CLOSED).length === spread[0]);

    const after = await subscribedClients(port, 20);
    expect(await open(b)).to.equal(spread[1] + 20);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
    await expectExactDelivery(after, 80, 200);
  });
});
