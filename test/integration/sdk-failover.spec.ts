import { expect } from 'chai';
import { connect, DataFrame, GapEvent, TickgateClient } from '../../src/client/node';
import { symbolNames } from '../../src/producer/random-walk';
import { compareStreamIds } from '../../src/wire/tick';
import { waitUntil } from '../helpers/gateway';
import { ProducerProcess, startProducer } from '../helpers/producer';
import { streamIdsOf } from '../helpers/redis';
import { fixture } from '../helpers/stack';

const SYMBOLS = symbolNames(16);
const CLIENTS = 12;
/** The bound on a resume after an instance dies: every client served again by another within it. */
const RESUME_WITHIN_MS = 5_000;
const FORMATS = [
  { format: 'json', compression: 'none' },
  { format: 'binary', compression: 'none' },
  { format: 'binary', compression: 'lz4' },
] as const;

/** One SDK client and what its application saw. */
interface Watched {
  client: TickgateClient;
  symbols: string[];
  ids: Map<string, string[]>;
  gaps: GapEvent[];
  /** The URL of every reconnect, in order. */
  reconnects: string[];
  /** Per symbol, whether a frame arrived on a connection opened after the kill. */
  afterKill: Set<string>;
}

function watch(client: TickgateClient, symbols: string[], killed: () => boolean): Watched {
  const w: Watched = { client, symbols, ids: new Map(symbols.map((s) => [s, []])), gaps: [], reconnects: [], afterKill: new Set() };
  let reopened = false;
  client.on('open', () => {
    reopened = killed();
  });
  client.on('ticks', (f: DataFrame) => {
    w.ids.get(f.sym)?.push(...f.ticks.map((t) => t.id));
    if (reopened) w.afterKill.add(f.sym);
  });
  client.on('gap', (g) => w.gaps.push(g));
  client.on('reconnecting', (_attempt, _delay, url) => w.reconnects.push(url));
  return w;
}

describe('SDK failover: a list of gateway URLs, one instance SIGKILLed (real processes)', function () {
  this.timeout(60_000);
  const fx = fixture();
  let feed: ProducerProcess | undefined;

  afterEach(() => feed?.stop());

  it('every client resumes on the other gateway within 5 s and delivers, per symbol, exactly the stream\'s entries: no gap, no duplicate', async () => {
    const [a, b] = await Promise.all([fx.gateway(['--instance', 'a']), fx.gateway(['--instance', 'b'])]);
    feed = startProducer(fx.redis.url, ['--stream', 'ticks', '--symbols', String(SYMBOLS.length), '--rate', '500', '--maxlen', '0']);
    let killed = false;
    // Default backoff: what an application gets. Each client holds 4 symbols; the sets overlap.
    const watched = Array.from({ length: CLIENTS }, (_, i) => {
      const symbols = [0, 1, 2, 3].map((k) => SYMBOLS[(i + 4 * k) % SYMBOLS.length]);
      return watch(fx.keep(connect([a.url, b.url], FORMATS[i % FORMATS.length])), symbols, () => killed);
    });
    await Promise.all(watched.map((w) => w.client.subscribe(w.symbols)));
    await waitUntil('ticks flowing to every client', () => watched.every((w) => w.symbols.every((s) => w.ids.get(s)!.length >= 10)));
    expect(watched.map((w) => w.client.url)).to.deep.equal(Array(CLIENTS).fill(a.url));

    a.child.kill('SIGKILL');
    killed = true;
    await waitUntil('every client served by gateway B for each of its symbols', () =>
      watched.every((w) => w.client.url === b.url && w.client.isOpen && w.afterKill.size === w.symbols.length), RESUME_WITHIN_MS);

    await new Promise((r) => setTimeout(r, 500)); // the feed goes on through B
    await feed.stop();
    feed = undefined;
    const expected = new Map<string, string[]>();
    for (const s of SYMBOLS) expected.set(s, await streamIdsOf(fx.producer, 'ticks', s));
    await waitUntil('every client caught up with the stream', () =>
      watched.every((w) => w.symbols.every((s) => w.ids.get(s)!.at(-1) === expected.get(s)!.at(-1))), 15_000);

    for (const w of watched) {
      expect(w.reconnects).to.deep.equal([b.url]);
      expect(w.gaps).to.deep.equal([]);
      for (const s of w.symbols) {
        const got = w.ids.get(s)!;
        const all = expected.get(s)!;
        // The chain starts at the first live tick after the subscribe; from there on, every entry once, in order,
        // across the kill: what A delivered, then what B replayed and published.
        expect(got).to.deep.equal(all.slice(all.indexOf(got[0])));
        for (let i = 1; i < got.length; i++) expect(compareStreamIds(got[i], got[i - 1])).to.equal(1);
      }
    }
  });
});
