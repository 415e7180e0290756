/**
 * What one load-generator thread counts per received data frame: ticks, frames, payload bytes, and each tick's
 * latency per wire format (StatsByFormat), from the moment the frame's bytes were read off the socket, merged
 * for the step's totals.
 *
 * Two latencies per tick, because the binary formats drop unknown fields:
 *   `tus`: the producer's CLOCK_MONOTONIC µs stamp (a pass-through field): exact, JSON formats only;
 *   `ts`:  the tick's own producer time (ms since the epoch, taken at the same instant as `tus`) against the
 *          receive time on the wall clock: every format, and up to 1 ms high since `ts` drops the fraction of
 *          its millisecond. This is the one to compare formats with.
 *
 * JSON is not JSON.parsed, in text frames or in 'json+lz4' frames (after LZ4 decompression when compressed): the
 * counter scans the bytes for each tick's `"ts":` and `"tus":"<µs>"` fields, which costs a fraction of a parse, so
 * the generator keeps up with more load than a client that decodes everything. To prove the scan counts what a real
 * decoder sees, every VALIDATE_EVERY-th frame is also decoded with the SDK's decodeFrame and compared; a mismatch
 * counts as invalid. Binary batches are decoded. Decoding 'json+lz4' in full instead cost 4× the scan per frame,
 * which in the mixed-format step overloaded the generator's CPU and delayed every format (src/bench/README.md).
 */
import { Histogram } from 'hdr-histogram-js';
import { decodeBinaryBatch } from '../wire/binary';
import { decodeFrame, FLAG_BINARY, openFrame } from '../wire/frame';
import { FormatName } from '../wire/formats';
import { DataFrame } from '../wire/tick';
import { encodeHistogram, mergeHistograms, newHistogram } from './latency';
import { monotonicMicros, wallClockOffsetMicros } from './monotonic';

const TS = Buffer.from('"ts":');
const TUS = Buffer.from('"tus":"');
const DATA_PREFIX = Buffer.from('{"type":"ticks"');
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
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

/** Encoded histograms: latency from `tus` (µs stamp, JSON formats only) and from `ts` (every format). */
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

/** A Buffer over the same bytes (Buffer.indexOf is what makes the scan cheap); no copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Where `pattern` first occurs in `buf` from `from`, or -1. Buffer.indexOf does the same, but its call into C++
 * costs more than this loop over a frame of a few hundred bytes (about 400 vs 280 ns per one-tick frame).
 */
function find(buf: Buffer, pattern: Buffer, from: number): number {
  const first = pattern[0];
  const last = buf.length - pattern.length;
  next: for (let i = from; i <= last; i++) {
    if (buf[i] !== first) continue;
    for (let k = 1; k < pattern.length; k++) if (buf[i + k] !== pattern[k]) continue next;
    return i;
  }
  return -1;
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
  /** From `tus`. */
  private usLatency: Histogram = newHistogram();
  /** From `ts`. */
  private msLatency: Histogram = newHistogram();
  private wallOffsetUs = wallClockOffsetMicros();
  /** Where the last digits() stopped. */
  private end = 0;

  constructor(private readonly format: FormatName) {}

  /** A JSON text data frame, as received (UTF-8 bytes), and when it was read. */
  jsonText(buf: Buffer, receivedUs: number): void {
    this.scanJson(buf, buf, receivedUs);
  }

  /**
   * A binary frame of `format`, and when it was read. A JSON payload ('json+lz4') is scanned like a text frame,
   * after decompression when LZ4; a binary batch is decoded, which is what its `ts` takes.
   */
  binary(buf: Buffer, receivedUs: number): void {
    let content: DataFrame | Buffer;
    try {
      const { flags, kind, payload } = openFrame(buf);
      content = flags & FLAG_BINARY ? decodeBinaryBatch(payload, 0, payload.length, kind) : asBuffer(payload);
    } catch {
      this.invalid++;
      return;
    }
    if (Buffer.isBuffer(content)) this.scanJson(content, buf, receivedUs);
    else this.decoded(content.ticks, buf.length, receivedUs);
  }

  /** A frame some client library already decoded (Socket.IO: its receive time is now). */
  decoded(ticks: readonly { ts: number; tus?: unknown; extra?: Record<string, string> }[], bytes: number, receivedUs = monotonicMicros()): void {
    const wallUs = receivedUs + this.wallOffsetUs;
    for (const t of ticks) {
      const tus = t.tus ?? t.extra?.tus;
      if (tus !== undefined) this.usLatency.recordValue(Math.max(0, receivedUs - Number(tus)));
      this.msLatency.recordValue(Math.max(0, wallUs - t.ts * 1000));
    }
    this.count(ticks.length, bytes);
  }

  /** Counts the ticks of `text`, the JSON of a data frame received as `frame`; validates one frame in VALIDATE_EVERY. */
  private scanJson(text: Buffer, frame: Buffer, receivedUs: number): void {
    const wallUs = receivedUs + this.wallOffsetUs;
    let n = 0;
    // Each tick's `ts` comes right after its id, its pass-through `tus` after its known fields (json.ts).
    let at = find(text, TS, 0);
    while (at >= 0) {
      this.msLatency.recordValue(Math.max(0, wallUs - this.digits(text, at + TS.length) * 1000));
      n++;
      at = find(text, TUS, this.end);
      if (at < 0) break;
      this.usLatency.recordValue(Math.max(0, receivedUs - this.digits(text, at + TUS.length)));
      // The last tick closes the array right after `tus`'s closing quote (`"}]`): no search through the rest.
      at = text[this.end + 1] === CLOSE_BRACE && text[this.end + 2] === CLOSE_BRACKET ? -1 : find(text, TS, this.end);
    }
    this.count(n, frame.length);
    if (this.frames % VALIDATE_EVERY === 1 && !this.agrees(this.format === 'json' ? frame.toString('utf8') : frame, n)) this.invalid++;
  }

  reset(): void {
    this.ticks = this.frames = this.bytes = this.invalid = this.closed = 0;
    this.usLatency.reset();
    this.msLatency.reset();
    this.wallOffsetUs = wallClockOffsetMicros();
  }

  counts(): DeliveryCounts {
    return { ticks: this.ticks, frames: this.frames, bytes: this.bytes, invalid: this.invalid, closed: this.closed };
  }

  snapshot(): DeliverySnapshot {
    const latency = { ticks: this.ticks, latencyUs: encodeHistogram(this.usLatency), latencyMsRes: encodeHistogram(this.msLatency) };
    return { ...this.counts(), ...latency, byFormat: { [this.format]: latency } };
  }

  /** The decimal digits at `from`; leaves `end` just after them. */
  private digits(buf: Buffer, from: number): number {
    let v = 0;
    let j = from;
    for (let c = buf[j]; c >= ZERO && c <= NINE; c = buf[++j]) v = v * 10 + (c - ZERO);
    this.end = j;
    return v;
  }

  private count(ticks: number, bytes: number): void {
    this.ticks += ticks;
    this.frames++;
    this.bytes += bytes;
  }

  private agrees(received: string | Buffer, scanned: number): boolean {
    try {
      const frame = decodeFrame(received);
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
