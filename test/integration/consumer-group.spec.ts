import { expect } from 'chai';
import { PrivateRedis } from '../../src/demo/private-redis';
import { GatewayProcess, metricValue, readyStatus, startGateway, waitUntil } from '../helpers/gateway';
import { killAll } from '../helpers/processes';
import { plainClient, PlainRedis, privateRedis, tickFields, xaddTicks } from '../helpers/redis';
import { TestClient } from '../helpers/ws-client';

const GROUP = 'tickgate:test';

describe('consumer group handling', function () {
  this.timeout(30_000);
  let redis: PrivateRedis;
  let producer: PlainRedis;
  let gw: GatewayProcess | undefined;

  beforeEach(async () => {
    redis = await privateRedis();
    producer = await plainClient(redis.url);
    await producer.xGroupCreate('ticks', GROUP, '$', { MKSTREAM: true });
  });

  afterEach(async () => {
    await gw?.stop('SIGKILL');
    await producer.quit();
    await redis.stop();
    killAll();
  });

  it('claims entries left pending by a dead consumer of its group, publishes and acks them', async () => {
    const ids = await xaddTicks(producer, 'ticks', ['A'], 10);
    await producer.xReadGroup(GROUP, 'ghost', { key: 'ticks', id: '>' }, { COUNT: 10 });
    expect((await producer.xPending('ticks', GROUP)).pending).to.equal(10);
    gw = await startGateway(redis.url, ['--claim-idle-ms', '1000', '--claim-interval-ms', '200']);
    await waitUntil('claimed and acked', async () => (await producer.xPending('ticks', GROUP)).pending === 0);
    expect(await metricValue(gw.http, 'tickgate_ticks_read_total')).to.equal(ids.length);
  });

  it('moves an entry delivered more than --max-deliveries times to the dead-letter stream and acks it', async () => {
    const poison = await producer.xAdd('ticks', '*', tickFields('A', 1));
    // One delivery with '>' and three re-reads of the pending entry: four deliveries.
    await producer.xReadGroup(GROUP, 'test', { key: 'ticks', id: '>' });
    for (let i = 0; i < 3; i++) await producer.xReadGroup(GROUP, 'test', { key: 'ticks', id: '0' });
    gw = await startGateway(redis.url, ['--max-deliveries', '3']);
    await waitUntil('dead-lettered', async () => (await producer.xLen('ticks:dead')) === 1);
    const [dead] = await producer.xRange('ticks:dead', '-', '+');
    expect(dead.message).to.include({ origin_stream: 'ticks', origin_id: poison, sym: 'A' });
    expect((await producer.xPending('ticks', GROUP)).pending).to.equal(0);
    expect(await metricValue(gw.http, 'tickgate_dead_lettered_total')).to.equal(1);
  });

  it('re-reads and acks its own pending entries on start, before reading new ones', async () => {
    gw = await startGateway(redis.url, ['--read-count', '16']);
    await waitUntil('ready', async () => (await readyStatus(gw!.http)) === 200);
    await gw.stop('SIGKILL');
    const ids = await xaddTicks(producer, 'ticks', ['A'], 50);
    // Delivered to this gateway's consumer but never acked: what a crash between read and ack leaves behind.
    await producer.xReadGroup(GROUP, 'test', { key: 'ticks', id: '>' }, { COUNT: 50 });
    gw = await startGateway(redis.url, ['--read-count', '16']);
    await waitUntil('pending recovered', async () => (await producer.xPending('ticks', GROUP)).pending === 0);
    expect(gw.logs.some((l) => l.includes('recovering pending entries'))).to.equal(true);
    expect(await metricValue(gw.http, 'tickgate_ticks_read_total')).to.equal(ids.length);
  });

  it('warns when another live consumer shares its group', async () => {
    // Redis 7.0 creates a consumer only when a read delivers something.
    await xaddTicks(producer, 'ticks', ['A'], 1);
    await producer.xReadGroup(GROUP, 'other-gateway', { key: 'ticks', id: '>' });
    gw = await startGateway(redis.url);
    await waitUntil('warning logged', () => gw!.logs.some((l) => l.includes('another consumer is active')));
  });

  it('never publishes a re-delivered tick older than one already published for its symbol', async () => {
    // An old entry stuck at a dead consumer, then newer ticks the gateway publishes at once.
    const [old] = await xaddTicks(producer, 'ticks', ['A'], 1);
    await producer.xReadGroup(GROUP, 'ghost', { key: 'ticks', id: '>' });
    // Nothing is idle for a minute yet, so the gateway cannot claim the old entry during its start-up, however long
    // that takes; once the fresh ticks are out, XCLAIM ... IDLE makes the entry claimable at the next sweep.
    gw = await startGateway(redis.url, ['--claim-idle-ms', '60000', '--claim-interval-ms', '200']);
    await waitUntil('ready', async () => (await readyStatus(gw!.http)) === 200);
    const client = await TestClient.connect(gw.url);
    await client.request({ op: 'subscribe', symbols: ['A'] });
    const fresh = await xaddTicks(producer, 'ticks', ['A'], 5);
    await waitUntil('fresh ticks delivered', () => client.idsOf('A').length === fresh.length);
    await producer.xClaim('ticks', GROUP, 'ghost', 0, old, { IDLE: 120_000 });
    await waitUntil('old one claimed and acked', async () => (await producer.xPending('ticks', GROUP)).pending === 0);
    expect(client.idsOf('A')).to.deep.equal(fresh);
    expect(client.idsOf('A')).not.to.include(old);
    expect(await metricValue(gw.http, 'tickgate_stale_entries_total')).to.equal(1);
    client.close();
  });
});
