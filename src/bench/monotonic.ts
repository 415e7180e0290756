/**
 * Microseconds on CLOCK_MONOTONIC, which every process on the machine shares: the producer stamps ticks with it
 * and the load generator reads it on receipt, so latency needs no wall clock and survives clock steps.
 */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
