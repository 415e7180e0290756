import { expect } from 'chai';
import { SharedCounterMap, SharedMapHookEvent } from '../../src/registry/shared-map';
import { beforeAtomic, beforeCompareExchange, keysWithHome, sameHomeKeys, slotOf } from '../helpers/registry-keys';

/**
 * Two handles on one buffer in one thread: `a` stops at a hook (or before a compareExchange) and `b` acts there, as
 * another worker would. Only interleavings in which `b` never has to wait for `a` can run on one thread; the ones
 * where it does are in registry-shared-threads.spec.
 */
function pausedAt(map: SharedCounterMap, event: SharedMapHookEvent, act: (slot: number) => void): { a: SharedCounterMap; ran: () => boolean } {
  let ran = false;
  const a = SharedCounterMap.attach(map.buffer, {
    onEvent(e, slot) {
      if (e !== event || ran) return;
      ran = true;
      act(slot);
    },
  });
  return { a, ran: () => ran };
}

/** Another thread's handle: each handle encodes keys in its own scratch buffer, as each thread does. */
const otherHandle = (map: SharedCounterMap) => SharedCounterMap.attach(map.buffer);

/** compareExchange on a slot's CTL word, with counts encoded as count + 1. */
const ctlCas = (from: number, to: number) => (array: Int32Array, _index: number, expected: number, replacement: number) =>
  array.length > 16 && expected === from + 1 && replacement === to + 1;

describe('SharedCounterMap interleavings (two handles, one thread)', () => {
  it('does not reclaim a dead slot that another mutator has pinned, and reclaims it once the pin is dropped', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    const [key, other, third] = sameHomeKeys(16, 3, (i) => `json/PIN${i}`);
    map.increment(key);
    map.decrement(key);
    const [home] = slotOf(map, key);
    const { a, ran } = pausedAt(map, 'pinned', () => expect(map.increment(other)).to.equal(1));
    expect(a.increment(key)).to.equal(1);
    expect(ran()).to.equal(true);
    expect(slotOf(map, key)).to.deep.equal([home]);
    expect(slotOf(map, other)).to.deep.equal([(home + 1) & 15]);
    expect([map.get(key), map.get(other), map.liveKeys()]).to.deep.equal([1, 1, 2]);

    a.decrement(key);
    expect(map.increment(third)).to.equal(1);
    expect(slotOf(map, third)).to.deep.equal([home]);
  });

  it('gives a key one slot when another handle inserts it into the slot an insert had chosen, and counts both', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    const key = 'json/RACE';
    const { a, ran } = pausedAt(map, 'candidate', () => expect(map.increment(key)).to.equal(1));
    expect(a.increment(key)).to.equal(2);
    expect(ran()).to.equal(true);
    expect(map.get(key)).to.equal(2);
    expect(map.liveKeys()).to.equal(1);
    expect(map.entries().map((e) => e.key)).to.deep.equal([key]);
    // The losing copy's slot stays behind as FREE.
    expect(map.probeStats().used).to.equal(2);
  });

  it('gives up its copy when another handle puts the key farther along the window while it holds a nearer slot, at any count', () => {
    for (const count of [1, 0]) {
      const map = SharedCounterMap.create({ capacity: 16 });
      const [key, dead] = sameHomeKeys(16, 2, (i) => `json/FAR${i}`);
      map.increment(dead);
      map.decrement(dead);
      const [home] = slotOf(map, dead);
      // While `a` holds the dead home slot as its candidate, `b` revives its key, so the key goes one slot farther,
      // and lets it die again, so `a`'s claim of the home slot still succeeds.
      const b = otherHandle(map);
      const { a, ran } = pausedAt(map, 'candidate', () => {
        b.increment(dead);
        b.increment(key);
        if (count === 0) b.decrement(key);
        b.decrement(dead);
      });
      expect(a.increment(key), `count ${count}`).to.equal(count + 1);
      expect(ran()).to.equal(true);
      expect(slotOf(map, key)).to.deep.equal([(home + 1) & 15]);
      expect(map.liveKeys()).to.equal(1);
    }
  });

  it('moves on to the next slot when another key takes the one an insert had chosen', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    const [key, other] = sameHomeKeys(16, 2, (i) => `json/NEXT${i}`);
    const { a, ran } = pausedAt(map, 'candidate', () => map.increment(other));
    expect(a.increment(key)).to.equal(1);
    expect(ran()).to.equal(true);
    const [home] = slotOf(map, other);
    expect(slotOf(map, key)).to.deep.equal([(home + 1) & 15]);
    expect([map.get(key), map.get(other), map.liveKeys()]).to.deep.equal([1, 1, 2]);
  });

  it('hides a key from lookups until its insert has checked for other copies', () => {
    for (const event of ['claimed', 'published'] as const) {
      const map = SharedCounterMap.create({ capacity: 16 });
      map.increment('json/THERE');
      const seen: number[] = [];
      const { a } = pausedAt(map, event, () => seen.push(map.get('json/NEW'), map.get('json/THERE')));
      a.increment('json/NEW');
      expect(seen, event).to.deep.equal([0, 1]);
      expect(map.get('json/NEW')).to.equal(1);
    }
  });

  it('refuses to compact while a mutator is inside the map, and compacts once it has left', () => {
    for (const event of ['pinned', 'claimed'] as const) {
      const map = SharedCounterMap.create({ capacity: 16, reclaim: true });
      map.increment('json/KEEP');
      const refused: boolean[] = [];
      const { a } = pausedAt(map, event, () => refused.push(map.compact()));
      a.increment(event === 'pinned' ? 'json/KEEP' : 'json/NEW');
      expect(refused, event).to.deep.equal([false]);
      expect(map.probeStats().compactions).to.equal(0);
      expect(map.compact()).to.equal(true);
      expect(map.probeStats().compactions).to.equal(1);
    }
  });

  it('lets lookups run during a compaction, runs one compaction at a time, and lets mutators in again afterwards', () => {
    const map = SharedCounterMap.create({ capacity: 16, reclaim: true });
    map.increment('json/KEEP');
    const during: unknown[] = [];
    const { a } = pausedAt(map, 'compacting', (slot) => during.push(slot, map.compact(), map.get('json/KEEP')));
    expect(a.compact()).to.equal(true);
    // A compaction is not at one slot: its hook says -1.
    expect(during).to.deep.equal([-1, false, 1]);
    expect(map.probeStats().compactions).to.equal(1);
    expect(map.increment('json/KEEP')).to.equal(2);
    expect(map.compact()).to.equal(true);
  });

  it('recounts from the new value when another handle changes a count between its read and its CAS', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    map.increment('json/K');
    const other = otherHandle(map);
    const up = beforeCompareExchange(map.buffer, ctlCas(1, 2), () => other.increment('json/K'));
    expect(map.increment('json/K')).to.equal(3);
    expect(up()).to.equal(true);
    const down = beforeCompareExchange(map.buffer, ctlCas(3, 2), () => other.increment('json/K'));
    expect(map.decrement('json/K')).to.equal(3);
    expect(down()).to.equal(true);
    expect(map.get('json/K')).to.equal(3);
    expect(map.liveKeys()).to.equal(1);
  });

  it('counts a key revived by two handles at once as one live key', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    map.increment('json/K');
    map.decrement('json/K');
    map.increment('json/OTHER');
    const other = otherHandle(map);
    const raced = beforeCompareExchange(map.buffer, ctlCas(0, 1), () => other.increment('json/K'));
    expect(map.increment('json/K')).to.equal(2);
    expect(raced()).to.equal(true);
    expect(map.liveKeys()).to.equal(2);
    expect(map.increment('json/K')).to.equal(3);
  });

  it('does not count a release when another handle takes the key back from 1 before the CAS to 0', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    map.increment('json/K');
    const other = otherHandle(map);
    const raced = beforeCompareExchange(map.buffer, ctlCas(1, 0), () => other.increment('json/K'));
    expect(map.decrement('json/K')).to.equal(1);
    expect(raced()).to.equal(true);
    expect(map.liveKeys()).to.equal(1);
    expect(map.decrement('json/K')).to.equal(0);
    expect(map.liveKeys()).to.equal(0);
  });

  it('ends with a bound covering its key when another insert raises the same home\'s bound between its read and its CAS', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    const [key, late, first] = sameHomeKeys(16, 3, (i) => `json/BOUND${i}`);
    map.increment(first);
    const [home] = slotOf(map, first);
    const [neighbour] = keysWithHome(16, (home + 1) & 15, 1, (i) => `json/NB${i}`);
    map.increment(neighbour);
    // `key` passes its home (live) and the neighbour's slot (live, another home), and raises its home's bound 0 → 2.
    // Before that CAS the neighbour leaves and `late` takes its slot, raising the bound to 1.
    const other = otherHandle(map);
    const raced = beforeCompareExchange(
      map.buffer,
      (array, index, expected, replacement) => array.length === 16 && index === home && expected === 0 && replacement === 2,
      () => {
        other.decrement(neighbour);
        other.increment(late);
      },
    );
    expect(map.increment(key)).to.equal(1);
    expect(raced()).to.equal(true);
    expect(slotOf(map, late)).to.deep.equal([(home + 1) & 15]);
    expect(slotOf(map, key)).to.deep.equal([(home + 2) & 15]);
    expect([map.get(first), map.get(late), map.get(key)]).to.deep.equal([1, 1, 1]);
    expect(map.probeStats(home, home + 1).maxBound).to.equal(2);
  });

  it('looks again when the slot it is comparing is given to another key, so it never reports that key\'s count', () => {
    const map = SharedCounterMap.create({ capacity: 16 });
    const [key, other] = sameHomeKeys(16, 2, (i) => `json/SEQ${i}`);
    map.increment(key);
    const [home] = slotOf(map, key);
    const b = otherHandle(map);
    let ctlLoads = 0;
    // The lookup's second load of the slot's CTL (word 1 of its 8), after it has matched the key words: meanwhile
    // `key` drops to 0 and `other` takes its slot with a count of 2.
    const raced = beforeAtomic(
      'load',
      map.buffer,
      (array, index) => array.length === 16 * 8 && index === home * 8 + 1 && ++ctlLoads === 2,
      () => {
        b.decrement(key);
        b.increment(other);
        b.increment(other);
      },
    );
    expect(map.get(key)).to.equal(0);
    expect(raced()).to.equal(true);
    expect(slotOf(map, other)).to.deep.equal([home]);
    expect(map.get(other)).to.equal(2);
  });
});
