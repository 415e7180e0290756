import { expect } from 'chai';
import { connect, DataFrame, GapEvent, TickgateClient } from '../../src/client/node';
import { PrivateRedis } from '../../src/demo/private-redis';
import { symbolNames } from '../../src/producer/random-walk';
import { compareStreamIds } from '../../src/wire/tick';
import { GatewayProcess, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { ProducerProcess, startProducer } from '../helpers/producer';
import { plainClient, PlainRedis, privateRedis, streamIdsOf } from '../helpers/redis';

const SYMBOLS = symbolNames(5);

/** What the application saw: every emitted tick id per symbol, and every gap event. */
function record(client: TickgateClient): { ids: Map<string, string[]>; gaps: GapEvent[] } {
  const ids = new Map<string, string[]>(SYMBOLS.map((s) => [s, []]));
  const gaps: GapEvent[] = [];
  client.on('ticks', (f: DataFrame) => ids.get(f.sym)?.push(...f.ticks.map((t) => t.id)));
  client.on('gap', (g) => gaps.push(g));
  return { ids, gaps };
}

describe('fault: gateway SIGKILL and restart under subscribed SDK clients', function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let feed: ProducerProcess | undefined;
  const gateways: GatewayProcess[] = [];
  const clients: TickgateClient[] = [];

  beforeEach(async () => {
    redis = await privateRedis();
    producer = await plainClient(redis.url);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await feed?.stop();
    for (const g of gateways.splice(0)) await g.stop('SIGKILL');
    await producer.quit();
    await redis.stop();
    killAll();
  });

  async function gateway(flags: string[] = []): Promise<GatewayProcess> {
    const g = await startGateway(redis.url, flags);
    gateways.push(g);
    await waitUntil('ready', async () => (await readyStatus(g.http)) === 200);
    return g;
  }

  it('reconnects and resumes: each client emits exactly the stream of its symbols from its first tick on, with no gap', async () => {
    const first = await gateway();
    feed = startProducer(redis.url, ['--stream', 'ticks', '--symbols', String(SYMBOLS.length), '--rate', '500', '--maxlen', '0']);
    const reconnect = { initialDelayMs: 50, maxDelayMs: 200 };
    const json = connect(first.url, { reconnect });
    const binary = connect(first.url, { format: 'binary', compression: 'lz4', reconnect });
    clients.push(json, binary);
    const seen = [record(json), record(binary)];
    await Promise.all([json.subscribe(SYMBOLS), binary.subscribe(SYMBOLS)]);
    await waitUntil('ticks flowing', () => seen.every((r) => SYMBOLS.every((s) => r.ids.get(s)!.length >= 20)));

    first.child.kill('SIGKILL');
    await first.exited;
    await new Promise((r) => setTimeout(r, 500)); // the feed goes on while no gateway runs
    await gateway(['--port', String(first.port)]);
    await new Promise((r) => setTimeout(r, 1500));
    await feed.stop();
    feed = undefined;

    const expected = new Map<string, string[]>();
    for (const s of SYMBOLS) expected.set(s, await streamIdsOf(producer, 'ticks', s));
    await waitUntil('every client caught up with the stream', () =>
      seen.every((r) => SYMBOLS.every((s) => r.ids.get(s)!.at(-1) === expected.get(s)!.at(-1))), 15_000);
    for (const r of seen) {
      expect(r.gaps).to.deep.equal([]);
      for (const s of SYMBOLS) {
        const got = r.ids.get(s)!;
        const all = expected.get(s)!;
        // The chain starts at the first live tick after the subscribe; from there on, every entry once, in order.
        expect(got).to.deep.equal(all.slice(all.indexOf(got[0])));
        for (let i = 1; i < got.length; i++) expect(compareStreamIds(got[i], got[i - 1])).to.equal(1);
      }
    }
  });
});
