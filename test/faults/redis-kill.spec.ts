import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivateRedis } from '../../src/demo/private-redis';
import { compareStreamIds } from '../../src/wire/tick';
import { GatewayProcess, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { plainClient, PlainRedis, privateRedis, streamIdsOf, tickFields, xaddTicks } from '../helpers/redis';
import { TestClient } from '../helpers/ws-client';

/** XADDs one tick at a time until stopped, keeping the ids Redis acknowledged: a kill -9 fails the one in flight. */
function steadyWriter(client: PlainRedis): { stop(): Promise<string[]> } {
  const ids: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        ids.push(await client.xAdd('ticks', '*', tickFields('K', i)));
      } catch {
        return; // Redis is gone: what was acknowledged so far is the record
      }
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return { stop: async () => ((running = false), await loop, ids) };
}

describe('fault: redis-server killed with -9 and restarted', function () {
  this.timeout(60_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess | undefined;
  let client: TestClient | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    client?.close();
    await gw?.stop('SIGKILL');
    await producer.disconnect().catch(() => undefined);
    await redis.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
    killAll();
  });

  async function killAndRestart(): Promise<{ before: string[]; during: string[]; after: string[] }> {
    gw = await startGateway(redis.url, ['--read-count', '64']);
    await waitUntil('ready', async () => (await readyStatus(gw!.http)) === 200);
    client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: ['K'] });
    const before = await xaddTicks(producer, 'ticks', ['K'], 500);
    await waitUntil('before the kill', () => client!.tickCount() === 500);
    const writer = steadyWriter(producer);
    await new Promise((r) => setTimeout(r, 300));
    redis.child.kill('SIGKILL');
    const during = await writer.stop();
    await producer.disconnect().catch(() => undefined);
    await redis.stop(); // already dead: this only removes its temporary directory (none with AOF)
    redis = await privateRedis(redis.port, { appendOnlyDir: dir });
    producer = await plainClient(redis.url);
    await waitUntil('/readyz 200 again', async () => (await readyStatus(gw!.http)) === 200, 15_000);
    const after = await xaddTicks(producer, 'ticks', ['K'], 500);
    await waitUntil('after the restart', () => client!.idsOf('K').at(-1) === after.at(-1), 15_000);
    return { before, during, after };
  }

  it('with AOF (fsync always): the client receives exactly the stream Redis kept (every acknowledged tick), in order, and no gap', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickgate-aof-'));
    redis = await privateRedis(undefined, { appendOnlyDir: dir });
    producer = await plainClient(redis.url);
    const { before, during, after } = await killAndRestart();
    expect(during.length).to.be.greaterThan(0);
    // The stream after the restart holds every acknowledged write (fsync always), and may hold one more: a write
    // Redis applied whose reply the kill cut off. The client gets exactly that stream.
    const stream = await streamIdsOf(producer, 'ticks', 'K');
    expect(during.filter((id) => !stream.includes(id))).to.deep.equal([]);
    expect(stream.length - before.length - during.length - after.length).to.be.within(0, 1);
    expect(client!.idsOf('K')).to.deep.equal(stream);
    expect(client!.replies.filter((r) => r.type === 'gap')).to.deep.equal([]);
  });

  it('without persistence: ticks Redis lost before the gateway read them are announced as a gap; the rest arrive exactly', async () => {
    redis = await privateRedis();
    producer = await plainClient(redis.url);
    gw = await startGateway(redis.url);
    await waitUntil('ready', async () => (await readyStatus(gw!.http)) === 200);
    client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: ['K'] });
    const before = await xaddTicks(producer, 'ticks', ['K'], 500);
    await waitUntil('before the kill', () => client!.tickCount() === 500);
    // Written while the gateway cannot read: Redis acknowledges them, then loses them with its memory.
    gw.child.kill('SIGSTOP');
    const unread = await xaddTicks(producer, 'ticks', ['K'], 200, 500);
    redis.child.kill('SIGKILL');
    await producer.disconnect().catch(() => undefined);
    await redis.stop(); // already dead: this only removes its temporary directory
    redis = await privateRedis(redis.port);
    producer = await plainClient(redis.url);
    gw.child.kill('SIGCONT');
    await waitUntil('/readyz 200 again', async () => (await readyStatus(gw!.http)) === 200, 15_000);
    const after = await xaddTicks(producer, 'ticks', ['K'], 500, 700);
    await waitUntil('after the restart', () => client!.idsOf('K').at(-1) === after.at(-1), 15_000);
    // A read already on its way when the gateway stopped may still deliver the first few; the rest are gone.
    const got = client!.idsOf('K');
    const read = got.length - before.length - after.length;
    expect(got).to.deep.equal([...before, ...unread.slice(0, read), ...after]);
    expect(read).to.be.lessThan(unread.length);
    const gaps = client!.replies.filter((r) => r.type === 'gap');
    expect(gaps, `${unread.length - read} acknowledged ticks lost with the old Redis`).to.have.length.greaterThan(0);
    // The announced range covers every lost tick.
    for (const id of unread.slice(read)) expect(gaps.some((g) => compareStreamIds(id, g.after as string) > 0 && compareStreamIds(id, g.through as string) <= 0), id).to.equal(true);
  });
});
