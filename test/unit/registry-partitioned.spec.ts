import { expect } from 'chai';
import { PartitionedRegistry } from '../../src/registry/partitioned-registry';

describe('PartitionedRegistry (the process-wide view over one partition per worker)', () => {
  it('counts a topic held by several workers once, and a symbol subscribed in several formats once', async () => {
    const reg = new PartitionedRegistry(2, { topicCapacity: 64, sessionCapacity: 16 });
    reg.partition(0).openSession(1, 0, 0);
    reg.partition(1).openSession(2, 1, 0);
    reg.partition(1).openSession(3, 1, 0);
    reg.partition(0).addSubscription(1, 'json/BTC-USD');
    reg.partition(1).addSubscription(2, 'json/BTC-USD');
    reg.partition(1).addSubscription(3, 'bin+lz4/BTC-USD');
    reg.partition(1).addSubscription(3, 'json/ETH-USD');
    expect(await reg.stats()).to.deep.equal({ sessions: 3, subscriptions: 4, activeTopics: 3, activeSymbols: 2, sessionsByWorker: [1, 2], topicProbeSlots: 1 });
    expect(reg.subscriberCount('json/BTC-USD')).to.equal(2);
  });

  it('stops counting a topic once its last subscriber in any worker leaves', async () => {
    const reg = new PartitionedRegistry(2, { topicCapacity: 64, sessionCapacity: 16 });
    reg.partition(0).openSession(1, 0, 0);
    reg.partition(0).addSubscription(1, 'json/BTC-USD');
    reg.partition(0).removeSubscription(1, 'json/BTC-USD');
    expect(await reg.stats()).to.include({ activeTopics: 0, activeSymbols: 0, subscriptions: 0 });
  });

  it('moves additions() on every subscription added in any partition and on a reset, never on a removal', () => {
    const r = new PartitionedRegistry(2, { topicCapacity: 64, sessionCapacity: 64 });
    const a = r.partition(0);
    const b = r.partition(1);
    a.openSession(1, 0, 0);
    b.openSession(2, 1, 0);
    const seen = [r.additions()];
    a.addSubscription(1, 'json/A');
    seen.push(r.additions());
    b.addSubscription(2, 'json/A');
    seen.push(r.additions());
    b.removeSubscription(2, 'json/A');
    expect(r.additions()).to.equal(seen[2]);
    r.reset(0);
    seen.push(r.additions());
    r.partition(0).openSession(3, 0, 0);
    r.partition(0).addSubscription(3, 'json/A');
    seen.push(r.additions());
    expect(new Set(seen).size, 'every value new').to.equal(seen.length);
  });

  it('forgets everything a reset worker held', async () => {
    const reg = new PartitionedRegistry(2, { topicCapacity: 64, sessionCapacity: 16 });
    reg.partition(1).openSession(7, 1, 0);
    reg.partition(1).addSubscription(7, 'json/BTC-USD');
    reg.reset(1);
    expect(await reg.stats()).to.deep.equal({ sessions: 0, subscriptions: 0, activeTopics: 0, activeSymbols: 0, sessionsByWorker: [0, 0], topicProbeSlots: 1 });
    expect(reg.subscriberCount('json/BTC-USD')).to.equal(0);
  });

  it('reads a large topic table in slices, letting other callbacks run between them', async () => {
    const reg = new PartitionedRegistry(1, { topicCapacity: 1 << 16, sessionCapacity: 16 });
    reg.partition(0).openSession(1, 0, 0);
    reg.partition(0).addSubscription(1, 'json/BTC-USD');
    let ranDuringStats = false;
    const stats = reg.stats();
    setImmediate(() => (ranDuringStats = true));
    expect(await stats).to.include({ activeTopics: 1 });
    expect(ranDuringStats).to.equal(true);
  });

  it('reports a topic lookup costing one slot in fresh tables, more in filled ones, and one again once they empty', async () => {
    const reg = new PartitionedRegistry(2, { topicCapacity: 256, sessionCapacity: 16 });
    expect((await reg.stats()).topicProbeSlots).to.equal(1);
    for (const w of [0, 1]) {
      reg.partition(w).openSession(w, w, 0);
      for (let i = 0; i < 256; i++) reg.partition(w).addSubscription(w, `json/F${w}-${i}`);
    }
    expect((await reg.stats()).topicProbeSlots).to.be.above(1);
    for (const w of [0, 1]) for (let i = 0; i < 256; i++) reg.partition(w).removeSubscription(w, `json/F${w}-${i}`);
    expect(await reg.stats()).to.include({ subscriptions: 0, topicProbeSlots: 1 });
  });
});

describe('PartitionedRegistry edges', () => {
  it('does not count a topic whose count is 0 but whose slot still holds it', async () => {
    const reg = new PartitionedRegistry(1, { topicCapacity: 64, sessionCapacity: 16 });
    reg.partition(0).openSession(1, 0, 0);
    reg.partition(0).addSubscription(1, 'json/BTC-USD');
    reg.partition(0).addSubscription(1, 'json/ETH-USD');
    reg.partition(0).removeSubscription(1, 'json/ETH-USD');
    expect(reg.partition(0).topics.entries().map((e) => e.key).sort()).to.deep.equal(['json/BTC-USD', 'json/ETH-USD']);
    expect(await reg.stats()).to.include({ activeTopics: 1, activeSymbols: 1 });
  });

  it('reports zeros, and a probe cost of 0, with no partitions', async () => {
    const reg = new PartitionedRegistry(0, { topicCapacity: 8, sessionCapacity: 1 });
    expect(await reg.stats()).to.deep.equal({ sessions: 0, subscriptions: 0, activeTopics: 0, activeSymbols: 0, sessionsByWorker: [], topicProbeSlots: 0 });
    expect(reg.subscriberCount('json/BTC-USD')).to.equal(0);
  });

  it('hands out the fresh partition on reset, and a read started before the reset reports the partition it replaced', async () => {
    const reg = new PartitionedRegistry(2, { topicCapacity: 1 << 13, sessionCapacity: 4 });
    reg.partition(1).openSession(7, 1, 0);
    reg.partition(1).addSubscription(7, 'json/BTC-USD');
    const before = reg.partition(1);
    const stats = reg.stats();
    const fresh = reg.reset(1);
    expect(fresh).to.equal(reg.partition(1));
    expect(fresh).to.not.equal(before);
    expect(await stats).to.include({ sessions: 1, subscriptions: 1, activeTopics: 1 });
    expect(await reg.stats()).to.include({ sessions: 0, subscriptions: 0, activeTopics: 0 });
  });
});
