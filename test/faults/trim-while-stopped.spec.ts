import { expect } from 'chai';
import { compareStreamIds } from '../../src/wire/tick';
import { metricValue, readyStatus, waitUntil } from '../helpers/gateway';
import { PlainRedis, tickFields } from '../helpers/redis';
import { Stack, startStack, stopStack } from '../helpers/stack';
import { Reply, TestClient } from '../helpers/ws-client';
import { connect, GapEvent } from '../../src/client/node';

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
  return text.split('\n').find((l) => l.startsWith('tickgate_consumer_group_lag{stream="ticks",'));
}

describe('fault: entries removed before the gateway read them (trimmed while it was stopped, deleted, key recreated)', function () {
  this.timeout(30_000);
  let stack: Partial<Stack> = {};

  afterEach(async () => {
    stack.gw?.child.kill('SIGCONT');
    await stopStack(stack);
  });

  it('announces the lost range to every client (the SDK: a gap per symbol, then one snapshot), loses nothing silently, and the lag gauge returns to 0', async () => {
    stack = await startStack(['--lag-sample-ms', '200']);
    const { producer, gw } = stack as Stack;
    const clients = await Promise.all([TestClient.connect(gw.url), TestClient.connect(gw.url)]);
    for (const c of clients) await c.request({ op: 'subscribe', symbols: SYMBOLS });
    // An SDK client turns the announcement into a gap event per symbol, then one fresh snapshot.
    const sdk = connect(gw.url, { format: 'binary' });
    const sdkEvents: (['gap', GapEvent] | ['snapshot', string[]] | ['error', string])[] = [];
    sdk.on('gap', (g) => sdkEvents.push(['gap', g]));
    sdk.on('snapshot', (snap) => sdkEvents.push(['snapshot', snap.ticks.map((t) => t.sym)]));
    sdk.on('error', (e) => sdkEvents.push(['error', e.message]));
    await sdk.subscribe(SYMBOLS);

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
    await waitUntil('the SDK has its snapshot', () => sdkEvents.some((e) => e[0] === 'snapshot'));
    sdk.close();
    expect(sdkEvents.filter((e) => e[0] === 'error')).to.deep.equal([]);
    const firstSnapshot = sdkEvents.findIndex((e) => e[0] === 'snapshot');
    const gapsBefore = sdkEvents.slice(0, firstSnapshot).map((e) => e[1] as GapEvent);
    expect(gapsBefore.map((g) => g.sym).slice(0, SYMBOLS.length)).to.deep.equal(SYMBOLS);
    expect(gapsBefore.every((g) => g.loss?.reason === 'trimmed' && g.got === undefined)).to.equal(true);
    expect([...(sdkEvents[firstSnapshot][1] as string[])].sort()).to.deep.equal(SYMBOLS);
    await waitUntil('lag gauge back to 0', async () => (await lagSeries(gw.http)) === 'tickgate_consumer_group_lag{stream="ticks",instance="test"} 0', 5000, 200);
  });

  it('announces entries deleted (XDEL) before it read them, within the announced range', async () => {
    stack = await startStack();
    const { producer, gw } = stack as Stack;
    const client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: SYMBOLS });
    const first = await writeTrimming(producer, 50, 0, 100_000);
    await waitUntil('the first ticks received', () => client.tickCount() === first.length);
    gw.child.kill('SIGSTOP');
    const unread = await writeTrimming(producer, 100, 50, 100_000);
    const deleted = [unread[10], unread[11], unread[60]];
    expect(await producer.xDel('ticks', deleted)).to.equal(3);
    gw.child.kill('SIGCONT');
    const expected = (await producer.xRange('ticks', '-', '+')).map((e) => e.id);
    await waitUntil('every remaining tick received', () => client.tickCount() === expected.length);
    expect(SYMBOLS.flatMap((s) => client.idsOf(s)).sort(compareStreamIds)).to.deep.equal(expected);
    const gaps = client.replies.filter((r): r is Reply & { after: string; through: string } => r.type === 'gap');
    expect(gaps.map((g) => g.reason)).to.deep.equal(['deleted']);
    expect(deleted.every((id) => compareStreamIds(id, gaps[0].after) > 0 && compareStreamIds(id, gaps[0].through) <= 0)).to.equal(true);
    expect(await metricValue(gw.http, 'tickgate_stream_losses_total', { reason: 'deleted' })).to.equal(1);
  });

  it('announces a stream key deleted and recreated, then delivers the new key\'s ticks', async () => {
    stack = await startStack();
    const { producer, gw } = stack as Stack;
    const client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: SYMBOLS });
    const old = await writeTrimming(producer, 50, 0, 100_000);
    await waitUntil('the first ticks received', () => client.tickCount() === old.length);
    await producer.del('ticks');
    await waitUntil('the group recreated', () => gw.logs.some((l) => l.includes('consumer group was gone')));
    // The reader was not ready since the read failed; ready again once setup (and its loss check) is done.
    await waitUntil('ready again', async () => (await readyStatus(gw.http)) === 200);
    const fresh = await writeTrimming(producer, 50, 50, 100_000);
    await waitUntil('the new ticks received', () => client.tickCount() === old.length + fresh.length);
    expect(SYMBOLS.flatMap((s) => client.idsOf(s)).sort(compareStreamIds)).to.deep.equal([...old, ...fresh]);
    const gaps = client.replies.filter((r) => r.type === 'gap');
    expect(gaps).to.deep.equal([{ type: 'gap', stream: 'ticks', after: old[old.length - 1], through: fresh[0], reason: 'stream_recreated' }]);
  });
});
