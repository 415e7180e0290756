import { expect } from 'chai';
import { compareStreamIds } from '../../src/wire/tick';
import { metricValue, waitUntil } from '../helpers/gateway';
import { PlainRedis, tickFields } from '../helpers/redis';
import { Stack, startStack, stopStack } from '../helpers/stack';
import { Reply, TestClient } from '../helpers/ws-client';

const SYMBOLS = ['A', 'B', 'C', 'D'];

/** XADDs with MAXLEN ~ `maxlen`, as a producer that bounds its stream does; returns every id written. */
async function writeTrimming(producer: PlainRedis, count: number, offset: number, maxlen: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = offset; i < offset + count; i += 50) {
    ids.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => producer.xAdd('ticks', '*', tickFields(SYMBOLS[(i + k) % SYMBOLS.length], i + k),
      { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: maxlen } })))));
    await new Promise((r) => setTimeout(r, 5));
  }
  return ids;
}

/** The consumer-group lag series as exposed (absent when Redis reports none). */
async function lagSeries(http: string): Promise<string | undefined> {
  const text = await (await fetch(`${http}/metrics`)).text();
  return text.split('\n').find((l) => l.startsWith('tickgate_consumer_group_lag{stream="ticks"}'));
}

describe('fault: ticks trimmed while the gateway is stopped (SIGSTOP)', function () {
  this.timeout(30_000);
  let stack: Partial<Stack> = {};

  afterEach(async () => {
    stack.gw?.child.kill('SIGCONT');
    await stopStack(stack);
  });

  it('announces the lost range to every client, loses nothing silently, and the lag gauge returns to 0', async () => {
    stack = await startStack(['--lag-sample-ms', '200']);
    const { producer, gw } = stack as Stack;
    const clients = await Promise.all([TestClient.connect(gw.url), TestClient.connect(gw.url)]);
    for (const c of clients) await c.request({ op: 'subscribe', symbols: SYMBOLS });

    const written = await writeTrimming(producer, 200, 0, 100_000);
    await waitUntil('the first ticks received', () => clients.every((c) => c.tickCount() === written.length));
    gw.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    written.push(...(await writeTrimming(producer, 3000, 200, 200)));
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - stoppedAt))));
    gw.child.kill('SIGCONT');
    written.push(...(await writeTrimming(producer, 200, 3200, 200)));

    const last = written[written.length - 1];
    await waitUntil('the last tick received', () => clients.every((c) => SYMBOLS.some((s) => c.idsOf(s).at(-1) === last)), 15_000);
    const retained = new Set((await producer.xRange('ticks', '-', '+')).map((e) => e.id));
    for (const c of clients) {
      const received = SYMBOLS.flatMap((s) => c.idsOf(s));
      for (const s of SYMBOLS) {
        const ids = c.idsOf(s);
        expect(ids.every((id, i) => i === 0 || compareStreamIds(ids[i - 1], id) < 0), `${s} in order`).to.equal(true);
      }
      const got = new Set(received);
      expect(received.filter((id) => !written.includes(id))).to.deep.equal([]);
      const missing = written.filter((id) => !got.has(id));
      const gaps = c.replies.filter((r): r is Reply & { after: string; through: string } => r.type === 'gap');
      expect(missing.length, 'ticks were trimmed unread').to.be.greaterThan(0);
      // Nothing missing is still in the stream: what was not trimmed was delivered.
      expect(missing.filter((id) => retained.has(id))).to.deep.equal([]);
      // Every missing tick lies in an announced gap.
      const silent = missing.filter((id) => !gaps.some((g) => compareStreamIds(id, g.after) > 0 && compareStreamIds(id, g.through) <= 0));
      expect(silent, `silently lost; gaps: ${JSON.stringify(gaps)}`).to.deep.equal([]);
      expect(gaps.every((g) => g.stream === 'ticks' && g.reason === 'trimmed')).to.equal(true);
    }
    expect(await metricValue(gw.http, 'tickgate_stream_losses_total', { stream: 'ticks' })).to.be.greaterThan(0);
    await waitUntil('lag gauge back to 0', async () => (await lagSeries(gw.http)) === 'tickgate_consumer_group_lag{stream="ticks"} 0', 5000, 200);
  });
});
