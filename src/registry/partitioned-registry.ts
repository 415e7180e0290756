/**
 * The process-wide view over one SharedRegistry per worker thread.
 *
 * Each worker writes only its own partition; the main thread (the fan-out's subscriberCount, metrics) reads them
 * all. Partitioning by worker is what makes a worker's death recoverable: its partition is replaced by an empty
 * one in O(1), which drops every session and subscription it held, and a slot a dying thread left half-written
 * can never stall the writers of other partitions. The map itself is safe for any number of concurrent writers
 * (see shared-map.ts and its stress tests).
 */
import { setImmediate } from 'node:timers/promises';
import { RegistryStats } from './registry';
import { SharedRegistry, SharedRegistryOptions } from './shared-registry';

export interface ProcessRegistryStats extends RegistryStats {
  /** sessionsByWorker[i]: connections held by worker thread i. */
  sessionsByWorker: number[];
  /** Symbols with a subscriber in any format. */
  activeSymbols: number;
  /**
   * Slots a lookup of a topic nobody subscribes to visits in one partition's table, the mean over home buckets and
   * partitions: what the hot path pays per (symbol, format) and partition. Exactly 1 in fresh tables.
   */
  topicProbeSlots: number;
}

/** Topic slots read per event-loop turn by stats(): well under a millisecond even before the loop is optimised. */
const STATS_SLICE_SLOTS = 4096;

export class PartitionedRegistry {
  private readonly partitions: SharedRegistry[];
  /** Partitions replaced so far: a fresh partition's additions start again at 0. */
  private resets = 0;

  constructor(count: number, private readonly options: SharedRegistryOptions) {
    this.partitions = Array.from({ length: count }, () => SharedRegistry.create(options));
  }

  partition(workerId: number): SharedRegistry {
    return this.partitions[workerId];
  }

  /** Forgets everything worker `workerId` held; returns the fresh partition for its replacement. */
  reset(workerId: number): SharedRegistry {
    this.resets++;
    this.partitions[workerId] = SharedRegistry.create(this.options);
    return this.partitions[workerId];
  }

  /** Hot path: a few lock-free lookups, no allocation. */
  subscriberCount(topic: string): number {
    let n = 0;
    for (let i = 0; i < this.partitions.length; i++) n += this.partitions[i].subscriberCount(topic);
    return n;
  }

  /**
   * A number that grows whenever a subscription is added in any partition or a partition is replaced (one atomic load
   * per partition): equal twice, no topic gained a subscriber in between. Exact as a double up to 2^53.
   */
  additions(): number {
    let n = this.resets * 2 ** 40;
    for (let i = 0; i < this.partitions.length; i++) n += this.partitions[i].additions() >>> 0;
    return n;
  }

  /** Subscriptions held by every client of the process: one atomic load per partition. */
  subscriptions(): number {
    let n = 0;
    for (let i = 0; i < this.partitions.length; i++) n += this.partitions[i].subscriptionCount();
    return n;
  }

  /**
   * For metrics, not the hot path. Active topics are the union over partitions, so every partition's topic table is
   * read, and a table has as many slots as --topic-capacity allows, live or not. The read is sliced, yielding to the
   * event loop between slices, so a scrape's share of the main thread stays small at any capacity, whereas one pass
   * took several milliseconds at the default capacity before the code was warm.
   */
  async stats(): Promise<ProcessRegistryStats> {
    const topics = new Set<string>();
    const sessionsByWorker: number[] = [];
    let sessions = 0;
    let subscriptions = 0;
    let probes = 0;
    let homes = 0;
    // A copy: a worker restarted during the read replaces its entry, and the old partition is read to its end.
    for (const p of [...this.partitions]) {
      const s = p.stats();
      sessionsByWorker.push(s.sessions);
      homes += p.topics.slots;
      sessions += s.sessions;
      subscriptions += s.subscriptions;
      for (let from = 0; from < p.topics.slots; from += STATS_SLICE_SLOTS) {
        for (const e of p.topics.entries(from, from + STATS_SLICE_SLOTS)) if (e.count > 0) topics.add(e.key);
        probes += p.topics.probeStats(from, from + STATS_SLICE_SLOTS).missProbes;
        await setImmediate();
      }
    }
    // A topic is `<format>/<symbol>`; the format never contains '/'.
    const symbols = new Set<string>();
    for (const t of topics) symbols.add(t.slice(t.indexOf('/') + 1));
    return {
      sessions,
      subscriptions,
      activeTopics: topics.size,
      activeSymbols: symbols.size,
      sessionsByWorker,
      topicProbeSlots: homes === 0 ? 0 : probes / homes,
    };
  }
}
