/**
 * How long the reader waits before its next XREADGROUP. Every read costs the same fixed work whatever it carries (a
 * Redis round trip, its wake-up, the loss check, a pass of the fan-out), and every published frame costs each of its
 * subscribers a socket write; ticks that wait a little share both. So the reader waits only where nobody pays for it:
 *
 * - **No subscriptions at all** (nobody would see the latency): at most one read per `idleMs`. A client that
 *   subscribes during such a wait gets its snapshot at once and its first live tick at most `idleMs` later, once.
 * - **Delivery rate above `coalesceAbove`/s** (the measured rate over the last window): reads start at most every
 *   `coalesceMs`. A frame then carries the window's ticks of its symbol, and uWS writes all the frames a client gets
 *   from one read in one syscall, so CPU per delivery falls as load rises; no tick waits longer than `coalesceMs`
 *   for it. Below the threshold, at light and everyday load, the next read is sent at once.
 *
 * Neither waits after a full read (COUNT entries): the stream holds a backlog, and a wait would cap ingest at COUNT
 * entries per wait (512 per 5 ms is about 100,000 ticks/s) while ticks queue in Redis.
 */

export interface PacerOptions {
  idleMs: number;
  coalesceMs: number;
  /** Deliveries per second above which reads are coalesced; 0: never. */
  coalesceAbove: number;
}

/** The rate is measured over windows this long: long enough to be steady, short enough to follow a burst. */
export const RATE_WINDOW_MS = 250;

/** What the pacer reads of the process: both O(1), no allocation. */
export interface PacerLoad {
  /** Subscriptions held by every client of the process. */
  subscriptions(): number;
  /** Ticks delivered to clients since the process started. */
  delivered(): number;
}

export class ReadPacer {
  private windowStart: number;
  private windowDelivered: number;
  private coalescing = false;
  private lastReadAt = -Infinity;

  constructor(
    private readonly opts: PacerOptions,
    private readonly load: PacerLoad,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.windowStart = this.now();
    this.windowDelivered = load.delivered();
  }

  /**
   * Milliseconds to wait before the next read (0: read now). Called just before each read; `backlog`: the previous
   * read came back full.
   */
  delayBeforeRead(backlog: boolean): number {
    const t = this.now();
    const elapsed = t - this.windowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      const delivered = this.load.delivered();
      const rate = ((delivered - this.windowDelivered) * 1000) / elapsed;
      this.coalescing = this.opts.coalesceAbove > 0 && rate > this.opts.coalesceAbove;
      this.windowStart = t;
      this.windowDelivered = delivered;
    }
    const spacing = backlog ? 0 : this.load.subscriptions() === 0 ? this.opts.idleMs : this.coalescing ? this.opts.coalesceMs : 0;
    const wait = Math.max(0, this.lastReadAt + spacing - t);
    this.lastReadAt = t + wait;
    return wait;
  }
}
