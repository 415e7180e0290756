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

type CompareExchange = (array: Int32Array, index: number, expected: number, replacement: number) => number;

/**
 * Lets a spec act as a second thread at the one point where that matters most: between a thread's load of a shared
 * word and its compareExchange on it. The first compareExchange on `buffer` that `when` accepts runs `act` (through
 * the public API of another handle on the same buffer) just before it. Returns whether that happened; call it after
 * the operation, it also restores Atomics.
 */
export function beforeCompareExchange(
  buffer: SharedArrayBuffer,
  when: (array: Int32Array, index: number, expected: number, replacement: number) => boolean,
  act: () => void,
): () => boolean {
  const atomics = Atomics as unknown as { compareExchange: CompareExchange };
  const original = atomics.compareExchange;
  let fired = false;
  atomics.compareExchange = (array, index, expected, replacement) => {
    if (!fired && array.buffer === buffer && when(array, index, expected, replacement)) {
      fired = true;
      atomics.compareExchange = original;
      act();
    }
    return original(array, index, expected, replacement);
  };
  return () => {
    atomics.compareExchange = original;
    return fired;
  };
}
