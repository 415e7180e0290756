import { expect } from 'chai';
import { RegistryFullError } from '../../src/registry/registry';
import {
  CounterUnderflowError,
  KeyCodec,
  KeyTooLongError,
  SharedBufferLayoutError,
  SharedCounterMap,
} from '../../src/registry/shared-map';
import { seededRandom } from '../../src/random';

describe('SharedCounterMap (one thread)', () => {
  it('reads 0 for a key that was never inserted', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    expect(map.get('bin+lz4/BTC-USD')).to.equal(0);
    expect(map.liveKeys()).to.equal(0);
  });

  it('inserts on first increment and counts up and down', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    expect(map.increment('bin+lz4/BTC-USD')).to.equal(1);
    expect(map.increment('bin+lz4/BTC-USD')).to.equal(2);
    expect(map.increment('json/ETH-USD')).to.equal(1);
    expect(map.get('bin+lz4/BTC-USD')).to.equal(2);
    expect(map.decrement('bin+lz4/BTC-USD')).to.equal(1);
    expect(map.get('bin+lz4/BTC-USD')).to.equal(1);
    expect(map.get('json/ETH-USD')).to.equal(1);
    expect(map.liveKeys()).to.equal(2);
  });

  it('reads a key removed down to 0 as 0 and stops counting it live', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    map.increment('json/SOL-USD');
    expect(map.decrement('json/SOL-USD')).to.equal(0);
    expect(map.get('json/SOL-USD')).to.equal(0);
    expect(map.liveKeys()).to.equal(0);
    expect(map.increment('json/SOL-USD')).to.equal(1);
    expect(map.liveKeys()).to.equal(1);
  });

  it('throws CounterUnderflowError and changes nothing when a decrement would go below 0', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    expect(() => map.decrement('json/never')).to.throw(CounterUnderflowError).with.property('code', 'REGISTRY_COUNTER_UNDERFLOW');
    map.increment('json/once');
    map.decrement('json/once');
    expect(() => map.decrement('json/once')).to.throw(CounterUnderflowError);
    expect(map.get('json/once')).to.equal(0);
    expect(map.get('json/never')).to.equal(0);
    expect(map.liveKeys()).to.equal(0);
  });

  it('rejects keys longer than maxKeyBytes UTF-8 bytes with KeyTooLongError, counting multi-byte characters', () => {
    const map = SharedCounterMap.create({ capacity: 16, maxKeyBytes: 16 });
    expect(map.increment('x'.repeat(16))).to.equal(1);
    expect(() => map.increment('x'.repeat(17))).to.throw(KeyTooLongError).with.property('code', 'REGISTRY_KEY_TOO_LONG');
    // 8 characters, 16 bytes: fits. 9 characters, 18 bytes: does not.
    expect(map.increment('é'.repeat(8))).to.equal(1);
    expect(() => map.increment('é'.repeat(9))).to.throw(KeyTooLongError);
    expect(map.get('x'.repeat(17))).to.equal(0);
    expect(map.get('é'.repeat(9))).to.equal(0);
  });

  it('keeps keys apart that differ only in length, in their last byte, or in encoding', () => {
    const map = SharedCounterMap.create({ capacity: 64 });
    const keys = ['a', 'a\u0000', 'ab', 'abcd', 'abcd\u0000', 'abce', 'bin/€', 'bin/\u00e2\u201a\u00ac', 'x'.repeat(64)];
    keys.forEach((k, i) => {
      for (let n = 0; n <= i; n++) map.increment(k);
    });
    keys.forEach((k, i) => expect(map.get(k), JSON.stringify(k)).to.equal(i + 1));
    expect(map.entries().map((e) => e.key).sort()).to.deep.equal([...keys].sort());
  });

  it('throws RegistryFullError when every slot holds a live key, and takes new keys again once one drops to 0', () => {
    const map = SharedCounterMap.create({ capacity: 8 });
    for (let i = 0; i < 8; i++) map.increment(`k${i}`);
    expect(() => map.increment('k8')).to.throw(RegistryFullError).with.property('code', 'REGISTRY_FULL');
    for (let i = 0; i < 8; i++) expect(map.get(`k${i}`)).to.equal(1);
    map.decrement('k3');
    expect(map.increment('k8')).to.equal(1);
    expect(map.get('k3')).to.equal(0);
    expect(map.get('k8')).to.equal(1);
    expect(map.entries()).to.have.length(8);
  });

  it('reuses dead slots, so churning 100,000 distinct keys through 64 slots never fills the table', () => {
    const map = SharedCounterMap.create({ capacity: 64 });
    const live: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const key = `bin/SYM-${i}`;
      map.increment(key);
      live.push(key);
      if (live.length > 40) expect(map.decrement(live.shift() as string)).to.equal(0);
    }
    expect(map.liveKeys()).to.equal(40);
    for (const key of live) expect(map.get(key)).to.equal(1);
    expect(map.get('bin/SYM-0')).to.equal(0);
    const entries = map.entries();
    expect(entries.filter((e) => e.count > 0)).to.have.length(40);
    expect(new Set(entries.map((e) => e.key)).size).to.equal(entries.length);
  });

  it('matches a Map model over random increments, decrements and lookups', () => {
    const map = SharedCounterMap.create({ capacity: 128 });
    const model = new Map<string, number>();
    let seed = 42;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 50_000; i++) {
      const key = `json/K${rand(200)}`;
      const have = model.get(key) ?? 0;
      const r = rand(3);
      if (r === 0) expect(map.get(key)).to.equal(have);
      else if (r === 1 && model.size < 60) {
        expect(map.increment(key)).to.equal(have + 1);
        model.set(key, have + 1);
      } else if (have > 0) {
        expect(map.decrement(key)).to.equal(have - 1);
        if (have === 1) model.delete(key);
        else model.set(key, have - 1);
      }
    }
    for (let k = 0; k < 200; k++) expect(map.get(`json/K${k}`)).to.equal(model.get(`json/K${k}`) ?? 0);
    expect(map.liveKeys()).to.equal(model.size);
  });

  it('attaches to an existing buffer and sees the same state', () => {
    const map = SharedCounterMap.create({ capacity: 16, maxKeyBytes: 32 });
    map.increment('bin+lz4/BTC-USD');
    const other = SharedCounterMap.attach(map.buffer);
    expect(other.slots).to.equal(16);
    expect(other.maxKeyBytes).to.equal(32);
    expect(other.get('bin+lz4/BTC-USD')).to.equal(1);
    other.increment('bin+lz4/BTC-USD');
    expect(map.get('bin+lz4/BTC-USD')).to.equal(2);
  });

  it('refuses to attach to a buffer it did not create', () => {
    expect(() => SharedCounterMap.attach(new SharedArrayBuffer(4096)))
      .to.throw(SharedBufferLayoutError)
      .with.property('code', 'REGISTRY_BAD_BUFFER');
  });

  it('lists the live slots of a range, and consecutive ranges cover the table exactly once', () => {
    const map = SharedCounterMap.create({ capacity: 256 });
    const keys = Array.from({ length: 100 }, (_, i) => `json/S${i}`);
    for (const k of keys) map.increment(k);
    const sliced = [];
    for (let from = 0; from < map.slots; from += 37) sliced.push(...map.entries(from, from + 37));
    expect(sliced.map((e) => e.slot)).to.deep.equal(map.entries().map((e) => e.slot));
    expect(sliced.map((e) => e.key).sort()).to.deep.equal([...keys].sort());
    expect(map.entries(map.slots, map.slots + 10)).to.deep.equal([]);
  });
});

describe('SharedCounterMap reclaiming capacity (one thread)', () => {
  const FRESH_1024 = { used: 0, maxBound: 0, missProbes: 1024 };
  const costOf = (map: SharedCounterMap) => {
    const { used, maxBound, missProbes } = map.probeStats();
    return { used, maxBound, missProbes };
  };
  /** Slots a lookup of each present key visits: its distance from home, plus one. */
  const hitProbes = (map: SharedCounterMap) => {
    const codec = new KeyCodec(map.maxKeyBytes);
    return map.entries().filter((e) => e.count > 0).reduce((n, e) => n + ((e.slot - codec.hash(codec.encode(e.key))) & (map.slots - 1)) + 1, 0);
  };
  const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `json/${prefix}-${i}`);

  it('costs a fresh table one slot per missing-key lookup and nothing else', () => {
    expect(costOf(SharedCounterMap.create({ capacity: 1024, reclaim: true }))).to.deep.equal(FRESH_1024);
  });

  it('after filling to its live limit and releasing every key, costs exactly what a fresh table costs, and refills into the same layout', () => {
    const map = SharedCounterMap.create({ capacity: 1024, maxLive: 512, reclaim: true });
    const fill = keys('FILL', 512);
    for (const k of fill) map.increment(k);
    expect(() => map.increment('json/ONE-TOO-MANY')).to.throw(RegistryFullError);
    const full = costOf(map);
    expect(full.used).to.equal(512);
    expect(full.maxBound).to.be.above(0);
    expect(full.missProbes).to.be.above(1024);
    for (const k of fill) expect(map.decrement(k)).to.equal(0);

    expect(costOf(map)).to.deep.equal(FRESH_1024);
    expect(map.probeStats().compactions).to.be.above(0);
    for (const k of fill) expect(map.get(k)).to.equal(0);
    const again = keys('AGAIN', 512);
    const fresh = SharedCounterMap.create({ capacity: 1024, maxLive: 512, reclaim: true });
    for (const k of again) expect(map.increment(k)).to.equal(1);
    for (const k of again) fresh.increment(k);
    expect(map.entries()).to.deep.equal(fresh.entries());
    expect(costOf(map)).to.deep.equal(costOf(fresh));
  });

  it('after a fill and release around keys that stay, costs what a fresh table holding only those keys costs, within 20%', () => {
    const map = SharedCounterMap.create({ capacity: 1024, maxLive: 512, reclaim: true });
    const fresh = SharedCounterMap.create({ capacity: 1024, maxLive: 512, reclaim: true });
    const kept = keys('KEEP', 40);
    for (const k of kept) {
      map.increment(k);
      fresh.increment(k);
    }
    const fill = keys('FILL', 472);
    for (const k of fill) map.increment(k);
    for (const k of fill) map.decrement(k);

    for (const k of kept) expect(map.get(k)).to.equal(1);
    expect(map.liveKeys()).to.equal(40);
    expect(hitProbes(map)).to.equal(hitProbes(fresh));
    expect(map.probeStats().missProbes).to.be.at.most(1.2 * fresh.probeStats().missProbes);
  });

  it('keeps every count right while it compacts, over 40 cycles of filling and releasing, against a Map model, and leaves fewer than 16 dead slots once empty', () => {
    const map = SharedCounterMap.create({ capacity: 128, maxLive: 64, reclaim: true });
    const model = new Map<string, number>();
    const random = seededRandom(99);
    const rand = (n: number) => Math.floor(random() * n);
    const check = (key: string) => expect(map.get(key), key).to.equal(model.get(key) ?? 0);
    for (let cycle = 0; cycle < 40; cycle++) {
      // Fill towards the limit with keys of this cycle and of earlier ones, then release most of them.
      const target = 20 + rand(44);
      while (model.size < target) {
        const key = `json/C${rand(cycle + 1)}-${rand(100)}`;
        expect(map.increment(key)).to.equal((model.get(key) ?? 0) + 1);
        model.set(key, (model.get(key) ?? 0) + 1);
        check(`json/C${rand(cycle + 1)}-${rand(100)}`);
      }
      const keep = rand(8);
      for (const [key, n] of [...model]) {
        if (model.size <= keep) break;
        for (let i = n; i > 0; i--) expect(map.decrement(key)).to.equal(i - 1);
        model.delete(key);
        check(key);
        check(`json/C${rand(cycle + 1)}-${rand(100)}`);
      }
      for (const key of model.keys()) check(key);
      expect(map.liveKeys()).to.equal(model.size);
    }
    expect(map.probeStats().compactions).to.be.above(10);
    for (const [key] of [...model]) while ((model.get(key) ?? 0) > 0) {
      map.decrement(key);
      model.set(key, model.get(key)! - 1);
    }
    // Fewer dead slots than a compaction needs (16 here) may remain; they are all that is left of 40 cycles.
    expect(map.liveKeys()).to.equal(0);
    expect(map.probeStats().used).to.be.below(16);
  });

  it('does not compact a map created without reclaim, which keeps its old costs', () => {
    const map = SharedCounterMap.create({ capacity: 1024 });
    const fill = keys('FILL', 512);
    for (const k of fill) map.increment(k);
    for (const k of fill) map.decrement(k);
    expect(map.compact()).to.equal(false);
    expect(map.probeStats()).to.include({ used: 512, compactions: 0 });
    expect(map.probeStats().missProbes).to.be.above(1024);
  });

  it('compacts a table the first time it empties, then not for a handful of dead slots, so toggling topics costs no table pass', () => {
    const map = SharedCounterMap.create({ capacity: 1024, reclaim: true });
    for (let i = 0; i < 10_000; i++) {
      map.increment(`json/T${i % 15}`);
      map.decrement(`json/T${i % 15}`);
    }
    expect(map.probeStats()).to.include({ used: 15, compactions: 1 });
  });

  it('ends exactly as fresh after any fill of at least 16 keys and a release of all, however its compactions fell', () => {
    const map = SharedCounterMap.create({ capacity: 1024, maxLive: 512, reclaim: true });
    for (let n = 16; n <= 512; n += 37) {
      const fill = keys(`N${n}`, n);
      for (const k of fill) map.increment(k);
      for (const k of fill) map.decrement(k);
      expect(costOf(map), `a fill of ${n}`).to.deep.equal(FRESH_1024);
    }
  });
});
