/**
 * The server's single entry point for data frames: one call per (symbol batch, wire format), on the hot path.
 *
 * Node-only (lz4-napi); the browser SDK never imports this module. Every binary format is written into one reused
 * scratch buffer and copied out once: the copy is the frame handed to uWS, which keeps no reference to our buffer.
 * The layout is described in frame.ts.
 */
import { compressSync } from 'lz4-napi';
import { encodeBinaryBatch } from './binary';
import { ByteWriter } from './bytes';
import { WireEncodeError } from './encode-error';
import { FLAG_BINARY, FLAG_LZ4, FRAME_VERSION, HEADER_BYTES, KIND_SHIFT } from './frame';
import { FormatName } from './formats';
import { encodeJsonFrame } from './json';
import { FrameKind, TickBatch } from './tick';

/**
 * Payloads shorter than this go uncompressed (flag bit clear), measured with `src/bench/wire-size.ts` (src/wire/README.md,
 * "LZ4 threshold"). JSON repeats its keys in every tick: a 2-tick frame (~210 bytes) shrinks by a third, a 1-tick
 * frame (130–215 bytes) by only 11–19% for a compressSync call (~2 µs, mostly fixed cost) that costs more than
 * encoding the frame. The binary batch has no such redundancy: LZ4 makes it longer until about 400 bytes and saves
 * 1–5% above. Either way a frame that LZ4 would not shrink is sent uncompressed.
 */
export const LZ4_MIN_BYTES = { json: 256, bin: 512 } as const;

const scratch = new ByteWriter(64 * 1024);

/** Header flag bits 2–3 of a frame kind; throws for anything else (a caller outside the type system). */
function kindBits(kind: FrameKind): number {
  if (kind === 'live') return 0;
  if (kind === 'replay') return 1 << KIND_SHIFT;
  if (kind === 'conflated') return 2 << KIND_SHIFT;
  throw new WireEncodeError('INVALID_KIND', `unknown frame kind ${JSON.stringify(kind)}`);
}

/**
 * A 'json' frame is a string (send as text); every other format is the bytes of one binary frame. `batch.prev` and
 * `kind` travel in every format (frame.ts, json.ts, binary.ts).
 * Throws WireEncodeError when a binary format cannot carry a value exactly.
 */
export function encodeFrame(format: FormatName, batch: TickBatch, sent: number, kind: FrameKind = 'live'): string | Uint8Array {
  const kindFlags = kindBits(kind);
  if (format === 'json') return encodeJsonFrame(batch, sent, kind);
  scratch.reset();
  let flags: number;
  let lz4MinBytes: number;
  if (format === 'json+lz4') {
    const text = encodeJsonFrame(batch, sent, kind);
    scratch.ensure(HEADER_BYTES + text.length * 3); // UTF-8 worst case
    const buf = scratch.buf;
    scratch.pos = HEADER_BYTES + Buffer.from(buf.buffer, buf.byteOffset, buf.length).write(text, HEADER_BYTES);
    flags = kindFlags;
    lz4MinBytes = LZ4_MIN_BYTES.json;
  } else {
    scratch.ensure(HEADER_BYTES);
    scratch.pos += HEADER_BYTES; // written last, once the flags are known
    encodeBinaryBatch(scratch, batch, sent);
    flags = FLAG_BINARY | kindFlags;
    lz4MinBytes = format === 'bin' ? Infinity : LZ4_MIN_BYTES.bin;
  }
  const buf = scratch.buf;
  const payloadLength = scratch.pos - HEADER_BYTES;
  // Buffer.allocUnsafe rather than new Uint8Array: small frames come from Node's pool, measurably cheaper per frame.
  if (payloadLength >= lz4MinBytes) {
    // A view, not a copy: compressSync reads the scratch bytes in place.
    const compressed = compressSync(Buffer.from(buf.buffer, buf.byteOffset + HEADER_BYTES, payloadLength));
    if (compressed.length < payloadLength) {
      const frame = Buffer.allocUnsafe(HEADER_BYTES + compressed.length);
      frame[0] = FRAME_VERSION;
      frame[1] = flags | FLAG_LZ4;
      frame.set(compressed, HEADER_BYTES);
      return frame;
    }
  }
  buf[0] = FRAME_VERSION;
  buf[1] = flags;
  const frame = Buffer.allocUnsafe(scratch.pos);
  frame.set(buf.subarray(0, scratch.pos));
  return frame;
}

/**
 * The frame's size before compression: what it would have cost without LZ4. Read from the header the encoder just
 * wrote (the LZ4 length field), so the compression ratio can be exported without a second encode.
 */
export function uncompressedFrameBytes(frame: string | Uint8Array): number {
  if (typeof frame === 'string') return Buffer.byteLength(frame);
  if ((frame[1] & FLAG_LZ4) === 0) return frame.byteLength;
  return HEADER_BYTES + (frame[2] | (frame[3] << 8) | (frame[4] << 16)) + frame[5] * 0x1000000;
}
