/**
 * Every stream reader of the gateway, as one: one reader per endpoint (a single Redis: one for all streams; a
 * cluster: one per shard stream, each with its own blocking read). Ingest is ready when every reader is: a shard
 * that cannot be read means its symbols' clients would silently get nothing, so /readyz says so.
 */
import { StreamReader } from './reader';

export class StreamReaders {
  private readonly readers: StreamReader[];
  private readonly ready: boolean[];
  private wasReady = false;

  /** `create(i, onReady)` builds reader i, which reports its readiness through `onReady`. */
  constructor(count: number, create: (i: number, onReady: (ready: boolean) => void) => StreamReader,
    private readonly onReady: (ready: boolean) => void) {
    this.ready = new Array<boolean>(count).fill(false);
    this.readers = Array.from({ length: count }, (_, i) => create(i, (ready) => this.report(i, ready)));
  }

  start(): void {
    for (const r of this.readers) r.start();
  }

  /** Stops every reader; what each read is published and acked before this resolves. */
  async stop(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.stop()));
  }

  /** Resolves once every reader has read and published what Redis holds now (see StreamReader.caughtUp). */
  async caughtUp(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.caughtUp()));
  }

  private report(i: number, ready: boolean): void {
    this.ready[i] = ready;
    const all = this.ready.every(Boolean);
    if (all === this.wasReady) return;
    this.wasReady = all;
    this.onReady(all);
  }
}
