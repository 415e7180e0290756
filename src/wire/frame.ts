/**
 * Binary WebSocket frames ('json+lz4', 'bin', 'bin+lz4'): a two-byte header, then the payload.
 *
 *   byte 0   version (1)
 *   byte 1   flags: bit 0 LZ4, bit 1 binary encoding (clear: JSON as UTF-8); bits 2-3 frame kind (0 live,
 *            1 replay, 2 conflated, 3 reserved); bits 4-7 reserved, zero
 *   LZ4:     bytes 2-5 uncompressed length (u32, little-endian), then one LZ4 block
 *   else:    the payload itself
 *
 * Plain 'json' frames are WebSocket text frames without this header. The LZ4 layout is exactly lz4-napi's
 * compressSync output (length-prefixed block) after the two header bytes, so the encoder copies it once.
 * A 'json+lz4' payload is byte for byte the 'json' text frame, `"kind"` included; the header's kind must agree.
 *
 * decodeFrame is browser-safe; the encoder lives in frame-encode.ts because it needs lz4-napi.
 */
import { decodeBinaryBatch } from './binary';
import { FrameDecodeError } from './errors';
import { decodeJsonFrame } from './json';
import { decodeLz4Block, DEFAULT_MAX_RAW_LENGTH } from './lz4-block';
import { DataFrame, FRAME_KINDS, FrameKind } from './tick';

export const FRAME_VERSION = 1;
export const FLAG_LZ4 = 0x01;
export const FLAG_BINARY = 0x02;
/** Flag bits 2–3: the frame kind's number (FRAME_KINDS index). */
export const KIND_SHIFT = 2;
export const KIND_MASK = 0x0c;
const KIND_RESERVED = 3;
const FLAGS_KNOWN = FLAG_LZ4 | FLAG_BINARY | KIND_MASK;
export const HEADER_BYTES = 2;
export const LZ4_LENGTH_BYTES = 4;

export interface DecodeOptions {
  /** Largest uncompressed payload accepted from an LZ4 frame; checked before allocating. */
  maxRawLength?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Any data frame the gateway sends: a text frame (plain JSON) or a binary one. Throws FrameDecodeError. */
export function decodeFrame(data: string | Uint8Array | ArrayBuffer, options: DecodeOptions = {}): DataFrame {
  if (typeof data === 'string') return decodeJsonFrame(data);
  const { flags, kind, payload } = openFrame(data instanceof Uint8Array ? data : new Uint8Array(data), options);
  if (flags & FLAG_BINARY) return decodeBinaryBatch(payload, 0, payload.length, kind);

  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw new FrameDecodeError('BAD_JSON_FRAME', 'JSON payload is not UTF-8');
  }
  const frame = decodeJsonFrame(text);
  if (frame.kind !== kind) throw new FrameDecodeError('BAD_VALUE', `header says ${kind}, JSON payload says ${frame.kind}`);
  return frame;
}

export interface OpenedFrame {
  flags: number;
  kind: FrameKind;
  /** The batch (FLAG_BINARY) or the JSON text as UTF-8, decompressed when the frame was LZ4. */
  payload: Uint8Array;
}

/**
 * A binary frame's header checked and its payload uncovered, not yet decoded: decodeFrame's first half, apart so
 * that the benchmark's load generator can count a 'json+lz4' frame's ticks the way it counts a text frame's.
 * Throws FrameDecodeError.
 */
export function openFrame(bytes: Uint8Array, options: DecodeOptions = {}): OpenedFrame {
  if (bytes.length < HEADER_BYTES) throw new FrameDecodeError('TRUNCATED', 'frame shorter than its header');
  if (bytes[0] !== FRAME_VERSION) throw new FrameDecodeError('BAD_VERSION', `unsupported frame version ${bytes[0]}`);
  const flags = bytes[1];
  if (flags & ~FLAGS_KNOWN) throw new FrameDecodeError('BAD_FLAGS', `unknown flags 0x${flags.toString(16)}`);
  const kindNumber = (flags & KIND_MASK) >>> KIND_SHIFT;
  if (kindNumber === KIND_RESERVED) throw new FrameDecodeError('BAD_FLAGS', 'reserved frame kind 3');

  let payload = bytes.subarray(HEADER_BYTES);
  if (flags & FLAG_LZ4) {
    if (payload.length < LZ4_LENGTH_BYTES) throw new FrameDecodeError('TRUNCATED', 'LZ4 frame without its length');
    const rawLength = (payload[0] | (payload[1] << 8) | (payload[2] << 16) | (payload[3] << 24)) >>> 0;
    payload = decodeLz4Block(payload.subarray(LZ4_LENGTH_BYTES), rawLength, options.maxRawLength ?? DEFAULT_MAX_RAW_LENGTH);
  }
  return { flags, kind: FRAME_KINDS[kindNumber], payload };
}
