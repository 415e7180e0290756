import { expect } from 'chai';
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

  it('acks every entry after a SIGKILL mid-stream and a restart with the same group, and serves ticks published after it', async () => {
    const first = await gateway();
    const writing = xaddTicks(fx.producer, 'ticks', ['A', 'B'], 20_000);
    await waitUntil('reading under way', async () => (await groupInfo(fx.producer, 'ticks')).lastDeliveredId !== '0-0');
    first.child.kill('SIGKILL');
    await first.exited;
    const written = await writing;
    const left = await groupInfo(fx.producer, 'ticks');
    expect(left.pending > 0 || left.lastDeliveredId !== written[written.length - 1], 'the kill left work to recover').to.equal(true);

    const second = await gateway();
    await waitUntil('everything read and acked', async () => {
      const g = await groupInfo(fx.producer, 'ticks');
      return g.pending === 0 && g.lastDeliveredId === written[written.length - 1];
    }, 20_000);

    const client = fx.keep(await TestClient.connect(second.url));
    await client.request({ op: 'subscribe', symbols: ['A', 'B'] });
    const after = await xaddTicks(fx.producer, 'ticks', ['A', 'B'], 400);
    await waitUntil('post-restart ticks', () => client.tickCount() === 400);
    expect(client.idsOf('A')).to.deep.equal(after.filter((_, i) => i % 2 === 0));
    expect(client.idsOf('B')).to.deep.equal(after.filter((_, i) => i % 2 === 1));
    expect((await fx.producer.xPending('ticks', GROUP)).pending).to.equal(0);
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

  it('on SIGTERM finishes and acks what it read, closes clients with 1001, and exits 0', async () => {
    const gw = await gateway();
    const client = fx.keep(await TestClient.connect(gw.url));
    await client.request({ op: 'subscribe', symbols: ['A'] });
    const writing = xaddTicks(fx.producer, 'ticks', ['A'], 5000);
    await waitUntil('some ticks', () => client.tickCount() > 0);
    const code = await gw.stop('SIGTERM');
    await writing;
    expect(code).to.equal(0);
    expect((await client.closed).code).to.equal(1001);
    expect((await fx.producer.xPending('ticks', GROUP)).pending).to.equal(0);
    // What the client got is an in-order prefix of the stream: nothing skipped before the shutdown.
    const all = await streamIdsOf(fx.producer, 'ticks', 'A');
    expect(client.idsOf('A')).to.deep.equal(all.slice(0, client.tickCount()));
  });
});
