/**
 * What one load-generator thread counts per received data frame: ticks, frames, payload bytes, and each tick's
 * latency per wire format, from the moment the frame's bytes were read off the socket.
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
import { encodeHistogram, newHistogram } from './latency';
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

/** Encoded histograms (latency.ts) of one format's ticks. */
export interface FormatLatencies {
  /** From `tus`: empty for the binary encoding. */
  tus: string;
  /** From `ts`. */
  ts: string;
}

export interface DeliverySnapshot extends DeliveryCounts {
  formats: Partial<Record<FormatName, FormatLatencies>>;
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

class Latencies {
  readonly tus: Histogram = newHistogram();
  readonly ts: Histogram = newHistogram();
}

export class DeliveryStats implements DeliveryCounts {
  ticks = 0;
  frames = 0;
  bytes = 0;
  invalid = 0;
  closed = 0;
  private readonly latencies = new Map<FormatName, Latencies>();
  private wallOffsetUs = wallClockOffsetMicros();
  /** Where the last digits() stopped. */
  private end = 0;

  /** A JSON text data frame, as received (UTF-8 bytes), and when it was read. */
  jsonText(buf: Buffer, receivedUs: number): void {
    this.scanJson(buf, buf, receivedUs, 'json');
  }

  /**
   * A binary frame of `format`, and when it was read. A JSON payload ('json+lz4') is scanned like a text frame,
   * after decompression when LZ4; a binary batch is decoded, which is what its `ts` takes.
   */
  binary(buf: Buffer, receivedUs: number, format: FormatName): void {
    let content: DataFrame | Buffer;
    try {
      const { flags, kind, payload } = openFrame(buf);
      content = flags & FLAG_BINARY ? decodeBinaryBatch(payload, 0, payload.length, kind) : asBuffer(payload);
    } catch {
      this.invalid++;
      return;
    }
    if (Buffer.isBuffer(content)) this.scanJson(content, buf, receivedUs, format);
    else this.decoded(content.ticks, buf.length, format, receivedUs);
  }

  /** A frame some client library already decoded (Socket.IO: its receive time is now). */
  decoded(ticks: readonly { ts: number; tus?: unknown; extra?: Record<string, string> }[], bytes: number, format: FormatName = 'json',
    receivedUs = monotonicMicros()): void {
    const l = this.of(format);
    const wallUs = receivedUs + this.wallOffsetUs;
    for (const t of ticks) {
      const tus = t.tus ?? t.extra?.tus;
      if (tus !== undefined) l.tus.recordValue(Math.max(0, receivedUs - Number(tus)));
      l.ts.recordValue(Math.max(0, wallUs - t.ts * 1000));
    }
    this.count(ticks.length, bytes);
  }

  /** Counts the ticks of `text`, the JSON of a data frame received as `frame`; validates one frame in VALIDATE_EVERY. */
  private scanJson(text: Buffer, frame: Buffer, receivedUs: number, format: FormatName): void {
    const l = this.of(format);
    const wallUs = receivedUs + this.wallOffsetUs;
    let n = 0;
    // Each tick's `ts` comes right after its id, its pass-through `tus` after its known fields (json.ts).
    let at = find(text, TS, 0);
    while (at >= 0) {
      l.ts.recordValue(Math.max(0, wallUs - this.digits(text, at + TS.length) * 1000));
      n++;
      at = find(text, TUS, this.end);
      if (at < 0) break;
      l.tus.recordValue(Math.max(0, receivedUs - this.digits(text, at + TUS.length)));
      // The last tick closes the array right after `tus`'s closing quote (`"}]`): no search through the rest.
      at = text[this.end + 1] === CLOSE_BRACE && text[this.end + 2] === CLOSE_BRACKET ? -1 : find(text, TS, this.end);
    }
    this.count(n, frame.length);
    if (this.frames % VALIDATE_EVERY === 1 && !this.agrees(format === 'json' ? frame.toString('utf8') : frame, n)) this.invalid++;
  }

  reset(): void {
    this.ticks = this.frames = this.bytes = this.invalid = this.closed = 0;
    this.latencies.clear();
    this.wallOffsetUs = wallClockOffsetMicros();
  }

  counts(): DeliveryCounts {
    return { ticks: this.ticks, frames: this.frames, bytes: this.bytes, invalid: this.invalid, closed: this.closed };
  }

  snapshot(): DeliverySnapshot {
    const formats: DeliverySnapshot['formats'] = {};
    for (const [format, l] of this.latencies) formats[format] = { tus: encodeHistogram(l.tus), ts: encodeHistogram(l.ts) };
    return { ...this.counts(), formats };
  }

  private of(format: FormatName): Latencies {
    let l = this.latencies.get(format);
    if (l === undefined) this.latencies.set(format, (l = new Latencies()));
    return l;
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
