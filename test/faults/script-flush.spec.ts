import { expect } from 'chai';
import { metricValue, waitUntil } from '../helpers/gateway';
import { streamIdsOf, xaddTicks } from '../helpers/redis';
import { Stack, startStack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const SYMBOLS = ['A', 'B'];

describe('fault: Redis\'s script cache is flushed while the gateway runs (SCRIPT FLUSH, or a failover to a replica without it)', function () {
  this.timeout(30_000);
  let stack: Partial<Stack> = {};

  afterEach(() => stopStack(stack));

  it('loads the loss-check script again and delivers every tick exactly once, in order, with no gap', async () => {
    stack = await startStack();
    const { producer, gw } = stack as Stack;
    const client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: SYMBOLS });
    await xaddTicks(producer, 'ticks', SYMBOLS, 200);
    await waitUntil('the first 200 received', () => client.tickCount() === 200);

    await producer.sendCommand(['SCRIPT', 'FLUSH']);
    for (let i = 0; i < 8; i++) {
      await xaddTicks(producer, 'ticks', SYMBOLS, 50, 200 + i * 50);
      await new Promise((r) => setTimeout(r, 50));
    }
    const expected = new Map(await Promise.all(SYMBOLS.map(async (s) => [s, await streamIdsOf(producer, 'ticks', s)] as const)));
    await waitUntil('every tick received', () => SYMBOLS.every((s) => client.idsOf(s).length >= expected.get(s)!.length));
    await new Promise((r) => setTimeout(r, 300)); // anything replayed after the last tick would arrive now

    for (const sym of SYMBOLS) expect(client.idsOf(sym), sym).to.deep.equal(expected.get(sym));
    expect(client.replies.filter((r) => r.type === 'gap')).to.deep.equal([]);
    expect(gw.logs.some((l) => l.includes('NOSCRIPT')), 'the failed read was logged').to.equal(true);
    expect(await metricValue(gw.http, 'tickgate_stream_losses_total', { stream: 'ticks', reason: 'trimmed' })).to.equal(0);
  });
});
