import { expect } from 'chai';
import { symbolNames } from '../../src/producer/random-walk';
import { keyOf, shardKeys } from '../../src/streams/shards';
import { compareStreamIds } from '../../src/wire/tick';
import { GatewayProcess, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { ProducerProcess, startProducer } from '../helpers/producer';
import { ClusterClient, PrivateCluster, privateCluster } from '../helpers/redis-cluster';
import { TestClient } from '../helpers/ws-client';

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

    it('spreads the shard streams over every master, and each client gets exactly its symbols\' ticks in order', async () => {
      const masters = new Set(await Promise.all(KEYS.map(async (k) => (await cluster.masterOf(k)).port)));
      expect(masters.size).to.equal(3);
      for (const instance of ['a', 'b']) gateways.push(await startGateway(cluster.seeds, clusterFlags(instance)));
      await Promise.all(gateways.map((g) => waitUntil('gateway ready', async () => (await readyStatus(g.http)) === 200)));
      // Each gateway serves two clients, each on its own half of the symbols.
      for (const g of gateways) {
        for (const half of [SYMBOLS.slice(0, 12), SYMBOLS.slice(12)]) {
          const c = await TestClient.connect(g.url);
          clients.push(c);
          expect((await c.request({ op: 'subscribe', symbols: half })).type).to.equal('ack');
        }
      }
      producer = startProducer(cluster.seeds, ['--redis-cluster', '--shards', String(SHARDS), '--symbols', String(SYMBOLS.length),
        '--rate', '2000', '--count', '4000', '--maxlen', '0']);
      const last = async (sym: string) => (await idsInCluster(cluster.client, sym)).at(-1);
      await waitUntil('the producer wrote every tick', async () => {
        const lengths = await Promise.all(KEYS.map((k) => cluster.client.xLen(k)));
        return lengths.reduce((a, b) => a + b, 0) >= 4000;
      }, 20_000);
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
});
