/**
 * THE HOT PATH: stream entries → ticks grouped by symbol → one frame per (symbol, format with subscribers) →
 * one publish per frame.
 *
 * Contract: synchronous, no I/O, no await, no logging per tick, and no work per client: uWebSockets.js fans a
 * published frame out natively, so a symbol with 10,000 subscribers costs the same encode as one with 1.
 * Allocation is limited to the ticks and the frames themselves: the per-symbol groups and topic names are reused.
 *
 * Tiers (src/protocol/tiers.ts): one instance per full tier, the real-time one fed by the reader and the delayed one
 * fed by delayed-feed.ts, each publishing on its tier's topics with its own history and frontier. Each hands every
 * published symbol's newest tick to its rate tiers (rate-tiers.ts): one call per symbol per read, on a reference
 * kept with the symbol.
 */
import { FormatName } from '../wire/formats';
import { compareStreamIds, Tick, TickBatch } from '../wire/tick';
import { Metrics } from '../metrics/metrics';
import { Logger, onceEvery } from '../log';
import { MalformedKind, parseEntry } from './parse-entry';
import { SymbolHistory } from './history';
import type { StreamLoss } from '../protocol/gap';
import { Tier, tierFor, tierTopic } from '../protocol/tiers';
import { FrameCounts } from './frame-counts';

/** Symbols not yet published whose catch-up position is remembered (see heldByClient). */
const MAX_HELD_AHEAD = 65_536;


/** One raw entry as Redis returns it: `[id, [field, value, ...] | null]`. */
export type RawEntry = [string, string[] | null];

export type FrameEncoder = (format: FormatName, batch: TickBatch, sent: number) => string | Uint8Array;

export interface FramePublisher {
  publish(topic: string, frame: string | Uint8Array, isBinary: boolean): void;
  /** Called once per read after its last publish; resolves when the frames have reached every client socket. */
  flush(): Promise<void> | undefined;
  /** Tells every client that entries were lost before ingest (see src/protocol/gap.ts). Rare: not the hot path. */
  announceLoss(loss: StreamLoss): void;
}

/**
 * Where a fan-out hands each symbol's newest tick after publishing it (the rate tiers' conflater, rate-tiers.ts):
 * `track` once per symbol, when the fan-out first sees it, then `touch` once per published batch, never per tick.
 */
export interface LatestTickSink<Slot> {
  /** `prev`: what a client that caught up before the symbol's first publish holds at most ('' when none did). */
  track(sym: string, prev: string): Slot;
  touch(slot: Slot, latest: Tick): void;
}

export interface FanoutTier {
  /**
   * The delayed tier's instance: publishes on the delayed full tier's topics, and leaves the metrics of entries as
   * such (malformed, stale, wrong stream, producer-to-publish latency) and their logs to the real-time instance,
   * which sees the same entries first.
   */
  delayed: boolean;
  /** Fed each symbol's newest tick after every publish (the rate tiers of the same source). */
  rates?: LatestTickSink<unknown>;
  /** Handed every tick this instance takes for publishing, in stream order (the delayed tier's buffer). */
  tap?: TickTap;
}

/**
 * Where the real-time fan-out hands each tick it takes (parsed, in order, not stale, of its symbol's stream): the
 * delayed tier buffers these instead of the raw entries, so no entry is parsed twice.
 */
export interface TickTap {
  take(stream: string, sym: string, tick: Tick): void;
}

/** What the hot path needs of the registry: one lock-free lookup per (symbol, format). */
export interface SubscriberCounts {
  subscriberCount(topic: string): number;
  /** Grows whenever a subscription is added anywhere: equal twice, no topic gained a subscriber in between. */
  additions(): number;
}

interface SymbolState {
  batch: TickBatch;
  /**
   * The stream the symbol was first seen in: ids of two streams are unrelated, so a symbol's order holds only
   * within one. Its entries in any other stream are refused.
   */
  stream: string;
  /** Whether the refusal of this symbol in another stream has been logged (once per symbol). */
  refusalLogged: boolean;
  /** topics[i] is the topic of formats[i] for this symbol. */
  topics: string[];
  /** Newest id published for the symbol; entries at or below it are never published again. */
  lastId: string;
  /** Recent ticks, for snapshots and resumes. */
  history: SymbolHistory;
  /** The symbol's handle in the rate tiers' conflater, if any: kept here so feeding it costs no lookup. */
  rate: unknown;
}

/** What snapshots and resumes read of the published stream. */
export interface PublishedHistory {
  /** The newest frontier over every stream: a snapshot's position. '' until the reader has set up its groups. */
  readonly position: string;
  /**
   * The processing frontier of `stream`: every entry at or before it has been published (or skipped), every later
   * one will be published as it is read. '' until the reader has set up that stream's group.
   */
  frontier(stream: string): string;
  history(sym: string): SymbolHistory | undefined;
  /**
   * A catch-up left a client holding `id` as the newest tick of `sym` (its last replayed tick, its `since` when
   * nothing was to replay, its snapshot tick), complete up to the frontier. If this process has published nothing
   * of the symbol yet (it has just started), the symbol's first live frame names the oldest such id as `prev`:
   * every resumed client then reads it as continuous (equal) or an overlap (older than what it holds), where a
   * frame without `prev` would be a gap to each of them.
   */
  heldByClient(sym: string, id: string): void;
}

export class Fanout implements PublishedHistory {
  private readonly symbols = new Map<string, SymbolState>();
  private readonly frontiers = new Map<string, string>();
  /** Per symbol not yet published: the newest tick a catch-up gave a client (see heldByClient). */
  private readonly heldAhead = new Map<string, string>();
  position = '';
  private readonly touched: SymbolState[] = [];
  private readonly logBad = onceEvery(10_000);
  /** Ticks delivered to clients since start, over every format (the reader's pacing reads it). */
  private deliveredTotal = 0;
  /** What the read being published published. */
  private readonly counts: FrameCounts;
  /** The full tier this instance publishes: real-time, or delayed. */
  private readonly tier: Tier;
  private readonly rates: LatestTickSink<unknown> | undefined;
  private readonly tap: TickTap | undefined;
  /** Entries of the read being taken that were stale, or of a symbol read from another stream. */
  private stale = 0;
  private wrongStream = 0;

  constructor(
    private readonly formats: readonly FormatName[],
    private readonly encode: FrameEncoder,
    /** Bytes of a frame before compression (for the compression-ratio metric). */
    uncompressedBytes: (frame: string | Uint8Array) => number,
    private readonly registry: SubscriberCounts,
    private readonly publisher: FramePublisher,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly historyPerSymbol: number,
    private readonly tierOpts: FanoutTier = { delayed: false },
  ) {
    this.tier = tierFor(undefined, tierOpts.delayed);
    this.rates = tierOpts.rates;
    this.tap = tierOpts.tap;
    this.counts = new FrameCounts(formats, this.tier, metrics, uncompressedBytes);
    // At 0 from the start: an error that should never happen is then an increase() an alert can see.
    for (const format of formats) metrics.encodeErrors.inc({ format }, 0);
  }

  /**
   * Publishes one read's entries. Whatever the reader is handed (re-deliveries from pending recovery or XAUTOCLAIM,
   * a group recreated behind what was published, a stream key recreated), an entry at or below the newest id
   * published or batched for its symbol is skipped, so a client never sees a price go backwards. Returns the
   * publisher's flush: the entries may be acked once it settles.
   */
  publishEntries(stream: string, entries: readonly RawEntry[]): Promise<void> | undefined {
    for (let i = 0; i < entries.length; i++) {
      const [id, fields] = entries[i];
      const parsed = parseEntry(id, fields);
      if (typeof parsed === 'string') this.malformed(parsed, id);
      else this.take(stream, parsed.sym, parsed.tick);
    }
    return this.publishTaken(stream, entries.length > 0 ? entries[entries.length - 1][0] : undefined);
  }

  /** publishEntries for ticks parsed already: `syms[i]` and `ticks[i]` for i in [from, to), in stream order. */
  publishTicks(stream: string, syms: readonly string[], ticks: readonly Tick[], from: number, to: number): Promise<void> | undefined {
    for (let i = from; i < to; i++) this.take(stream, syms[i], ticks[i]);
    return this.publishTaken(stream, to > from ? ticks[to - 1].id : undefined);
  }

  /** Batches `tick` for publishing, unless its symbol belongs to another stream or it is at or below what was published. */
  private take(stream: string, sym: string, tick: Tick): void {
    const state = this.stateOf(sym, stream);
    if (state.stream !== stream) {
      this.wrongStream++;
      if (!state.refusalLogged && !this.tierOpts.delayed) this.logRefusal(state, stream, tick.id);
      return;
    }
    const ticks = state.batch.ticks;
    if (compareStreamIds(tick.id, ticks.length > 0 ? ticks[ticks.length - 1].id : state.lastId) <= 0) {
      this.stale++;
      return;
    }
    if (ticks.length === 0) this.touched.push(state);
    ticks.push(tick);
    if (this.tap !== undefined) this.tap.take(stream, sym, tick);
  }

  /** Publishes what take() batched; `last` is the last id handed in (the stream's frontier moves there). */
  private publishTaken(stream: string, last: string | undefined): Promise<void> | undefined {
    if (!this.tierOpts.delayed) {
      if (this.stale > 0) this.metrics.staleEntries.inc(this.stale);
      if (this.wrongStream > 0) this.metrics.malformedEntries.inc({ kind: 'wrong_stream' }, this.wrongStream);
    }
    this.stale = 0;
    this.wrongStream = 0;
    const sent = Date.now();
    let oldestPublished = Infinity;
    for (let i = 0; i < this.touched.length; i++) {
      const state = this.touched[i];
      const ticks = state.batch.ticks;
      state.batch.prev = state.lastId;
      state.lastId = ticks[ticks.length - 1].id;
      for (let t = 0; t < ticks.length; t++) state.history.push(ticks[t]);
      for (let f = 0; f < this.formats.length; f++) {
        const topic = state.topics[f];
        const subscribers = this.registry.subscriberCount(topic);
        if (subscribers === 0) continue;
        let frame: string | Uint8Array;
        try {
          frame = this.encode(this.formats[f], state.batch, sent);
        } catch (err) {
          this.encodeFailed(this.formats[f], state.batch.sym, err);
          continue;
        }
        this.publisher.publish(topic, frame, typeof frame !== 'string');
        this.counts.add(f, frame, ticks.length, subscribers);
        if (ticks[0].ts < oldestPublished) oldestPublished = ticks[0].ts;
      }
      if (this.rates !== undefined) this.rates.touch(state.rate, ticks[ticks.length - 1]);
      // A new array, not length = 0: encoders and the publisher may keep references to the ticks they were given.
      state.batch.ticks = [];
    }
    if (last !== undefined) this.advance(stream, last);
    this.touched.length = 0;
    this.flushCounts(sent, oldestPublished);
    return this.publisher.flush();
  }

  /**
   * Moves the read's counts into the metrics, once per read (frame-counts.ts). The latency histogram gets the read's
   * worst case: the oldest tick published; it measures the real-time instance only (the delayed one adds --delay-s).
   */
  private flushCounts(sent: number, oldestPublished: number): void {
    this.deliveredTotal += this.counts.flush();
    if (oldestPublished !== Infinity && !this.tierOpts.delayed) this.metrics.producerToPublish.observe(Math.max(0, sent - oldestPublished) / 1000);
  }

  /**
   * Entries of `stream` were removed before they were read: every client is told, and the recent history of the
   * stream's symbols is forgotten, so no resume is served across the hole as if it were whole. Rare: walks every
   * symbol.
   */
  announceLoss(loss: StreamLoss): void {
    for (const state of this.symbols.values()) if (state.stream === loss.stream) state.history.clear();
    this.publisher.announceLoss(loss);
  }

  /** Ticks delivered to clients since start. */
  deliveries(): number {
    return this.deliveredTotal;
  }

  history(sym: string): SymbolHistory | undefined {
    return this.symbols.get(sym)?.history;
  }

  heldByClient(sym: string, id: string): void {
    if (this.symbols.has(sym)) return;
    const held = this.heldAhead.get(sym);
    if (held !== undefined && compareStreamIds(held, id) <= 0) return;
    // Clients name the symbols: a bound keeps made-up ones from growing this without end (the oldest goes first).
    if (held === undefined && this.heldAhead.size >= MAX_HELD_AHEAD) this.heldAhead.delete(this.heldAhead.keys().next().value!);
    this.heldAhead.set(sym, id);
  }

  frontier(stream: string): string {
    return this.frontiers.get(stream) ?? '';
  }

  /** The reader's group delivers only entries of `stream` after `id` (its last-delivered id): the frontier starts there. */
  startsAfter(stream: string, id: string): void {
    this.advance(stream, id);
  }

  /** Frontiers only move forward: entries of one read are in stream order, re-deliveries are older. */
  private advance(stream: string, id: string): void {
    const current = this.frontiers.get(stream);
    if (current === undefined || compareStreamIds(id, current) > 0) this.frontiers.set(stream, id);
    if (this.position === '' || compareStreamIds(id, this.position) > 0) this.position = id;
  }

  private stateOf(sym: string, stream: string): SymbolState {
    let state = this.symbols.get(sym);
    if (state === undefined) {
      // Every tick up to what a catch-up gave a client was published before this process started.
      const lastId = this.heldAhead.get(sym) ?? '';
      state = { batch: { sym, ticks: [] }, stream, refusalLogged: false, topics: this.formats.map((f) => tierTopic(f, sym, this.tier)),
        lastId, history: new SymbolHistory(this.historyPerSymbol), rate: this.rates?.track(sym, lastId) };
      this.symbols.set(sym, state);
      this.heldAhead.delete(sym);
    }
    return state;
  }

  /**
   * No stream entry can cause this (ingest validates every field the encoders read, and every valid stream id is
   * carried): it guards against an encoder bug. That format's subscribers would miss the batch, so it is counted
   * and logged, never silent.
   */
  private encodeFailed(format: FormatName, sym: string, err: unknown): void {
    this.metrics.encodeErrors.inc({ format });
    const message = err instanceof Error ? err.message : String(err);
    this.logBad(`encode:${format}`, (suppressed) => this.log.error({ format, sym, err: message, suppressed }, 'cannot encode batch'));
  }

  private logRefusal(state: SymbolState, stream: string, id: string): void {
    state.refusalLogged = true;
    this.log.warn({ sym: state.batch.sym, stream, id, owner: state.stream },
      'refusing a symbol\'s entries in a second stream: a symbol is read from the stream it was first seen in, so its ticks stay in order');
  }

  private malformed(kind: MalformedKind, id: string): void {
    if (this.tierOpts.delayed) return;
    this.metrics.malformedEntries.inc({ kind });
    this.logBad(kind, (suppressed) => this.log.warn({ kind, id, suppressed }, 'skipping malformed stream entry'));
  }
}
