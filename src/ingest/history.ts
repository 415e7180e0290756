/**
 * The last N ticks of one symbol, as published: what snapshots and resumes are served from without asking Redis.
 * A fixed ring, so memory is bounded by symbols × N whatever the rate.
 */
import { compareStreamIds, Tick } from '../wire/tick';

export class SymbolHistory {
  private readonly ring: Tick[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(t: Tick): void {
    if (this.ring.length < this.capacity) this.ring.push(t);
    else this.ring[this.next] = t;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Forgets every tick: after a loss before ingest, a resume must not be served across the hole as if whole. */
  clear(): void {
    this.ring.length = 0;
    this.next = 0;
  }

  latest(): Tick | undefined {
    return this.ring.length === 0 ? undefined : this.ring[(this.next - 1 + this.ring.length) % this.ring.length];
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
