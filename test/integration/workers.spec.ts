import { expect } from 'chai';
import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, metricValue, waitUntil } from '../helpers/gateway';
import { PlainRedis, streamIdsOf, xaddTicks } from '../helpers/redis';
import { startStack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYMBOLS = Array.from({ length: 50 }, (_, i) => `W${i}`);

/** Open connections per worker, from the gateway's own gauge. */
async function perWorker(http: string, workers: number): Promise<number[]> {
  return Promise.all(Array.from({ length: workers }, (_, w) => metricValue(http, 'tickgate_connections_open', { worker: String(w) })));
}

for (const workers of [0, 2]) {
  const servers = Math.max(1, workers);
  describe(workers === 0 ? 'the main thread serving clients (--workers 0, the default)' : 'worker threads sharing one port and one registry', function () {
    this.timeout(120_000);
    let redis: PrivateRedis;
    let producer: PlainRedis;
    let gw: GatewayProcess;
    let clients: TestClient[] = [];

    before(async () => ({ redis, producer, gw } = await startStack(['--workers', String(workers)])));

    after(async () => {
      for (const c of clients) c.close();
      await stopStack({ redis, producer, gw });
    });

    it(`serves 1,000 clients${workers > 1 ? ' spread over every worker' : ''}; each gets exactly its ticks in order; registry counts match the clients`, async () => {
      const wanted: string[][] = [];
      for (let start = 0; start < 1000; start += 100) {
        const batch = await Promise.all(Array.from({ length: 100 }, () => TestClient.connect(gw.url)));
        clients.push(...batch);
      }
      await Promise.all(clients.map((c, i) => {
        const syms = [...new Set([SYMBOLS[i % 50], SYMBOLS[(i * 7 + 1) % 50]])];
        wanted.push(syms);
        return c.request({ op: 'subscribe', symbols: syms }, 20_000);
      }));
      expect(await metricValue(gw.http, 'tickgate_workers_alive')).to.equal(servers);
      const byWorker = await perWorker(gw.http, servers);
      expect(byWorker.reduce((a, b) => a + b)).to.equal(1000);
      expect(byWorker.every((n) => n > 0), `connections per worker: ${byWorker}`).to.equal(true);
      const subscriptions = wanted.reduce((n, s) => n + s.length, 0);
      expect(await metricValue(gw.http, 'tickgate_subscriptions')).to.equal(subscriptions);
      expect(await metricValue(gw.http, 'tickgate_active_topics')).to.equal(new Set(wanted.flat()).size);

      await xaddTicks(producer, 'ticks', SYMBOLS, 5000);
      const expected = new Map<string, string[]>();
      for (const s of SYMBOLS) expected.set(s, await streamIdsOf(producer, 'ticks', s));
      await waitUntil('all delivered', () => clients.every((c, i) => c.tickCount() === wanted[i].reduce((n, s) => n + expected.get(s)!.length, 0)), 60_000);
      clients.forEach((c, i) => {
        for (const s of wanted[i]) expect(c.idsOf(s), `client ${i} ${s}`).to.deep.equal(expected.get(s));
      });
      const delivered = await metricValue(gw.http, 'tickgate_ticks_delivered_total');
      expect(delivered).to.equal(clients.reduce((n, c) => n + c.tickCount(), 0));
    });

    it('restarts its servers on SIGUSR2: their clients are closed with 1012, reconnect, and the registry forgets the old sessions', async () => {
      for (const c of clients) c.close();
      await waitUntil('registry empty', async () => (await metricValue(gw.http, 'tickgate_connections_open')) === 0);
      clients = await Promise.all(Array.from({ length: 40 }, () => TestClient.connect(gw.url)));
      await Promise.all(clients.map((c) => c.request({ op: 'subscribe', symbols: ['W1'] })));
      gw.child.kill('SIGUSR2');
      const closes = await Promise.all(clients.map((c) => c.closed));
      expect(closes.every((c) => c.code === 1012)).to.equal(true);
      // Clients see 1012 before their server has closed; wait for every restart to complete.
      await waitUntil('every server restarted', async () => (await metricValue(gw.http, 'tickgate_worker_restarts_total').catch(() => -1)) === servers);
      await waitUntil('every server back', async () => (await metricValue(gw.http, 'tickgate_workers_alive').catch(() => -1)) === servers);
      await waitUntil('registry empty again', async () => (await metricValue(gw.http, 'tickgate_subscriptions')) === 0);

      clients = await Promise.all(Array.from({ length: 40 }, () => TestClient.connect(gw.url)));
      await Promise.all(clients.map((c) => c.request({ op: 'subscribe', symbols: ['W1'] })));
      const ids = await xaddTicks(producer, 'ticks', ['W1'], 100);
      await waitUntil('ticks after restart', () => clients.every((c) => c.tickCount() === 100));
      for (const c of clients) expect(c.idsOf('W1')).to.deep.equal(ids);
      expect(await metricValue(gw.http, 'tickgate_subscriptions')).to.equal(40);
    });
  });
}
