import { expect } from 'chai';
import { connect, DataFrame, GapEvent, TickgateClient } from '../../src/client/node';
import { symbolNames } from '../../src/producer/random-walk';
import { compareStreamIds } from '../../src/wire/tick';
import { waitUntil } from '../helpers/gateway';
import { ProducerProcess, startProducer } from '../helpers/producer';
import { streamIdsOf } from '../helpers/redis';
import { fixture } from '../helpers/stack';

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
  const fx = fixture();
  let feed: ProducerProcess | undefined;

  afterEach(() => feed?.stop());

  it('reconnects and resumes: each client emits exactly the stream of its symbols from its first tick on, with no gap', async () => {
    const first = await fx.gateway();
    feed = startProducer(fx.redis.url, ['--stream', 'ticks', '--symbols', String(SYMBOLS.length), '--rate', '500', '--maxlen', '0']);
    const reconnect = { initialDelayMs: 50, maxDelayMs: 200 };
    const json = connect(first.url, { reconnect });
    const binary = connect(first.url, { format: 'binary', compression: 'lz4', reconnect });
    fx.keep(json);
    fx.keep(binary);
    const seen = [record(json), record(binary)];
    await Promise.all([json.subscribe(SYMBOLS), binary.subscribe(SYMBOLS)]);
    await waitUntil('ticks flowing', () => seen.every((r) => SYMBOLS.every((s) => r.ids.get(s)!.length >= 20)));

    first.child.kill('SIGKILL');
    await first.exited;
    await new Promise((r) => setTimeout(r, 500)); // the feed goes on while no gateway runs
    await fx.gateway(['--port', String(first.port)]);
    await new Promise((r) => setTimeout(r, 1500));
    await feed.stop();
    feed = undefined;

    const expected = new Map<string, string[]>();
    for (const s of SYMBOLS) expected.set(s, await streamIdsOf(fx.producer, 'ticks', s));
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
