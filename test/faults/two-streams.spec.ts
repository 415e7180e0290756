import { expect } from 'chai';
import { metricValue, waitUntil } from '../helpers/gateway';
import { streamIdsOf, tickFields } from '../helpers/redis';
import { Stack, startStack, stopStack } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

describe('fault: one symbol written to two streams (--stream s1,s2)', function () {
  this.timeout(30_000);
  let stack: Partial<Stack> = {};

  afterEach(() => stopStack(stack));

  it('keeps the symbol in the stream it was first seen in: in order, its entries in the other stream refused and counted', async () => {
    stack = await startStack(['--stream', 's1,s2']);
    const { producer, gw } = stack as Stack;
    const client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: ['X', 'Y'] });
    await producer.xAdd('s1', '*', tickFields('X', 0));
    await waitUntil('X first seen in s1', () => client.idsOf('X').length === 1);
    // Interleaved, pipelined: a read returns a run of s1 and a run of s2, whose ids of X overlap in time.
    let inS2 = 0;
    for (let round = 0; round < 10; round++) {
      const writes = [];
      for (let i = 0; i < 100; i++) {
        const stream = i % 2 === 0 ? 's1' : 's2';
        if (stream === 's2') inS2++;
        writes.push(producer.xAdd(stream, '*', tickFields('X', round * 100 + i)));
        if (i % 10 === 0) writes.push(producer.xAdd('s2', '*', tickFields('Y', round * 100 + i)));
      }
      await Promise.all(writes);
    }
    const x = await streamIdsOf(producer, 's1', 'X');
    const y = await streamIdsOf(producer, 's2', 'Y');
    await waitUntil('every tick of X in s1 and of Y in s2 received', () => client.idsOf('X').length >= x.length && client.idsOf('Y').length >= y.length);
    await waitUntil('every refusal counted', async () => (await metricValue(gw.http, 'tickgate_malformed_entries_total', { kind: 'wrong_stream' })) === inS2);
    expect(client.idsOf('X')).to.deep.equal(x);
    expect(client.idsOf('Y')).to.deep.equal(y);
    expect(gw.logs.filter((l) => l.includes('refusing a symbol')).length, 'logged once per symbol').to.equal(1);
  });
});
