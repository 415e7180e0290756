/**
 * Building blocks for registry specs that need control over where keys land, or over when another thread acts.
 */
import { KeyCodec, SharedCounterMap } from '../../src/registry/shared-map';

/** The home bucket of `key` in a table of `slots` slots (a power of two). */
export function homeOf(slots: number, key: string, maxKeyBytes = 64): number {
  const codec = new KeyCodec(maxKeyBytes);
  return codec.hash(codec.encode(key)) & (slots - 1);
}

/** `count` keys of the form make(i), in increasing i, whose home bucket in a table of `slots` slots is `home`. */
export function keysWithHome(slots: number, home: number, count: number, make: (i: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (homeOf(slots, make(i)) === home) out.push(make(i));
  return out;
}

/** `count` keys of the form make(i) whose home bucket in a table of `slots` slots is the same as make(0)'s. */
export function sameHomeKeys(slots: number, count: number, make: (i: number) => string): string[] {
  return keysWithHome(slots, homeOf(slots, make(0)), count, make);
}

/** The slots holding `key` (READY, any count). */
export function slotOf(map: SharedCounterMap, key: string): number[] {
  return map
    .entries()
    .filter((e) => e.key === key)
    .map((e) => e.slot);
}

type AtomicOp = (array: Int32Array, index: number, ...values: number[]) => number;

/**
 * Lets a spec act as a second thread between two Atomics operations of another: the first `op` (load or
 * compareExchange) on `buffer` that `when` accepts (given the array, the index and, for compareExchange, the expected
 * and replacement values) runs `act` (through the public API of another handle on the same buffer) just before it.
 * Returns a function that tells whether that happened; call it after the operation, it also restores Atomics.
 */
export function beforeAtomic(
  op: 'load' | 'compareExchange',
  buffer: SharedArrayBuffer,
  when: (array: Int32Array, index: number, ...values: number[]) => boolean,
  act: () => void,
): () => boolean {
  const atomics = Atomics as unknown as Record<typeof op, AtomicOp>;
  const original = atomics[op];
  let fired = false;
  atomics[op] = (array, index, ...values) => {
    if (!fired && array.buffer === buffer && when(array, index, ...values)) {
      fired = true;
      atomics[op] = original;
      act();
    }
    return original(array, index, ...values);
  };
  return () => {
    atomics[op] = original;
    return fired;
  };
}

/** beforeAtomic('compareExchange', …): the point between a thread's load of a word and its CAS on it. */
export function beforeCompareExchange(
  buffer: SharedArrayBuffer,
  when: (array: Int32Array, index: number, expected: number, replacement: number) => boolean,
  act: () => void,
): () => boolean {
  return beforeAtomic('compareExchange', buffer, (array, index, expected, replacement) => when(array, index, expected, replacement), act);
}
