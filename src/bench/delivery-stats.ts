/**
 * What one load-generator thread counts per received data frame: ticks, frames, payload bytes, and each tick's
 * latency (receive time − producer stamp), per wire format (StatsByFormat), merged for the step's totals.
 *
 * JSON text frames are not JSON.parsed: the counter scans the bytes for each tick's `"tus":"<µs>"` field, which
 * costs a fraction of a parse, so the generator keeps up with more load than a client that decodes everything.
 * To prove the scan counts what a real decoder sees, every VALIDATE_EVERY-th frame is also decoded with the
 * SDK's decodeFrame and compared; a mismatch counts as invalid. Binary frames are decoded (the binary format drops
 * `tus`, so their latency comes from `ts`, at millisecond resolution, and goes to a separate histogram).
 */
import { Histogram } from 'hdr-histogram-js';
import { decodeFrame } from '../wire/frame';
import { FormatName } from '../wire/formats';
import { DataFrame } from '../wire/tick';
import { encodeHistogram, mergeHistograms, newHistogram } from './latency';
import { monotonicMicros } from './monotonic';

const TUS = Buffer.from('"tus":"');
const DATA_PREFIX = Buffer.from('{"type":"ticks"');
const QUOTE = 0x22;
const ZERO = 0x30;
const VALIDATE_EVERY = 1000;

export interface DeliveryCounts {
  ticks: number;
  frames: number;
  bytes: number;
  /** Frames whose scan disagreed with a full decode, or that did not decode. */
  invalid: number;
  /** Connections closed by the server during the measurement (a slow-consumer close shows up here). */
  closed: number;
}

/** Encoded histograms: µs-resolution latency (from `tus`) and ms-resolution latency (from `ts`). */
export interface LatencySnapshot {
  ticks: number;
  latencyUs: string;
  latencyMsRes: string;
}

export interface DeliverySnapshot extends DeliveryCounts, LatencySnapshot {
  /** The same per wire format, so that formats served in one step can be compared at the same load. */
  byFormat: Partial<Record<FormatName, LatencySnapshot>>;
}

const COUNT_KEYS = ['ticks', 'frames', 'bytes', 'invalid', 'closed'] as const;

export function sumCounts(parts: DeliveryCounts[]): DeliveryCounts {
  const total: DeliveryCounts = { ticks: 0, frames: 0, bytes: 0, invalid: 0, closed: 0 };
  for (const p of parts) for (const k of COUNT_KEYS) total[k] += p[k];
  return total;
}

function mergeLatency(parts: LatencySnapshot[]): LatencySnapshot {
  return {
    ticks: parts.reduce((n, p) => n + p.ticks, 0),
    latencyUs: encodeHistogram(mergeHistograms(parts.map((p) => p.latencyUs))),
    latencyMsRes: encodeHistogram(mergeHistograms(parts.map((p) => p.latencyMsRes))),
  };
}

/** Snapshots of several threads (or formats) as one: counts summed, histograms merged, format by format. */
export function mergeSnapshots(parts: DeliverySnapshot[]): DeliverySnapshot {
  const byFormat: DeliverySnapshot['byFormat'] = {};
  const formats = new Set(parts.flatMap((p) => Object.keys(p.byFormat) as FormatName[]));
  for (const f of formats) byFormat[f] = mergeLatency(parts.flatMap((p) => p.byFormat[f] ?? []));
  return { ...sumCounts(parts), ...mergeLatency(parts), byFormat };
}

export function isDataText(buf: Buffer): boolean {
  return buf.length > DATA_PREFIX.length && buf.compare(DATA_PREFIX, 0, DATA_PREFIX.length, 0, DATA_PREFIX.length) === 0;
}

export class DeliveryStats implements DeliveryCounts {
  ticks = 0;
  frames = 0;
  bytes = 0;
  invalid = 0;
  closed = 0;
  private usLatency: Histogram = newHistogram();
  private msLatency: Histogram = newHistogram();

  constructor(private readonly format: FormatName) {}

  /** A JSON text data frame, as received (UTF-8 bytes), and when it was read. */
  jsonText(buf: Buffer, now: number): void {
    let n = 0;
    let at = buf.indexOf(TUS);
    while (at >= 0) {
      let j = at + TUS.length;
      let tus = 0;
      for (let c = buf[j]; c !== QUOTE && j < buf.length; c = buf[++j]) tus = tus * 10 + (c - ZERO);
      this.usLatency.recordValue(Math.max(0, now - tus));
      n++;
      at = buf.indexOf(TUS, j);
    }
    this.count(n, buf.length);
    if (this.frames % VALIDATE_EVERY === 1 && !this.agrees(buf, n)) this.invalid++;
  }

  /** A binary frame (any binary format): decoded in full. */
  binary(buf: Buffer): void {
    let frame: DataFrame;
    try {
      frame = decodeFrame(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
    } catch {
      this.invalid++;
      return;
    }
    this.decoded(frame.ticks, buf.length);
  }

  /** A frame some client library already decoded (Socket.IO). */
  decoded(ticks: readonly { ts: number; tus?: unknown; extra?: Record<string, string> }[], bytes: number): void {
    const nowUs = monotonicMicros();
    const nowMs = Date.now();
    for (const t of ticks) {
      const tus = t.tus ?? t.extra?.tus;
      if (tus !== undefined) this.usLatency.recordValue(Math.max(0, nowUs - Number(tus)));
      else this.msLatency.recordValue(Math.max(0, (nowMs - t.ts) * 1000));
    }
    this.count(ticks.length, bytes);
  }

  reset(): void {
    this.ticks = this.frames = this.bytes = this.invalid = this.closed = 0;
    this.usLatency.reset();
    this.msLatency.reset();
  }

  counts(): DeliveryCounts {
    return { ticks: this.ticks, frames: this.frames, bytes: this.bytes, invalid: this.invalid, closed: this.closed };
  }

  snapshot(): DeliverySnapshot {
    const latency = { ticks: this.ticks, latencyUs: encodeHistogram(this.usLatency), latencyMsRes: encodeHistogram(this.msLatency) };
    return { ...this.counts(), ...latency, byFormat: { [this.format]: latency } };
  }

  private count(ticks: number, bytes: number): void {
    this.ticks += ticks;
    this.frames++;
    this.bytes += bytes;
  }

  private agrees(buf: Buffer, scanned: number): boolean {
    try {
      const frame = decodeFrame(buf.toString('utf8'));
      return frame.ticks.length === scanned && frame.ticks.every((t) => t.extra?.tus !== undefined);
    } catch {
      return false;
    }
  }
}

/** A load-generator thread's counts, kept per wire format: each client counts into its format's stats. */
export class StatsByFormat {
  private readonly stats = new Map<FormatName, DeliveryStats>();

  of(format: FormatName): DeliveryStats {
    let s = this.stats.get(format);
    if (s === undefined) this.stats.set(format, (s = new DeliveryStats(format)));
    return s;
  }

  reset(): void {
    for (const s of this.stats.values()) s.reset();
  }

  counts(): DeliveryCounts {
    return sumCounts([...this.stats.values()].map((s) => s.counts()));
  }

  snapshot(): DeliverySnapshot {
    return mergeSnapshots([...this.stats.values()].map((s) => s.snapshot()));
  }
}
