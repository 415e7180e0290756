import { expect } from 'chai';
import { xaddTicks } from '../helpers/redis';
import { startStack, Stack, stopStack } from '../helpers/stack';
import { Reply, TestClient } from '../helpers/ws-client';
import { waitUntil } from '../helpers/gateway';

interface Snapshot extends Reply {
  ticks: { sym: string; id: string }[];
}

describe('session requests: order, pause, symbols already held', function () {
  this.timeout(30_000);
  let stack: Stack;
  let client: TestClient;

  beforeEach(async () => {
    stack = await startStack();
    client = await TestClient.connect(stack.gw.url);
  });

  afterEach(async () => {
    client.close();
    await stopStack(stack);
  });

  it('answers requests sent during a snapshot in the order they were sent', async () => {
    await xaddTicks(stack.producer, 'ticks', ['O1', 'O2'], 20);
    const ids = [11, 12, 13, 14, 15];
    client.send({ op: 'subscribe', id: 11, symbols: ['O1', 'O2'], snapshot: true });
    client.send({ op: 'ping', id: 12 });
    client.send({ op: 'unsubscribe', id: 13, symbols: ['O2'] });
    client.send({ op: 'subscriptions', id: 14 });
    client.send({ op: 'subscribe', id: 15, symbols: ['O3'], snapshot: true });
    await client.reply((r) => r.id === 15 && r.type === 'ack');
    const answers = client.replies.filter((r) => ids.includes(r.id as number));
    expect(answers.map((r) => [r.type, r.id])).to.deep.equal([
      ['snapshot', 11], ['ack', 11], ['ack', 12], ['ack', 13], ['ack', 14], ['snapshot', 15], ['ack', 15],
    ]);
    expect(answers[4].symbols).to.deep.equal(['O1']);
  });

  it('gives symbols the connection already holds neither a snapshot nor a replay', async () => {
    await client.request({ op: 'subscribe', symbols: ['H'] });
    const first = await xaddTicks(stack.producer, 'ticks', ['H'], 5);
    const live = await xaddTicks(stack.producer, 'ticks', ['H', 'N'], 10, 5);
    await waitUntil('live H', () => client.idsOf('H').length === 10);
    await client.request({ op: 'subscribe', symbols: ['H', 'N'], snapshot: true, since: { H: first[0] } });
    const snapshots = client.replies.filter((r) => r.type === 'snapshot') as Snapshot[];
    expect(snapshots.map((s) => s.ticks.map((t) => [t.sym, t.id]))).to.deep.equal([[['N', live[8]]]]);
    expect(client.frames.filter((f) => f.kind === 'replay')).to.deep.equal([]);
    expect(client.idsOf('H')).to.deep.equal([...first, ...live.filter((_, i) => i % 2 === 1)]);
  });

  it('while paused, acks subscribe and unsubscribe at once and resume restores the changed set with one snapshot', async () => {
    await client.request({ op: 'subscribe', symbols: ['P1', 'P2'] });
    await client.request({ op: 'pause' });
    expect(await client.request({ op: 'subscribe', symbols: ['P3'] })).to.deep.include({ type: 'ack', op: 'subscribe', symbols: ['P3'] });
    expect(await client.request({ op: 'unsubscribe', symbols: ['P1'] })).to.deep.include({ type: 'ack', op: 'unsubscribe', symbols: ['P1'] });
    expect(await client.request({ op: 'subscriptions' })).to.deep.include({ symbols: ['P2', 'P3'] });
    const written = await xaddTicks(stack.producer, 'ticks', ['P1', 'P2', 'P3'], 9);
    await new Promise((r) => setTimeout(r, 300));
    expect(client.tickCount()).to.equal(0);
    await client.request({ op: 'resume' });
    const snapshots = client.replies.filter((r) => r.type === 'snapshot') as Snapshot[];
    expect(snapshots.map((s) => s.ticks.map((t) => [t.sym, t.id]))).to.deep.equal([[['P2', written[7]], ['P3', written[8]]]]);
    const after = await xaddTicks(stack.producer, 'ticks', ['P1', 'P2', 'P3'], 3, 9);
    await waitUntil('live after resume', () => client.tickCount() === 2);
    expect([client.idsOf('P1'), client.idsOf('P2'), client.idsOf('P3')]).to.deep.equal([[], [after[1]], [after[2]]]);
  });
});
