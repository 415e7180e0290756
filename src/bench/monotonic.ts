/**
 * Microseconds on CLOCK_MONOTONIC, which every process on the machine shares: the producer stamps ticks with it
 * and the load generator reads it on receipt, so latency needs no wall clock and survives clock steps.
 */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

const OFFSET_EDGES = 5;

/**
 * Wall-clock µs minus monotonic µs, so that a monotonic receive time can be set against a tick's `ts` (the
 * producer's Date.now()). Date.now() is exact to the µs only at the edge of a millisecond, so this watches a few
 * edges: each lies between the monotonic reads around the last call that saw the old millisecond and the first that
 * saw the new one, and the narrowest such bracket wins (a thread preempted mid-read on a busy machine would
 * otherwise be milliseconds off). Spins for about OFFSET_EDGES ms: call it between steps.
 */
export function wallClockOffsetMicros(): number {
  let best = Infinity;
  let offset = 0;
  let ms = Date.now();
  let before = monotonicMicros();
  for (let edges = 0; edges < OFFSET_EDGES;) {
    const t0 = monotonicMicros();
    const now = Date.now();
    const t1 = monotonicMicros();
    if (now !== ms) {
      if (t1 - before < best) {
        best = t1 - before;
        offset = now * 1000 - (before + t1) / 2;
      }
      ms = now;
      edges++;
    }
    before = t0;
  }
  return Math.round(offset);
}
