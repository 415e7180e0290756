/**
 * The process-wide view over one SharedRegistry per worker thread.
 *
 * Each worker writes only its own partition; the main thread (the fan-out's subscriberCount, metrics) reads them
 * all. Partitioning by worker is what makes a worker's death recoverable: its partition is replaced by an empty
 * one in O(1), which drops every session and subscription it held, and a slot a dying thread left half-written
 * can never stall the writers of other partitions. The map itself is safe for any number of concurrent writers
 * (see shared-map.ts and its stress tests).
 */
import { RegistryStats } from './registry';
import { SharedRegistry, SharedRegistryOptions } from './shared-registry';

export interface ProcessRegistryStats extends RegistryStats {
  /** sessionsByWorker[i]: connections held by worker thread i. */
  sessionsByWorker: number[];
  /** Symbols with a subscriber in any format. */
  activeSymbols: number;
}

export class PartitionedRegistry {
  private readonly partitions: SharedRegistry[];

  constructor(count: number, private readonly options: SharedRegistryOptions) {
    this.partitions = Array.from({ length: count }, () => SharedRegistry.create(options));
  }

  partition(workerId: number): SharedRegistry {
    return this.partitions[workerId];
  }

  /** Forgets everything worker `workerId` held; returns the fresh partition for its replacement. */
  reset(workerId: number): SharedRegistry {
    this.partitions[workerId] = SharedRegistry.create(this.options);
    return this.partitions[workerId];
  }

  /** Hot path: a few lock-free lookups, no allocation. */
  subscriberCount(topic: string): number {
    let n = 0;
    for (let i = 0; i < this.partitions.length; i++) n += this.partitions[i].subscriberCount(topic);
    return n;
  }

  /** For metrics, not the hot path: active topics are the union over partitions, so their keys are read. */
  stats(): ProcessRegistryStats {
    const topics = new Set<string>();
    const sessionsByWorker: number[] = [];
    let sessions = 0;
    let subscriptions = 0;
    for (const p of this.partitions) {
      const s = p.stats();
      sessionsByWorker.push(s.sessions);
      sessions += s.sessions;
      subscriptions += s.subscriptions;
      for (const e of p.topics.entries()) if (e.count > 0) topics.add(e.key);
    }
    // A topic is `<format>/<symbol>`; the format never contains '/'.
    const symbols = new Set([...topics].map((t) => t.slice(t.indexOf('/') + 1)));
    return { sessions, subscriptions, activeTopics: topics.size, activeSymbols: symbols.size, sessionsByWorker };
  }
}
