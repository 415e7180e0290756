import { expect } from 'chai';
import { connect, TickgateClient } from '../../src/client/node';
import { symbolNames } from '../../src/producer/random-walk';
import { keyOf, shardKeys } from '../../src/streams/shards';
import { compareStreamIds } from '../../src/wire/tick';
import { GatewayProcess, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { ProducerProcess, startProducer } from '../helpers/producer';
import { ClusterClient, PrivateCluster, privateCluster } from '../helpers/redis-cluster';
import { TestClient } from '../helpers/ws-client';
import { Haproxy, startHaproxy } from '../helpers/haproxy';
import { expectWholeAcrossFailover, FORMATS, RESUME_WITHIN_MS, symbolsOf, watch } from '../helpers/failover';

const SHARDS = 8;
const KEYS = shardKeys('ticks', SHARDS);
const SYMBOLS = symbolNames(24);

/** The ids of `sym` in its shard stream, in stream order: what a subscriber must receive. */
async function idsInCluster(client: ClusterClient, sym: string): Promise<string[]> {
  const entries = await client.xRange(keyOf(sym, KEYS), '-', '+');
  return entries.filter((e) => e.message.sym === sym).map((e) => e.id);
}

/** Every tick of `sym` from the client's first on, once, in order: the stream's entries from there. */
async function expectWhole(client: ClusterClient, got: string[], sym: string): Promise<void> {
  const all = await idsInCluster(client, sym);
  expect(got.length, `${sym}: ticks received`).to.be.greaterThan(0);
  expect(got, sym).to.deep.equal(all.slice(all.indexOf(got[0])));
}

const clusterFlags = (instance: string) =>
  ['--redis-cluster', '--shards', String(SHARDS), '--instance', instance, '--redis-backoff-max-ms', '500'];

describe('fault: a Redis Cluster with sharded streams', function () {
  this.timeout(90_000);

  describe('3 masters, --shards 8, two gateways', () => {
    let cluster: PrivateCluster;
    const gateways: GatewayProcess[] = [];
    const clients: TestClient[] = [];
    let producer: ProducerProcess | undefined;

    before(async () => {
      cluster = await privateCluster(3);
    });
    after(async () => {
      for (const c of clients) c.ws.terminate();
      await producer?.stop();
      await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
      await cluster.stop();
      killAll();
    });

    /**
     * 12 SDK clients, 4 symbols each, all on A, given [A, B] or one HAProxy URL in front of both; A gets `signal`
     * mid-stream: each must be served by B for every one of its symbols within 5 s and, per symbol, hold exactly the
     * cluster's entries from its first tick on.
     */
    async function failover(signal: 'SIGKILL' | 'SIGTERM', instances: [string, string], via: 'urls' | 'haproxy' = 'urls'): Promise<void> {
      const [a, b] = [await startGateway(cluster.seeds, clusterFlags(instances[0])), await startGateway(cluster.seeds, clusterFlags(instances[1]))];
      gateways.push(a, b);
      await Promise.all([a, b].map((g) => waitUntil('gateway ready', async () => (await readyStatus(g.http)) === 200)));
      let lb: Haproxy | undefined;
      if (via === 'haproxy') {
        lb = await startHaproxy({ gateways: [a, b].map((g) => `127.0.0.1:${g.port}`) });
        // Every client on A first: B out of rotation until they are connected.
        await lb.admin('set server gateways/gw2 state maint');
      }
      const urls = lb ? lb.url : [a.url, b.url];
      const servedByB = (c: TickgateClient) => (lb ? c.url === lb.url : c.url === b.url);
      producer = startProducer(cluster.seeds, ['--redis-cluster', '--shards', String(SHARDS), '--symbols', String(SYMBOLS.length),
        '--rate', '800', '--maxlen', '0']);
      let killed = false;
      const sdk: TickgateClient[] = [];
      const closes: number[] = [];
      const watched = Array.from({ length: 12 }, (_, i) => {
        sdk.push(connect(urls, FORMATS[i % FORMATS.length]));
        sdk[i].on('close', (code) => closes.push(code));
        return watch(sdk[i], symbolsOf(i, SYMBOLS), () => killed);
      });
      try {
        await Promise.all(watched.map((w) => w.client.subscribe(w.symbols)));
        await waitUntil('ticks flowing to every client', () => watched.every((w) => w.symbols.every((s) => w.ids.get(s)!.length >= 5)), 15_000);
        if (lb) {
          expect((await lb.servers()).get('gw1')?.sessions, 'clients on A through HAProxy').to.equal(12);
          await lb.admin('set server gateways/gw2 state ready');
        }
        a.child.kill(signal);
        killed = true;
        await waitUntil('every client served by gateway B for each of its symbols', () =>
          watched.every((w) => servedByB(w.client) && w.client.isOpen && w.afterKill.size === w.symbols.length), RESUME_WITHIN_MS);
        if (lb) expect((await lb.servers()).get('gw2')?.sessions, 'clients on B through HAProxy').to.equal(12);
        if (signal === 'SIGTERM') {
          expect(closes, 'close codes of the drain').to.deep.equal(new Array(12).fill(4007));
          expect(await a.exited, 'exit status of the drained gateway').to.equal(0);
        }
        await new Promise((r) => setTimeout(r, 500));
        await producer.stop();
        producer = undefined;
        for (const w of watched) expect(w.reconnects).to.deep.equal([lb ? lb.url : b.url]);
        await expectWholeAcrossFailover(watched, (sym) => idsInCluster(cluster.client, sym));
      } finally {
        for (const c of sdk) c.close();
        await lb?.stop();
      }
    }

    it('resumes 12 SDK clients of a SIGKILLed gateway on the other within 5 s: per symbol the cluster\'s entries, no gap, no duplicate', () =>
      failover('SIGKILL', ['c', 'd']));

    it('does the same for 12 clients given one HAProxy URL in front of both gateways', () =>
      failover('SIGKILL', ['g', 'h'], 'haproxy'));

    it('drains on SIGTERM: its 12 SDK clients get 4007, move to the other gateway at once and lose nothing', () =>
      failover('SIGTERM', ['e', 'f']));

    it('spreads the shard streams over every master, and each client gets exactly its symbols\' ticks in order', async () => {
      const masters = new Set(await Promise.all(KEYS.map(async (k) => (await cluster.masterOf(k)).port)));
      expect(masters.size).to.equal(3);
      const pair = [await startGateway(cluster.seeds, clusterFlags('a')), await startGateway(cluster.seeds, clusterFlags('b'))];
      gateways.push(...pair);
      await Promise.all(pair.map((g) => waitUntil('gateway ready', async () => (await readyStatus(g.http)) === 200)));
      // Each gateway serves two clients, each on its own half of the symbols.
      for (const g of pair) {
        for (const half of [SYMBOLS.slice(0, 12), SYMBOLS.slice(12)]) {
          const c = await TestClient.connect(g.url);
          clients.push(c);
          expect((await c.request({ op: 'subscribe', symbols: half })).type).to.equal('ack');
        }
      }
      const written = async () => (await Promise.all(KEYS.map((k) => cluster.client.xLen(k)))).reduce((a, b) => a + b, 0);
      const before = await written();
      producer = startProducer(cluster.seeds, ['--redis-cluster', '--shards', String(SHARDS), '--symbols', String(SYMBOLS.length),
        '--rate', '2000', '--count', '4000', '--maxlen', '0']);
      const last = async (sym: string) => (await idsInCluster(cluster.client, sym)).at(-1);
      await waitUntil('the producer wrote every tick', async () => (await written()) >= before + 4000, 20_000);
      const lastIds = new Map(await Promise.all(SYMBOLS.map(async (s) => [s, await last(s)] as const)));
      await waitUntil('every client received the last tick of each of its symbols', () => clients.every((c, i) =>
        (i % 2 === 0 ? SYMBOLS.slice(0, 12) : SYMBOLS.slice(12)).every((s) => c.ticks.get(s)?.at(-1)?.id === lastIds.get(s))), 15_000);
      for (const [i, c] of clients.entries()) {
        for (const sym of i % 2 === 0 ? SYMBOLS.slice(0, 12) : SYMBOLS.slice(12)) {
          await expectWhole(cluster.client, c.ticks.get(sym)!.map((t) => t.id), sym);
        }
        expect([...c.ticks.keys()].every((s) => (i % 2 === 0 ? SYMBOLS.slice(0, 12) : SYMBOLS.slice(12)).includes(s))).to.equal(true);
      }
      for (const c of clients) {
        for (const f of c.frames) for (let k = 1; k < f.ids.length; k++) expect(compareStreamIds(f.ids[k], f.ids[k - 1])).to.equal(1);
      }
    });
  });

  describe('3 masters with a replica each: a master killed', () => {
    let cluster: PrivateCluster;
    let gateway: GatewayProcess;
    let client: TestClient;
    let producer: ProducerProcess | undefined;

    before(async () => {
      cluster = await privateCluster(3, 1);
    });
    after(async () => {
      client?.ws.terminate();
      await producer?.stop();
      await gateway?.stop('SIGKILL');
      await cluster.stop();
      killAll();
    });

    it('loses nothing and sends nothing backwards while a replica takes over, and /readyz says so meanwhile', async () => {
      gateway = await startGateway(cluster.seeds, clusterFlags('a'));
      await waitUntil('gateway ready', async () => (await readyStatus(gateway.http)) === 200);
      client = await TestClient.connect(gateway.url);
      expect((await client.request({ op: 'subscribe', symbols: SYMBOLS })).type).to.equal('ack');
      producer = startProducer(cluster.seeds, ['--redis-cluster', '--shards', String(SHARDS), '--symbols', String(SYMBOLS.length),
        '--rate', '400', '--maxlen', '0']);
      await waitUntil('ticks flowing', () => SYMBOLS.every((s) => (client.ticks.get(s)?.length ?? 0) >= 3), 15_000);

      const victim = await cluster.masterOf(KEYS[0]);
      victim.child.kill('SIGKILL');
      const statuses: number[] = [];
      const watching = (async () => {
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline && !(statuses.includes(503) && statuses.at(-1) === 200)) {
          statuses.push(await readyStatus(gateway.http));
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await cluster.settled(20_000);
      await watching;
      expect(statuses, '/readyz during the failover').to.include(503);
      expect(statuses.at(-1), '/readyz once the replica took over').to.equal(200);
      // The shard of the dead master takes writes again, and the gateway reads them.
      const before = await cluster.client.xLen(KEYS[0]);
      await waitUntil('the promoted shard grows', async () => (await cluster.client.xLen(KEYS[0])) > before + 10, 15_000);
      await producer.stop();
      producer = undefined;

      const lastIds = new Map(await Promise.all(SYMBOLS.map(async (s) => [s, (await idsInCluster(cluster.client, s)).at(-1)] as const)));
      await waitUntil('the client received the last tick of every symbol', () =>
        SYMBOLS.every((s) => client.ticks.get(s)?.at(-1)?.id === lastIds.get(s)), 15_000);
      expect(client.replies.filter((r) => r.type === 'gap'), 'gap announcements').to.deep.equal([]);
      for (const sym of SYMBOLS) await expectWhole(cluster.client, client.ticks.get(sym)!.map((t) => t.id), sym);
    });
  });
});
