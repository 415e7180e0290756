/**
 * The newest frame this server thread published on each topic, for the two readers that need a topic's latest tick
 * without subscribing to it: the slow-consumer ladder (conflated frames and snapshots for degraded clients) and the
 * quiet-symbol heartbeat (the last id on a topic, and whether it has been quiet). Frames are decoded lazily, once.
 *
 * Quietness is counted in epochs, not clock reads: each frame records the epoch it was published in, and the
 * heartbeat starts a new epoch every time it runs, so "not published in the current epoch" is "no frame since the
 * last heartbeat" without a Date.now() on the hot path.
 */
import { decodeFrame } from '../wire/frame';
import { DataFrame, Tick } from '../wire/tick';

interface Published {
  /** A text frame published on the main thread is still a string; one handed over by the main thread, its bytes. */
  frame: string | Uint8Array;
  binary: boolean;
  epoch: number;
  decoded?: DataFrame;
}

export class NewestFrames {
  private readonly newest = new Map<string, Published>();
  private epoch = 0;

  /** Hot path (worker side): one Map.set per published frame. */
  published(topic: string, frame: string | Uint8Array, binary: boolean): void {
    this.newest.set(topic, { frame, binary, epoch: this.epoch });
  }

  /** The latest tick published on `topic`; undefined when none was. */
  latestTick(topic: string): Tick | undefined {
    const p = this.newest.get(topic);
    if (!p) return undefined;
    p.decoded ??= decodeFrame(p.binary || typeof p.frame === 'string' ? p.frame : Buffer.from(p.frame).toString('utf8'));
    return p.decoded.ticks[p.decoded.ticks.length - 1];
  }

  /** Whether `topic` had no frame since the current epoch began (or none ever). */
  quiet(topic: string): boolean {
    return this.newest.get(topic)?.epoch !== this.epoch;
  }

  /** Frames published from now on belong to a new epoch. */
  nextEpoch(): void {
    this.epoch++;
  }
}
