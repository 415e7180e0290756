/**
 * The delayed tier's source: every entry the live reader reads, released to the delayed fan-out once its stream id's
 * time plus `--delay-s` has passed, in stream order.
 *
 * The real-time fan-out hands it every tick it takes (TickTap: parsed once, in stream order, stale and malformed
 * entries already left out), and it keeps them in a per-stream ring (two pushes per tick, the Tick objects the
 * fan-out's history holds anyway). A timer (every RELEASE_EVERY_MS, unref'd) releases what is due, in batches, yielding to live
 * ingest between them. The ring is bounded (--delay-buffer-entries, split evenly across the streams): what it had
 * to drop, and what it never held (entries before the live reader's start, the group moved ahead of it), is read
 * back from Redis with `XRANGE (cursor end COUNT 512` on the stream's control connection when it comes due. The
 * cursor starts just before now − delay: the delayed tier begins with what was current --delay-s ago.
 *
 * Loss: a live loss announcement is queued as a marker and announced with `delayed: true` once the delayed data
 * reaches the hole (everything due up to its `after` released). A read-back that finds the stream trimmed past a
 * cursor the tier really published up to is announced as a delayed `trimmed` gap (conservatively: when the cursor's
 * own entry was the last one trimmed, nothing was lost, but that cannot be told apart).
 *
 * Limits: the stream must retain --delay-s of entries (XADD MAXLEN) or the ring must hold them, else the delayed
 * tier has gaps, announced as above; a trim of entries before the cursor was ever real (at startup) is not
 * announced. Entries of a recreated key with ids below those already buffered are skipped, as the live fan-out
 * skips them. Release granularity is the timer: an entry comes at most RELEASE_EVERY_MS after it is due (plus a
 * Redis read when the ring does not hold it).
 */
import { Logger, onceEvery } from '../log';
import { Metrics } from '../metrics/metrics';
import type { StreamLoss } from '../protocol/gap';
import { timedCommand } from '../redis/connection';
import type { ControlFor } from '../redis/endpoints';
import { compareStreamIds, Tick } from '../wire/tick';
import { removals } from './catchup/stream-info';
import type { Fanout, RawEntry, TickTap } from './fanout';
import type { EntrySink } from './reader';

/** Entries per XRANGE read-back page. */
const READ_PAGE = 512;
/** Entries per publish from the ring: one slice of main-thread work between turns of the event loop. */
const RELEASE_BATCH = 1024;
/** The largest sequence of a stream id: `<ms>-MAX_SEQ` is the last id of that millisecond. */
const MAX_SEQ = '18446744073709551615';

export type DelayedTarget = Pick<Fanout, 'publishEntries' | 'publishTicks' | 'startsAfter' | 'announceLoss'>;

export interface DelayedFeedOptions {
  streams: string[];
  delayMs: number;
  /** Entries held in memory over all streams. */
  bufferEntries: number;
  commandTimeoutMs: number;
  /** How often due entries are released, in ms. */
  releaseEveryMs?: number;
}

const RELEASE_EVERY_MS = 100;

interface StreamState {
  readonly stream: string;
  /** ticks[head..] (of syms[head..]): taken and not yet released, in stream order. */
  syms: string[];
  ticks: Tick[];
  head: number;
  /** The ring holds every entry of the stream in (coveredFrom, lastAppended]; undefined before the reader's first setup. */
  coveredFrom: string | undefined;
  lastAppended: string;
  /** Everything of the stream up to here that exists has been released (or precedes the start). */
  cursor: string;
  /** Whether the cursor comes from releasing, not from the start: only then is a trim past it a delayed gap. */
  cursorReal: boolean;
  /** Trims past the cursor are announced up to here ('' none): the same hole is announced once. */
  trimAnnounced: string;
  /** The cursor at the last trim check: a cursor that has not moved needs none. */
  trimChecked: string;
  /** Live loss announcements waiting for the delayed data to reach them, oldest first. */
  markers: StreamLoss[];
  busy: boolean;
}

export class DelayedFeed implements TickTap {
  private readonly streams = new Map<string, StreamState>();
  private readonly capacity: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly logError = onceEvery(10_000);

  constructor(
    private readonly target: DelayedTarget,
    private readonly redis: ControlFor,
    private readonly opts: DelayedFeedOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.capacity = Math.floor(opts.bufferEntries / opts.streams.length);
    for (const stream of opts.streams) {
      this.streams.set(stream, { stream, syms: [], ticks: [], head: 0, coveredFrom: undefined, lastAppended: '', cursor: '', cursorReal: false, trimAnnounced: '', trimChecked: '', markers: [], busy: false });
    }
  }

  /** Sets each stream's cursor just before now − delay (the delayed fan-out's frontier) and starts releasing. */
  start(): void {
    const start = `${Date.now() - this.opts.delayMs - 1}-${MAX_SEQ}`;
    for (const s of this.streams.values()) {
      s.cursor = start;
      this.target.startsAfter(s.stream, start);
    }
    this.timer = setInterval(() => this.release(), this.opts.releaseEveryMs ?? RELEASE_EVERY_MS);
    this.timer.unref();
  }

  /** Nothing is released after this; a read-back under way stops at its next page. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** One tick the real-time fan-out took (on the hot path: one comparison and two pushes). */
  take(stream: string, sym: string, tick: Tick): void {
    const s = this.streams.get(stream);
    if (s === undefined) return;
    if (s.coveredFrom === undefined) {
      // Before the reader's setup (never, by its contract): what came before is read back.
      s.coveredFrom = tick.id;
      s.lastAppended = tick.id;
      return;
    }
    // Re-deliveries (pending recovery, XAUTOCLAIM) of other symbols may be older than what the ring holds.
    if (compareStreamIds(tick.id, s.lastAppended) <= 0) return;
    s.syms.push(sym);
    s.ticks.push(tick);
    s.lastAppended = tick.id;
    if (s.ticks.length - s.head > this.capacity) {
      s.coveredFrom = s.ticks[s.head].id;
      s.head++;
      this.compact(s);
    }
  }

  /** The live group of `stream` delivers only entries after `id`: past what the ring holds, the rest is read back. */
  startsAfter(stream: string, id: string): void {
    const s = this.streams.get(stream);
    if (s === undefined) return;
    if (s.coveredFrom !== undefined && compareStreamIds(id, s.lastAppended) <= 0) return;
    s.syms = [];
    s.ticks = [];
    s.head = 0;
    s.coveredFrom = id;
    s.lastAppended = id;
  }

  /** A live loss: announced to the delayed tier when its data reaches the hole. */
  announceLoss(loss: StreamLoss): void {
    this.streams.get(loss.stream)?.markers.push(loss);
  }

  /** Entries held in memory over every stream. */
  buffered(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.ticks.length - s.head;
    return n;
  }

  private release(): void {
    const due = `${Date.now() - this.opts.delayMs}-${MAX_SEQ}`;
    for (const s of this.streams.values()) {
      if (s.busy) continue;
      s.busy = true;
      this.releaseStream(s, due)
        .catch((err: Error) => this.logError(s.stream, (suppressed) =>
          this.log.warn({ stream: s.stream, err: err.message, suppressed }, 'delayed tier: cannot read entries back from redis; retrying')))
        .finally(() => (s.busy = false));
    }
    this.metrics.delayBuffered.set(this.buffered());
  }

  /** Releases everything due, announcing each queued loss when the data reaches it. */
  private async releaseStream(s: StreamState, due: string): Promise<void> {
    for (;;) {
      const marker = s.markers[0];
      const atMarker = marker !== undefined && compareStreamIds(marker.after, due) <= 0;
      if (!(await this.releaseUpTo(s, atMarker ? marker.after : due)) || !atMarker) return;
      s.markers.shift();
      // A hole wholly before the cursor (a loss found at startup, behind now − delay) concerns no delayed client.
      if (compareStreamIds(marker.through, s.cursor) <= 0) continue;
      this.advance(s, marker.after);
      this.target.announceLoss({ ...marker, delayed: true });
    }
  }

  /** Releases (cursor, limit]: from the ring where it holds what follows the cursor, else read back. False once stopped. */
  private async releaseUpTo(s: StreamState, limit: string): Promise<boolean> {
    for (;;) {
      if (this.stopped) return false;
      if (s.coveredFrom !== undefined && compareStreamIds(s.coveredFrom, s.cursor) <= 0) {
        while (s.head < s.ticks.length && compareStreamIds(s.ticks[s.head].id, s.cursor) <= 0) s.head++;
        let end = s.head;
        while (end < s.ticks.length && end - s.head < RELEASE_BATCH && compareStreamIds(s.ticks[end].id, limit) <= 0) end++;
        if (end === s.head) return true;
        const from = s.head;
        s.head = end;
        this.released(s, s.ticks[end - 1].id);
        // Not awaited: nothing is acked on the delayed tier's publish, and the next batch is a timer turn away.
        void this.target.publishTicks(s.stream, s.syms, s.ticks, from, end);
        this.compact(s);
      } else {
        const end = s.coveredFrom !== undefined && compareStreamIds(s.coveredFrom, limit) < 0 ? s.coveredFrom : limit;
        if (!(await this.readBack(s, end))) return false;
        if (end === limit) return true;
        this.advance(s, end);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Reads (cursor, end] from Redis and releases it, page by page. False once stopped. */
  private async readBack(s: StreamState, end: string): Promise<boolean> {
    const redis = this.redis(s.stream);
    if (s.cursorReal && s.trimChecked !== s.cursor) {
      s.trimChecked = s.cursor;
      const { trimmedBefore } = await removals(redis, s.stream);
      if (trimmedBefore !== undefined && compareStreamIds(s.cursor, trimmedBefore) < 0 && compareStreamIds(s.trimAnnounced, trimmedBefore) < 0) {
        const after = compareStreamIds(s.trimAnnounced, s.cursor) > 0 ? s.trimAnnounced : s.cursor;
        s.trimAnnounced = trimmedBefore;
        const loss: StreamLoss = { stream: s.stream, after, through: trimmedBefore, reason: 'trimmed', delayed: true };
        this.log.warn(loss, 'delayed tier: the stream was trimmed past what it had released (keep --delay-s of entries in the stream)');
        this.target.announceLoss(loss);
      }
    }
    for (;;) {
      if (this.stopped) return false;
      const page = await timedCommand<RawEntry[]>(redis, ['XRANGE', s.stream, `(${s.cursor}`, end, 'COUNT', String(READ_PAGE)],
        this.opts.commandTimeoutMs, this.log);
      this.metrics.delayRangeReads.inc();
      if (this.stopped) return false;
      if (page.length > 0) {
        this.released(s, page[page.length - 1][0]);
        void this.target.publishEntries(s.stream, page);
      }
      if (page.length < READ_PAGE) return true;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Everything up to `id` is being released now. */
  private released(s: StreamState, id: string): void {
    s.cursor = id;
    s.cursorReal = true;
  }

  /** Everything that exists up to `id` has been released: the cursor (and the delayed frontier) moves there. */
  private advance(s: StreamState, id: string): void {
    if (compareStreamIds(id, s.cursor) <= 0) return;
    s.cursor = id;
    s.cursorReal = true;
    this.target.startsAfter(s.stream, id);
  }

  /** Drops released slots once they are most of the array (amortised O(1) per entry). */
  private compact(s: StreamState): void {
    if (s.head > 4096 && s.head * 2 > s.ticks.length) {
      s.syms = s.syms.slice(s.head);
      s.ticks = s.ticks.slice(s.head);
      s.head = 0;
    }
  }
}

/**
 * The reader's entry sink with the delayed tier tapped in: the real-time fan-out publishes (and hands the feed its
 * ticks, as its TickTap) and its frontier is the one the reader sees; where the reader's group starts and what it
 * found lost go to both.
 */
export function tapDelayed(live: EntrySink, feed: DelayedFeed): EntrySink {
  return {
    publishEntries: (stream, entries) => live.publishEntries(stream, entries),
    startsAfter(stream, id) {
      live.startsAfter(stream, id);
      feed.startsAfter(stream, id);
    },
    frontier: (stream) => live.frontier(stream),
    announceLoss(loss) {
      live.announceLoss(loss);
      feed.announceLoss(loss);
    },
  };
}
