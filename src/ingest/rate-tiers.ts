/**
 * The rate tiers of one source (the real-time fan-out, or the delayed one): a conflater that gives each symbol at
 * most r frames per second on the tier `r/s` (src/protocol/tiers.ts).
 *
 * The fan-out hands it each symbol's newest tick once per published batch (touch: O(1), no lookup, no allocation
 * unless the symbol was clean). Per tier, a fixed-phase timer (every 1000/r ms, running only while some symbol is
 * dirty for that tier) emits, for each symbol whose newest tick is newer than what the tier last emitted, one
 * `conflated` frame `{sym, prev: <tier's last emitted id>, ticks: [newest]}`, encoded once per format whose tier
 * topic has subscribers and published on that topic, then flushes the publisher once. So a symbol that goes quiet
 * still gets its last tick within one interval, and the work is per (symbol, tier, format), never per client.
 *
 * `prev` chains each tier's frames whether or not anyone was subscribed: a client that caught up holds an id at or
 * after it (an overlap, never a gap). Before a tier's first frame of a symbol, `prev` is what the fan-out started
 * the symbol from (the oldest id a catch-up gave a client before the symbol was first published, else none).
 */
import { Logger, onceEvery } from '../log';
import { Metrics } from '../metrics/metrics';
import { RATE_TIERS, Tier, tierFor, tierTopic } from '../protocol/tiers';
import { FrameCounts } from './frame-counts';
import { FormatName } from '../wire/formats';
import { compareStreamIds, Tick } from '../wire/tick';
import type { FrameEncoderWithKind } from './catchup';
import type { FramePublisher, LatestTickSink, SubscriberCounts } from './fanout';

/** One symbol's conflation state; the fan-out keeps the reference on its own per-symbol state. */
export interface RateSlot {
  readonly sym: string;
  /** topics[t][f]: the topic of tier t in format f. */
  readonly topics: string[][];
  latest: Tick | undefined;
  /** emitted[t]: the id tier t last emitted for the symbol ('' none). */
  readonly emitted: string[];
  /** Bit t set: the symbol is in tier t's dirty list. */
  dirty: number;
  /**
   * idle[t]: the registry's additions() when tier t's topics of the symbol had no subscriber in any format (-1:
   * not known). While additions() stays there they still have none, and the tier's run skips their lookups.
   */
  readonly idle: number[];
}

export interface RateTiersOptions {
  formats: readonly FormatName[];
  /** The delayed source's rate tiers (`delayed 4/s` …), or the real-time ones (`4/s` …). */
  delayed: boolean;
  encode: FrameEncoderWithKind;
  /** Bytes of a frame before compression (for the compression-ratio metric). */
  uncompressedBytes(frame: string | Uint8Array): number;
  registry: SubscriberCounts;
  publisher: FramePublisher;
  metrics: Metrics;
  log: Logger;
}

export class RateTiers implements LatestTickSink<RateSlot> {
  private readonly tiers: Tier[];
  private readonly dirty: RateSlot[][];
  private readonly timers: (NodeJS.Timeout | undefined)[];
  /** counts[t]: what tier t's current run published. */
  private readonly counts: FrameCounts[];
  private readonly logBad = onceEvery(10_000);
  private stopped = false;

  constructor(private readonly opts: RateTiersOptions) {
    this.tiers = RATE_TIERS.map((r) => tierFor(r, opts.delayed));
    this.dirty = this.tiers.map(() => []);
    this.timers = this.tiers.map(() => undefined);
    this.counts = this.tiers.map((t) => new FrameCounts(opts.formats, t, opts.metrics, opts.uncompressedBytes));
  }

  track(sym: string, prev: string): RateSlot {
    return {
      sym,
      topics: this.tiers.map((t) => this.opts.formats.map((f) => tierTopic(f, sym, t))),
      latest: undefined,
      emitted: this.tiers.map(() => prev),
      dirty: 0,
      idle: this.tiers.map(() => -1),
    };
  }

  touch(slot: RateSlot, latest: Tick): void {
    slot.latest = latest;
    if (slot.dirty === (1 << this.tiers.length) - 1) return;
    for (let t = 0; t < this.tiers.length; t++) {
      if ((slot.dirty & (1 << t)) !== 0) continue;
      slot.dirty |= 1 << t;
      this.dirty[t].push(slot);
      if (this.timers[t] === undefined && !this.stopped) this.startTimer(t);
    }
  }

  /** Clears the timers; nothing is emitted after this. */
  stop(): void {
    this.stopped = true;
    for (let t = 0; t < this.timers.length; t++) {
      clearInterval(this.timers[t]);
      this.timers[t] = undefined;
    }
  }

  /** An interval, not a timeout per frame: its phase stays fixed, so frames of one symbol are never closer than 1000/r ms. */
  private startTimer(t: number): void {
    const timer = setInterval(() => this.emit(t), 1000 / this.tiers[t].maxRate!);
    timer.unref();
    this.timers[t] = timer;
  }

  /** One run of tier t's timer: a frame per dirty symbol; the timer stops once a run finds nothing dirty. */
  private emit(t: number): void {
    const dirty = this.dirty[t];
    if (dirty.length === 0) {
      clearInterval(this.timers[t]);
      this.timers[t] = undefined;
      return;
    }
    const { formats, registry, publisher } = this.opts;
    const sent = Date.now();
    // Read before any lookup: a subscription added after it moves it, so the next run looks again.
    const additions = registry.additions();
    let published = 0;
    for (let i = 0; i < dirty.length; i++) {
      const slot = dirty[i];
      slot.dirty &= ~(1 << t);
      const latest = slot.latest!;
      const prev = slot.emitted[t];
      if (compareStreamIds(latest.id, prev) <= 0) continue;
      slot.emitted[t] = latest.id;
      // Most symbols have nobody on most tiers: without this, each run would cost a lookup per format of each.
      if (slot.idle[t] === additions) continue;
      // One batch per frame: encoders and the publisher may keep references to what they were given.
      const batch = { sym: slot.sym, prev, ticks: [latest] };
      let heard = false;
      for (let f = 0; f < formats.length; f++) {
        const topic = slot.topics[t][f];
        const subscribers = registry.subscriberCount(topic);
        if (subscribers === 0) continue;
        heard = true;
        let frame: string | Uint8Array;
        try {
          frame = this.opts.encode(formats[f], batch, sent, 'conflated');
        } catch (err) {
          this.encodeFailed(formats[f], slot.sym, this.tiers[t], err);
          continue;
        }
        publisher.publish(topic, frame, typeof frame !== 'string');
        published++;
        this.counts[t].add(f, frame, 1, subscribers);
      }
      slot.idle[t] = heard ? -1 : additions;
    }
    dirty.length = 0;
    if (published === 0) return;
    this.counts[t].flush();
    // Nothing waits for it: a rate tier's frames are acked by nobody, the live read that fed them already was.
    void publisher.flush();
  }

  /** As in the fan-out: guards against an encoder bug, counted and logged, never silent. */
  private encodeFailed(format: FormatName, sym: string, tier: Tier, err: unknown): void {
    this.opts.metrics.encodeErrors.inc({ format });
    const message = err instanceof Error ? err.message : String(err);
    this.logBad(`encode:${format}`, (suppressed) => this.opts.log.error({ format, sym, tier: tier.label, err: message, suppressed }, 'cannot encode conflated frame'));
  }
}
