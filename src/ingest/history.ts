/**
 * The last N ticks of one symbol, as published: what snapshots and resumes are served from without asking Redis.
 * A fixed ring, so memory is bounded by symbols × N whatever the rate.
 */
import { compareStreamIds, Tick } from '../wire/tick';

export class SymbolHistory {
  private ring: Tick[] = [];
  private next = 0;
  /** Whether a published tick was ever let go (evicted or cleared): then only covers() proves completeness. */
  private dropped = false;
  /** The newest tick published, kept across clear(): still the symbol's latest as far as clients can know. */
  private newest: Tick | undefined;

  constructor(private readonly capacity: number) {}

  push(t: Tick): void {
    if (this.ring.length < this.capacity) this.ring.push(t);
    else {
      this.ring[this.next] = t;
      this.dropped = true;
    }
    this.next = (this.next + 1) % this.capacity;
    this.newest = t;
  }

  /**
   * Forgets the held range, after a loss before ingest: a replay from memory must never span the loss. The latest
   * tick stays the snapshot answer (what was lost was never published).
   */
  clear(): void {
    this.ring = [];
    this.next = 0;
    this.dropped = true;
  }

  latest(): Tick | undefined {
    return this.newest;
  }

  private oldest(): Tick | undefined {
    return this.ring.length < this.capacity ? this.ring[0] : this.ring[this.next];
  }

  /**
   * Whether every tick after `since` is still here. Only provable when the oldest tick held is at or before
   * `since`: anything after it was published (so recorded) after that tick, and nothing since has been evicted.
   */
  covers(since: string): boolean {
    const oldest = this.oldest();
    return oldest !== undefined && compareStreamIds(oldest.id, since) <= 0;
  }

  /**
   * Whether every tick this process published after `id` is here: when covers(id), or when nothing was ever let go.
   * (Ticks at or before the stream's frontier at startup were never published here: the caller reads those.)
   */
  holdsPublishedAfter(id: string): boolean {
    return !this.dropped || this.covers(id);
  }

  /** Ticks with an id after `since`, oldest first. Complete only when covers(since). */
  after(since: string): Tick[] {
    const out: Tick[] = [];
    const n = this.ring.length;
    const start = n < this.capacity ? 0 : this.next;
    for (let i = 0; i < n; i++) {
      const t = this.ring[(start + i) % n];
      if (compareStreamIds(t.id, since) > 0) out.push(t);
    }
    return out;
  }
}
