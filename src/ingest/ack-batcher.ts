/**
 * Acks of published reads, batched by time and size.
 *
 * One XACK per read cost a Redis round trip per read (about 45 µs of client CPU each here): at 1,000 reads/s a large
 * share of the gateway's CPU. Ids handed in are sent as one `XACK stream group id...` per stream once the oldest of
 * them has waited `intervalMs`, or at once when `maxBatch` ids of a stream are waiting (which also bounds the size
 * of one command). An id is handed in only after its read was published, so a delayed ack never delays a client: it
 * only widens what a crash leaves pending, which the next start re-reads and publishes again: never lost.
 *
 * An XACK that fails keeps its ids; they go out again with the next interval's batch (never sooner: during an
 * outage that is one rejected command per stream per interval, not a loop).
 */

/** The timer the batcher arms; injectable so that a spec can drive time. */
export interface AckTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: AckTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

export interface AckBatcherOptions {
  group: string;
  /** The longest an id waits before its XACK is sent. */
  intervalMs: number;
  /** Ids of one stream that are sent at once, and the most one XACK carries. */
  maxBatch: number;
}

export class AckError extends Error {
  readonly code = 'ACK_FAILED';
  constructor(readonly unacked: number, cause: string) {
    super(`${unacked} published entries could not be acked (kept, acked later): ${cause}`);
    this.name = 'AckError';
  }
}

export class AckBatcher {
  /** Per stream: published ids not sent yet. */
  private readonly queued = new Map<string, string[]>();
  /** Per stream: ids whose XACK failed; they go out with the next interval's batch. */
  private readonly kept = new Map<string, string[]>();
  private readonly inflight = new Set<Promise<void>>();
  private lastError = '';
  private timer: unknown;
  private stopped = false;

  constructor(
    private readonly send: (args: string[]) => Promise<unknown>,
    private readonly opts: AckBatcherOptions,
    private readonly timers: AckTimers = realTimers,
  ) {}

  /** Ids of `stream` whose read was published. */
  add(stream: string, ids: readonly string[]): void {
    let queue = this.queued.get(stream);
    if (queue === undefined) this.queued.set(stream, (queue = []));
    // A loop, not push(...ids): a read may hold up to 100,000 entries, too many arguments for one call.
    for (const id of ids) queue.push(id);
    while (queue.length >= this.opts.maxBatch) this.sendNow(stream, queue.splice(0, this.opts.maxBatch));
    if (queue.length > 0) this.arm();
  }

  /**
   * Sends every waiting id now (kept ones too) and waits for every XACK in flight. Rejects with an AckError when
   * some failed; their ids are kept.
   */
  async flush(): Promise<void> {
    this.sendAll();
    await this.settled();
    const left = count(this.kept);
    if (left > 0) throw new AckError(left, this.lastError);
  }

  /** Sends every waiting id and waits for it; nothing is sent after. Resolves to the number of ids left unacked. */
  async stop(): Promise<number> {
    this.stopped = true;
    this.timers.clear(this.timer);
    this.timer = undefined;
    this.sendAll();
    await this.settled();
    return count(this.kept) + count(this.queued);
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.sendAll();
    }, this.opts.intervalMs);
  }

  private sendAll(): void {
    for (const stream of new Set([...this.kept.keys(), ...this.queued.keys()])) {
      const ids = [...(this.kept.get(stream) ?? []), ...(this.queued.get(stream) ?? [])];
      this.kept.delete(stream);
      this.queued.delete(stream);
      for (let i = 0; i < ids.length; i += this.opts.maxBatch) this.sendNow(stream, ids.slice(i, i + this.opts.maxBatch));
    }
  }

  private sendNow(stream: string, ids: string[]): void {
    const sent: Promise<void> = this.send(['XACK', stream, this.opts.group, ...ids]).then(() => {
      this.inflight.delete(sent);
    }, (err: Error) => {
      this.inflight.delete(sent);
      this.lastError = err.message;
      let kept = this.kept.get(stream);
      if (kept === undefined) this.kept.set(stream, (kept = []));
      for (const id of ids) kept.push(id);
      this.arm();
    });
    this.inflight.add(sent);
  }

  /** Every XACK in flight has settled, those sent while waiting included. */
  private async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }
}

function count(byStream: Map<string, string[]>): number {
  let n = 0;
  for (const ids of byStream.values()) n += ids.length;
  return n;
}
