/**
 * At-least-once into the gateway, seen from outside: an entry stays pending in the consumer group until the workers
 * have published it, so a gateway killed in between re-reads it after a restart (recovery.spec.ts checks that part).
 *
 * The window between read and publish is normally microseconds. A legitimate but heavy request (a subscribe to
 * 50,000 symbols) keeps the only worker busy for a few hundred milliseconds, during which the worker cannot publish:
 * an entry read then must stay pending until a subscriber on that worker has it.
 */
import { expect } from 'chai';
import { fixture } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';
import { tickFields } from '../helpers/redis';

const GROUP = 'tickgate:test';
const BUSY_SYMBOLS = 50_000;
/** How long after an entry is seen acked its subscriber may still be waiting for it: event-loop and scheduling lag. */
const DELIVERY_MARGIN_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('consumer group: ack after publish', function () {
  this.timeout(30_000);
  const fx = fixture();

  it('keeps an entry pending while the worker that must publish it is busy, and acks it only once its subscriber can have it', async () => {
    const gw = await fx.gateway(['--workers', '1', '--max-symbols', String(BUSY_SYMBOLS), '--max-payload', String(16 << 20),
      '--topic-capacity', String(4 * BUSY_SYMBOLS)]);
    const watcher = fx.keep(await TestClient.connect(gw.url));
    await watcher.request({ op: 'subscribe', symbols: ['E'] });
    const busy = fx.keep(await TestClient.connect(gw.url));
    busy.send({ op: 'subscribe', id: 1, symbols: Array.from({ length: BUSY_SYMBOLS }, (_, i) => `BUSY-${i}`) });
    // Let the worker start on it: the entry below then reaches a worker that cannot publish for a while.
    await sleep(50);
    const id = await fx.producer.xAdd('ticks', '*', tickFields('E', 0));
    const samples: { pending: boolean; received: boolean }[] = [];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pending = (await fx.producer.xPendingRange('ticks', GROUP, '-', '+', 10)).some((p) => p.id === id);
      samples.push({ pending, received: watcher.idsOf('E').includes(id) });
      if (!pending) break;
      if (Date.now() > deadline) throw new Error(`entry ${id} still pending after 10 s`);
      await sleep(5);
    }
    // Seen acked: the worker has published it, so the subscriber has it now or within the margin.
    await sleep(DELIVERY_MARGIN_MS);
    expect(watcher.idsOf('E'), 'the acked entry reached its subscriber').to.deep.equal([id]);
    // Not vacuous: the worker was busy, and the entry was seen pending while not yet delivered.
    expect(samples.some((s) => s.pending && !s.received), 'the entry was pending while its worker was busy').to.equal(true);
    expect(await busy.reply((r) => r.id === 1, 10_000)).to.deep.include({ type: 'ack' });
  });
});
