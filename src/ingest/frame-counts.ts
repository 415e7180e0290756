/**
 * What one publishing round (a read of the fan-out, a run of a rate tier) published, per format, moved into the
 * metrics once at its end: a prom-client call costs about as much as encoding a tick, so the publishing loop adds to
 * plain numbers. The per-format counters count every tier; tierFramesPublished splits the frames by tier.
 */
import { Metrics } from '../metrics/metrics';
import { Tier } from '../protocol/tiers';
import { FormatName } from '../wire/formats';

/** Per format: frames, ticks delivered, wire bytes, raw bytes. */
const COUNTS = 4;

export class FrameCounts {
  private readonly counts: Float64Array;
  // Label children resolved once: a labelled inc() would hash its labels on every call.
  private readonly frames;
  private readonly delivered;
  private readonly bytes;
  private readonly rawBytes;
  private readonly tierFrames;

  constructor(
    formats: readonly FormatName[],
    tier: Tier,
    metrics: Metrics,
    /** Bytes of a frame before compression (for the compression-ratio metric). */
    private readonly uncompressedBytes: (frame: string | Uint8Array) => number,
  ) {
    this.counts = new Float64Array(formats.length * COUNTS);
    this.frames = formats.map((f) => metrics.framesPublished.labels(f));
    this.delivered = formats.map((f) => metrics.ticksDelivered.labels(f));
    this.bytes = formats.map((f) => metrics.bytesPublished.labels(f));
    this.rawBytes = formats.map((f) => metrics.rawBytesPublished.labels(f));
    this.tierFrames = metrics.tierFramesPublished.labels(tier.label);
  }

  /** A frame of format `f` (its index) was published, delivering `ticks` ticks to each of `subscribers`. */
  add(f: number, frame: string | Uint8Array, ticks: number, subscribers: number): void {
    const c = f * COUNTS;
    this.counts[c]++;
    this.counts[c + 1] += ticks * subscribers;
    // A text frame is never compressed: its length is scanned once and serves both byte counters.
    const wire = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength;
    this.counts[c + 2] += wire;
    this.counts[c + 3] += typeof frame === 'string' ? wire : this.uncompressedBytes(frame);
  }

  /** Moves the round's counts into the metrics and starts the next round; returns the ticks it delivered. */
  flush(): number {
    let frames = 0;
    let delivered = 0;
    for (let f = 0; f < this.frames.length; f++) {
      const c = f * COUNTS;
      if (this.counts[c] === 0) continue;
      frames += this.counts[c];
      delivered += this.counts[c + 1];
      this.frames[f].inc(this.counts[c]);
      this.delivered[f].inc(this.counts[c + 1]);
      this.bytes[f].inc(this.counts[c + 2]);
      this.rawBytes[f].inc(this.counts[c + 3]);
      this.counts.fill(0, c, c + COUNTS);
    }
    if (frames > 0) this.tierFrames.inc(frames);
    return delivered;
  }
}
