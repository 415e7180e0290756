import { expect } from 'chai';
import { compareStreamIds } from '../../src/wire/tick';
import { metricValue, waitUntil } from '../helpers/gateway';
import { streamIdsOf, xaddTicks } from '../helpers/redis';
import { Stack, startStack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const GROUP = 'tickgate:test';
const SYMBOLS = ['A', 'B'];

describe('fault: the consumer group is destroyed while the gateway runs', function () {
  this.timeout(30_000);
  let stack: Partial<Stack> = {};

  afterEach(() => stopStack(stack));

  it('recreates it after the last entry read: no tick at or before the held id again, every later tick exactly once', async () => {
    stack = await startStack();
    const { producer, gw } = stack as Stack;
    const client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: SYMBOLS });
    const before = await xaddTicks(producer, 'ticks', SYMBOLS, 400);
    await waitUntil('the first 400 received', () => client.tickCount() === before.length);
    const held = new Map(SYMBOLS.map((s) => [s, client.idsOf(s).length]));

    await producer.sendCommand(['XGROUP', 'DESTROY', 'ticks', GROUP]);
    // The producer goes on, in several writes, so some land before the gateway notices and some after.
    for (let i = 0; i < 8; i++) {
      await xaddTicks(producer, 'ticks', SYMBOLS, 50, 400 + i * 50);
      await new Promise((r) => setTimeout(r, 50));
    }
    const expected = new Map(await Promise.all(SYMBOLS.map(async (s) => [s, await streamIdsOf(producer, 'ticks', s)] as const)));
    await waitUntil('every tick received', () => SYMBOLS.every((s) => client.idsOf(s).length >= expected.get(s)!.length));
    await new Promise((r) => setTimeout(r, 300)); // anything replayed after the last tick would arrive now

    for (const sym of SYMBOLS) {
      const got = client.idsOf(sym);
      const heldId = got[held.get(sym)! - 1];
      const after = got.slice(held.get(sym)!);
      expect(after.filter((id) => compareStreamIds(id, heldId) <= 0), `${sym}: ticks at or before the held ${heldId}`).to.deep.equal([]);
      expect(after, sym).to.deep.equal(expected.get(sym)!.filter((id) => compareStreamIds(id, heldId) > 0));
      expect(got, sym).to.deep.equal(expected.get(sym));
    }
    expect(await metricValue(gw.http, 'tickgate_group_recreations_total', { stream: 'ticks' })).to.equal(1);
    expect(gw.logs.filter((l) => l.includes('consumer group was gone')).length).to.equal(1);
    expect(client.replies.filter((r) => r.type === 'gap')).to.deep.equal([]);
  });
});
