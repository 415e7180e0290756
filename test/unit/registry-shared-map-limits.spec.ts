import { expect } from 'chai';
import { RegistryFullError } from '../../src/registry/registry';
import {
  CounterUnderflowError,
  KeyCodec,
  KeyTooLongError,
  SharedBufferLayoutError,
  SharedCounterMap,
  mix32,
} from '../../src/registry/shared-map';
import { keysWithHome, sameHomeKeys, slotOf } from '../helpers/registry-keys';
import { thrown } from '../helpers/thrown';

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `json/${prefix}-${i}`);

describe('SharedCounterMap sizes and their errors', () => {
  it('rounds the capacity up to a power of two, and keeps a capacity of 1', () => {
    expect([1, 2, 5, 8, 9, 1000].map((capacity) => SharedCounterMap.create({ capacity }).slots)).to.deep.equal([1, 2, 8, 8, 16, 1024]);
  });

  it('holds keys of up to 64 UTF-8 bytes by default', () => {
    const map = SharedCounterMap.create({ capacity: 4 });
    expect(map.maxKeyBytes).to.equal(64);
    expect(map.increment('k'.repeat(64))).to.equal(1);
    expect(() => map.increment('k'.repeat(65))).to.throw(KeyTooLongError);
  });

  it('rejects a key length that is not a positive multiple of 4, with the value in the RangeError', () => {
    for (const maxKeyBytes of [0, -4, 6, 4.5, NaN]) {
      expect(() => SharedCounterMap.create({ capacity: 8, maxKeyBytes }))
        .to.throw(RangeError)
        .with.property('message', `maxKeyBytes must be a positive multiple of 4, got ${maxKeyBytes}`);
    }
    expect(SharedCounterMap.create({ capacity: 8, maxKeyBytes: 4 }).maxKeyBytes).to.equal(4);
  });

  it('rejects a capacity outside [1, 2^24] or not an integer', () => {
    for (const capacity of [0, -1, 1.5, 2 ** 24 + 1, NaN]) {
      expect(() => SharedCounterMap.create({ capacity }))
        .to.throw(RangeError)
        .with.property('message', `capacity must be an integer in [1, 2^24], got ${capacity}`);
    }
  });

  it('takes maxLive in [1, slots], defaulting to the slot count, and rejects anything else', () => {
    expect(SharedCounterMap.create({ capacity: 5 }).maxLive).to.equal(8);
    expect(SharedCounterMap.create({ capacity: 5, maxLive: 8 }).maxLive).to.equal(8);
    expect(SharedCounterMap.create({ capacity: 5, maxLive: 1 }).maxLive).to.equal(1);
    for (const maxLive of [0, 9, 2.5]) {
      expect(() => SharedCounterMap.create({ capacity: 5, maxLive }))
        .to.throw(RangeError)
        .with.property('message', `maxLive must be an integer in [1, 8], got ${maxLive}`);
    }
  });

  it('refuses the maxLive+1st live key, a revived one included, with RegistryFullError naming the key and the limit', () => {
    const map = SharedCounterMap.create({ capacity: 8, maxLive: 2 });
    map.increment('json/A');
    map.increment('json/B');
    const err = thrown(() => map.increment('json/C'));
    expect(err).to.be.instanceOf(RegistryFullError);
    expect(err).to.include({
      name: 'RegistryFullError',
      message: 'connection registry is full: counter map (inserting "json/C") table holds at most 2 entries',
    });
    map.decrement('json/B');
    map.increment('json/C');
    expect(() => map.increment('json/B')).to.throw(RegistryFullError, 'counter map (inserting "json/B")');
    expect(map.get('json/B')).to.equal(0);
    expect(map.liveKeys()).to.equal(2);
    // A key already live is not a new one, so it still counts up at the limit.
    expect(map.increment('json/A')).to.equal(2);
  });

  it('counts the empty key like any other', () => {
    const map = SharedCounterMap.create({ capacity: 8 });
    expect(map.get('')).to.equal(0);
    expect(map.increment('')).to.equal(1);
    expect(map.get('')).to.equal(1);
    expect(map.entries()).to.deep.equal([{ slot: slotOf(map, '')[0], key: '', count: 1 }]);
    expect(map.decrement('')).to.equal(0);
  });

  it('names the key and the limit in KeyTooLongError and CounterUnderflowError', () => {
    const map = SharedCounterMap.create({ capacity: 8, maxKeyBytes: 8 });
    const long = 'y'.repeat(100);
    const tooLong = thrown(() => map.increment(long));
    expect(tooLong).to.include({ name: 'KeyTooLongError', key: long, maxBytes: 8, message: `key is longer than 8 UTF-8 bytes: "${'y'.repeat(80)}"` });
    const under = thrown(() => map.decrement('json/X'));
    expect(under).to.be.instanceOf(CounterUnderflowError);
    expect(under).to.include({ name: 'CounterUnderflowError', key: 'json/X', message: 'counter for "json/X" would go below zero' });
  });
});

describe('SharedCounterMap.attach', () => {
  const copyOf = (buffer: SharedArrayBuffer, byteLength = buffer.byteLength) => {
    const copy = new SharedArrayBuffer(byteLength);
    new Uint8Array(copy).set(new Uint8Array(buffer).subarray(0, Math.min(byteLength, buffer.byteLength)));
    return copy;
  };
  const layoutError = (buffer: SharedArrayBuffer) => thrown(() => SharedCounterMap.attach(buffer));

  it('takes the slot count, key length, live limit and reclaim mode from the buffer', () => {
    const map = SharedCounterMap.create({ capacity: 30, maxKeyBytes: 12, maxLive: 3, reclaim: true });
    const other = SharedCounterMap.attach(map.buffer);
    expect(other).to.include({ slots: 32, maxKeyBytes: 12, maxLive: 3 });
    expect(other.compact()).to.equal(true);
    expect(SharedCounterMap.attach(SharedCounterMap.create({ capacity: 8 }).buffer).compact()).to.equal(false);
  });

  it('refuses what is not a SharedArrayBuffer, or too short for a header', () => {
    for (const buffer of [new ArrayBuffer(4096), new SharedArrayBuffer(63)]) {
      const err = layoutError(buffer as SharedArrayBuffer);
      expect(err).to.be.instanceOf(SharedBufferLayoutError);
      expect(err).to.include({ name: 'SharedBufferLayoutError', message: 'not a buffer this version created: expected a SharedArrayBuffer' });
    }
  });

  it('refuses a buffer whose magic or version is not this one', () => {
    const good = SharedCounterMap.create({ capacity: 8 }).buffer;
    const badMagic = copyOf(good);
    new Int32Array(badMagic)[0] ^= 1;
    const badVersion = copyOf(good);
    new Int32Array(badVersion)[1] += 1;
    for (const buffer of [new SharedArrayBuffer(64), badMagic, badVersion]) {
      expect(layoutError(buffer)).to.include({ message: 'not a buffer this version created: bad magic or version' });
    }
  });

  it('refuses a buffer whose size does not match the table its header describes', () => {
    const good = SharedCounterMap.create({ capacity: 8 }).buffer;
    for (const size of [good.byteLength - 4, good.byteLength + 4]) {
      expect(layoutError(copyOf(good, size))).to.include({ message: 'not a buffer this version created: size does not match its header' });
    }
  });
});

describe('KeyCodec', () => {
  it('encodes ASCII byte for byte and zero-pads to a whole word, whatever it encoded before', () => {
    const codec = new KeyCodec(8);
    expect(codec.encode('zzzzzzzz')).to.equal(8);
    const long = codec.hash(8);
    expect(codec.encode('abcde')).to.equal(5);
    expect(Array.from(new Uint8Array(codec.words.buffer))).to.deep.equal([0x61, 0x62, 0x63, 0x64, 0x65, 0, 0, 0]);
    const fresh = new KeyCodec(8);
    fresh.encode('abcde');
    expect(codec.hash(5)).to.equal(fresh.hash(5));
    expect(codec.hash(5)).to.not.equal(long);
  });

  it('counts UTF-8 bytes from U+0080 on, and reports a key that does not fit as -1', () => {
    const codec = new KeyCodec(4);
    expect(['\u007f', '\u0080', 'aé', 'aaé', '😀', 'aaaa'].map((k) => codec.encode(k))).to.deep.equal([1, 2, 3, 4, 4, 4]);
    expect(['aaaaa', 'aaaé', 'ééé', '😀a'].map((k) => codec.encode(k))).to.deep.equal([-1, -1, -1, -1]);
  });

  it('hashes the length too, so keys that differ only by trailing zero bytes differ', () => {
    const codec = new KeyCodec(8);
    codec.encode('a');
    const a = codec.hash(1);
    codec.encode('a\u0000');
    expect(codec.hash(2)).to.not.equal(a);
  });

  it('mixes with Murmur3\'s finaliser', () => {
    expect([0, 1].map((h) => mix32(h) >>> 0)).to.deep.equal([0, 0x514e28b7]);
  });
});

describe('SharedCounterMap ranges', () => {
  it('clamps entries() and probeStats() ranges to the table', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    const [k] = keysWithHome(16, 15, 1, (i) => `json/E${i}`);
    map.increment(k);
    expect(map.entries(-5, 100)).to.deep.equal([{ slot: 15, key: k, count: 1 }]);
    expect(map.entries(-5, 15)).to.deep.equal([]);
    expect(map.entries(15, 16)).to.deep.equal([{ slot: 15, key: k, count: 1 }]);
    expect(map.probeStats(-4, 4)).to.deep.equal({ used: 0, maxBound: 0, missProbes: 4, compactions: 0 });
    expect(map.probeStats(12, 100)).to.deep.equal({ used: 1, maxBound: 0, missProbes: 4, compactions: 0 });
  });

  it('lists a key at count 0 in entries() until its slot is reused', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    map.increment('json/Z');
    map.decrement('json/Z');
    expect(map.entries().map(({ key, count }) => ({ key, count }))).to.deep.equal([{ key: 'json/Z', count: 0 }]);
  });

  it('counts in probeStats the slots a miss visits up to its home\'s bound, through a wrap to slot 0', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    const same = keysWithHome(16, 14, 4, (i) => `json/W${i}`);
    for (const k of same) map.increment(k);
    expect(same.map((k) => slotOf(map, k)[0])).to.deep.equal([14, 15, 0, 1]);
    // Home 14 probes 14, 15, 0, 1; home 15 probes only itself; homes 0 and 1 only themselves.
    expect(map.probeStats(14, 15)).to.deep.equal({ used: 1, maxBound: 3, missProbes: 4, compactions: 0 });
    expect(map.probeStats()).to.deep.equal({ used: 4, maxBound: 3, missProbes: 16 + 3, compactions: 0 });
    for (const k of same) expect(map.get(k)).to.equal(1);
  });
});

describe('SharedCounterMap compaction thresholds (one thread)', () => {
  /** A reclaiming map holding `live` keys that stay, then `extra` keys inserted after them. */
  const filled = (capacity: number, live: number, extra: number) => {
    const map = SharedCounterMap.create({ capacity, reclaim: true });
    const kept = keys('KEEP', live);
    const released = keys('GO', extra);
    for (const k of [...kept, ...released]) map.increment(k);
    return { map, kept, released };
  };
  const compactions = (map: SharedCounterMap) => map.probeStats().compactions;

  it('compacts, with keys live, at the release that leaves 16 dead slots in a small table, not before', () => {
    const { map, kept, released } = filled(64, 1, 16);
    for (const k of released.slice(0, 15)) map.decrement(k);
    expect(compactions(map)).to.equal(0);
    expect(map.probeStats().used).to.equal(17);
    map.decrement(released[15]);
    expect(compactions(map)).to.equal(1);
    expect(map.probeStats().used).to.equal(1);
    expect(map.get(kept[0])).to.equal(1);
  });

  it('does not compact for releases alone: a key toggled 16 times beside a live one leaves one dead slot', () => {
    const { map } = filled(64, 1, 0);
    for (let i = 0; i < 16; i++) {
      map.increment('json/TOGGLE');
      map.decrement('json/TOGGLE');
    }
    expect(map.probeStats()).to.include({ used: 2, compactions: 0 });
  });

  it('compacts a large table at slots/256 dead slots rather than 16', () => {
    const { map, released } = filled(8192, 1, 32);
    for (const k of released.slice(0, 31)) map.decrement(k);
    expect(compactions(map)).to.equal(0);
    map.decrement(released[31]);
    expect(compactions(map)).to.equal(1);
    expect(map.probeStats().used).to.equal(1);
  });

  it('waits for at least as many dead slots as live keys', () => {
    // At the 20th release 20 keys are live and 20 slots dead; at the 19th, 21 and 19.
    const { map, released } = filled(64, 20, 20);
    for (const k of released.slice(0, 19)) map.decrement(k);
    expect(compactions(map)).to.equal(0);
    map.decrement(released[19]);
    expect(compactions(map)).to.equal(1);
  });

  it('waits for 16 releases since the last compaction, even with dead slots left on live keys\' paths', () => {
    const map = SharedCounterMap.create({ capacity: 64, reclaim: true });
    const same = sameHomeKeys(64, 20, (i) => `json/SH${i}`);
    for (const k of same) map.increment(k);
    for (const k of same.slice(0, 16)) map.decrement(k);
    // The 16 released slots lie on the path of the 4 keys after them: they stay, as FREE.
    expect(map.probeStats()).to.include({ used: 20, compactions: 1 });
    for (const k of same.slice(16, 19)) map.decrement(k);
    expect(map.probeStats()).to.include({ used: 20, compactions: 1 });
    map.decrement(same[19]);
    expect(map.probeStats()).to.deep.equal({ used: 0, maxBound: 0, missProbes: 64, compactions: 2 });
  });

  it('compacts when the table first empties after a compaction that left keys, however few slots are dead, and then not again for a toggle', () => {
    const { map, kept, released } = filled(64, 1, 16);
    for (const k of released) map.decrement(k);
    expect(map.probeStats()).to.include({ used: 1, compactions: 1 });
    map.decrement(kept[0]);
    expect(map.probeStats()).to.include({ used: 0, compactions: 2 });
    map.increment(kept[0]);
    map.decrement(kept[0]);
    expect(map.probeStats()).to.include({ used: 1, compactions: 2 });
  });

  it('once emptied by a compaction, compacts an empty table again only at 16 dead slots', () => {
    const toggledThenFilled = (n: number) => {
      const map = SharedCounterMap.create({ capacity: 64, reclaim: true });
      map.increment('json/FIRST');
      map.decrement('json/FIRST');
      expect(map.probeStats()).to.include({ used: 0, compactions: 1 });
      const fill = keys('F', n);
      for (const k of fill) map.increment(k);
      for (const k of fill) map.decrement(k);
      return map.probeStats();
    };
    expect(toggledThenFilled(15)).to.include({ used: 15, compactions: 1 });
    expect(toggledThenFilled(16)).to.include({ used: 0, compactions: 2 });
  });
});

describe('SharedCounterMap.compact (one thread)', () => {
  it('keeps dead slots on a live key\'s path, wrapping past the last slot, as FREE, empties the others and lowers bounds', () => {
    const map = SharedCounterMap.create({ capacity: 16, reclaim: true });
    const path = keysWithHome(16, 14, 5, (i) => `json/P${i}`);
    const [aside] = keysWithHome(16, 5, 1, (i) => `json/A${i}`);
    const [far] = keysWithHome(16, 9, 1, (i) => `json/F${i}`);
    for (const k of [...path, aside, far]) map.increment(k);
    expect(path.map((k) => slotOf(map, k)[0])).to.deep.equal([14, 15, 0, 1, 2]);
    for (const k of [...path.slice(0, 4), aside]) map.decrement(k);
    expect(map.compact()).to.equal(true);

    expect(map.get(path[4])).to.equal(1);
    expect(map.get(far)).to.equal(1);
    expect(map.entries().map((e) => e.key)).to.deep.equal([path[4], far]);
    // 14, 15, 0 and 1 are FREE (used, listed nowhere), 2 and 9 live, 5 EMPTY again.
    expect(map.probeStats()).to.deep.equal({ used: 6, maxBound: 4, missProbes: 16 + 4, compactions: 1 });
    expect(map.probeStats(5, 6).used).to.equal(0);

    map.decrement(path[4]);
    expect(map.compact()).to.equal(true);
    expect(map.probeStats()).to.deep.equal({ used: 1, maxBound: 0, missProbes: 16, compactions: 2 });
    expect(map.get(far)).to.equal(1);
  });

  it('lowers a home\'s bound to its farthest live key when the keys beyond it are released', () => {
    const map = SharedCounterMap.create({ capacity: 16, reclaim: true });
    const same = sameHomeKeys(16, 3, (i) => `json/B${i}`);
    for (const k of same) map.increment(k);
    const home = slotOf(map, same[0])[0];
    map.decrement(same[2]);
    map.decrement(same[1]);
    map.compact();
    expect(map.probeStats(home, home + 1)).to.deep.equal({ used: 1, maxBound: 0, missProbes: 1, compactions: 1 });
    expect(map.probeStats().used).to.equal(1);
    // The freed slots take new keys of that home where a fresh table would put them.
    expect(map.increment(same[2])).to.equal(1);
    expect(slotOf(map, same[2])).to.deep.equal([(home + 1) & 15]);
  });

  it('turns a FREE slot whose covering key has gone EMPTY at the next compaction', () => {
    const map = SharedCounterMap.create({ capacity: 16, reclaim: true });
    const same = sameHomeKeys(16, 2, (i) => `json/C${i}`);
    for (const k of same) map.increment(k);
    map.decrement(same[0]);
    map.compact();
    expect(map.probeStats().used).to.equal(2);
    // The release that empties the table compacts it, since the last compaction left a key.
    map.decrement(same[1]);
    expect(map.probeStats()).to.deep.equal({ used: 0, maxBound: 0, missProbes: 16, compactions: 2 });
  });

  it('revives a key whose slot a compaction kept as FREE, counting from 1', () => {
    const map = SharedCounterMap.create({ capacity: 16, reclaim: true });
    const same = sameHomeKeys(16, 2, (i) => `json/R${i}`);
    for (const k of same) map.increment(k);
    map.decrement(same[0]);
    map.compact();
    expect(map.get(same[0])).to.equal(0);
    const [home] = slotOf(map, same[1]).map((s) => (s - 1) & 15);
    expect(map.increment(same[0])).to.equal(1);
    expect(slotOf(map, same[0])).to.deep.equal([home]);
    expect(map.get(same[0])).to.equal(1);
    expect(map.liveKeys()).to.equal(2);
    expect(map.entries().map((e) => e.key).sort()).to.deep.equal([...same].sort());
  });
});
