import { expect } from 'chai';
import { connect } from '../../src/client/node';
import { symbolNames } from '../../src/producer/random-walk';
import { expectWholeAcrossFailover, FORMATS, RESUME_WITHIN_MS, symbolsOf, watch } from '../helpers/failover';
import { waitUntil } from '../helpers/gateway';
import { ProducerProcess, startProducer } from '../helpers/producer';
import { streamIdsOf } from '../helpers/redis';
import { fixture } from '../helpers/stack';

const SYMBOLS = symbolNames(16);
const CLIENTS = 12;

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
    const watched = Array.from({ length: CLIENTS }, (_, i) =>
      watch(fx.keep(connect([a.url, b.url], FORMATS[i % FORMATS.length])), symbolsOf(i, SYMBOLS), () => killed));
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
    for (const w of watched) expect(w.reconnects).to.deep.equal([b.url]);
    await expectWholeAcrossFailover(watched, (sym) => streamIdsOf(fx.producer, 'ticks', sym));
  });
});
