import { expect } from 'chai';
import { CLOSES } from '../../src/protocol/codes';
import { readyStatus, waitUntil } from '../helpers/gateway';
import { plainClient, PlainRedis, privateRedis, streamIdsOf, xaddTicks } from '../helpers/redis';
import { fixture } from '../helpers/stack';
import { TestClient } from '../helpers/ws-client';

const GROUP = 'tickgate:test';

async function groupInfo(client: PlainRedis, stream: string) {
  const groups = await client.xInfoGroups(stream);
  return groups.find((g) => g.name === GROUP)!;
}

describe('recovery', function () {
  this.timeout(60_000);
  const fx = fixture();
  const gateway = () => fx.gateway(['--read-count', '64']);

  it('after a SIGKILL mid-stream, the restarted gateway publishes every entry the first left pending or unread to a client subscribed during recovery, and acks them all', async () => {
    const first = await gateway();
    const writing = xaddTicks(fx.producer, 'ticks', ['A', 'B'], 20_000);
    await waitUntil('reading under way', async () => (await groupInfo(fx.producer, 'ticks')).lastDeliveredId !== '0-0');
    first.child.kill('SIGKILL');
    await first.exited;
    const written = await writing;
    // What the first gateway left to recover: entries it read but never acked (pending), and those it never read.
    const left = await groupInfo(fx.producer, 'ticks');
    const pending = (await fx.producer.xPendingRange('ticks', GROUP, '-', '+', 100_000)).map((p) => p.id);
    const unread = (await fx.producer.xRange('ticks', '(' + left.lastDeliveredId, '+')).map((e) => e.id);
    const toRecover = [...pending, ...unread];
    expect(toRecover.length, 'the kill left work to recover').to.be.greaterThan(0);

    // Redis stopped while the second gateway starts: a client subscribes before its reader has read anything.
    fx.redis.child.kill('SIGSTOP');
    try {
      const second = await fx.gateway(['--read-count', '64'], false);
      const client = fx.keep(await TestClient.connect(second.url));
      await client.request({ op: 'subscribe', symbols: ['A', 'B'] });
      expect(client.tickCount()).to.equal(0);
      fx.redis.child.kill('SIGCONT');
      await waitUntil('everything read and acked', async () => {
        const g = await groupInfo(fx.producer, 'ticks');
        return g.pending === 0 && g.lastDeliveredId === written[written.length - 1];
      }, 20_000);
      await waitUntil('every recovered entry delivered', () => client.tickCount() === toRecover.length);
      const index = new Map(written.map((id, i) => [id, i]));
      const ofSym = (sym: string) => toRecover.filter((id) => (index.get(id)! % 2 === 0) === (sym === 'A'));
      expect(client.idsOf('A')).to.deep.equal(ofSym('A'));
      expect(client.idsOf('B')).to.deep.equal(ofSym('B'));

      const after = await xaddTicks(fx.producer, 'ticks', ['A', 'B'], 400);
      await waitUntil('post-restart ticks', () => client.tickCount() === toRecover.length + 400);
      expect(client.idsOf('A').slice(ofSym('A').length)).to.deep.equal(after.filter((_, i) => i % 2 === 0));
      expect(client.idsOf('B').slice(ofSym('B').length)).to.deep.equal(after.filter((_, i) => i % 2 === 1));
      // Acks are batched: they follow the publish by up to --ack-interval-ms.
      await waitUntil('post-restart ticks acked', async () => (await fx.producer.xPending('ticks', GROUP)).pending === 0);
    } finally {
      fx.redis.child.kill('SIGCONT');
    }
  });

  it('reports 503 on /readyz while redis-server is down, 200 once back, and misses nothing written after the restart', async () => {
    const gw = await gateway();
    const client = fx.keep(await TestClient.connect(gw.url));
    await client.request({ op: 'subscribe', symbols: ['A'] });
    await xaddTicks(fx.producer, 'ticks', ['A'], 100);
    await waitUntil('before outage', () => client.tickCount() === 100);

    const port = fx.redis.port;
    await fx.redis.stop();
    await waitUntil('/readyz 503', async () => (await readyStatus(gw.http)) === 503);
    // disconnect(), not quit(): quit waits for a reply from a server that is gone, as long as reconnecting takes.
    await fx.producer.disconnect().catch(() => undefined);
    fx.redis = await privateRedis(port);
    fx.producer = await plainClient(fx.redis.url);
    // Written before the gateway has noticed Redis is back: the group is recreated after the last id it read, and
    // these ids are newer, so every one of them must arrive.
    const early = await xaddTicks(fx.producer, 'ticks', ['A'], 300);
    await waitUntil('/readyz 200', async () => (await readyStatus(gw.http)) === 200, 15_000);
    const late = await xaddTicks(fx.producer, 'ticks', ['A'], 300);
    await waitUntil('after outage', () => client.tickCount() === 700, 15_000);
    expect(client.idsOf('A').slice(100)).to.deep.equal([...early, ...late]);
    expect(await streamIdsOf(fx.producer, 'ticks', 'A')).to.deep.equal([...early, ...late]);
  });

  it('on SIGTERM closes clients with 4007 first, with every tick up to then in order, then acks all it read, and exits 0', async () => {
    const gw = await gateway();
    const client = fx.keep(await TestClient.connect(gw.url));
    await client.request({ op: 'subscribe', symbols: ['A'] });
    const writing = xaddTicks(fx.producer, 'ticks', ['A'], 5000);
    await waitUntil('some ticks', () => client.tickCount() > 0);
    const code = await gw.stop('SIGTERM');
    await writing;
    expect(code).to.equal(0);
    expect(await client.closed).to.deep.equal({ code: CLOSES.DRAINING.code, reason: CLOSES.DRAINING.reason() });
    // The reader ran on after the client left (the drain comes first) and stopped only then: every entry it read is
    // acked, nothing is left pending to re-read.
    expect((await fx.producer.xPending('ticks', GROUP)).pending).to.equal(0);
    // The client got an unbroken start of the stream, nothing skipped, up to its close; it resumes from there elsewhere.
    const { lastDeliveredId } = await groupInfo(fx.producer, 'ticks');
    const all = await streamIdsOf(fx.producer, 'ticks', 'A');
    const got = client.idsOf('A');
    expect(got).to.deep.equal(all.slice(0, got.length));
    expect(all.indexOf(lastDeliveredId), 'read at least what it delivered').to.be.at.least(got.length - 1);
  });
});
