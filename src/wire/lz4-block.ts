/**
 * LZ4 block decoder in plain JavaScript, for browsers (Node decodes with it too, so both run the same checks).
 *
 * The raw length comes from the frame header, chosen by whoever sent the frame: it is checked against a limit and
 * against what the compressed bytes could possibly expand to before anything is allocated, and every literal and
 * match is bounds-checked, so hostile input ends in an error, never in a huge allocation or an out-of-range copy.
 */
import { FrameDecodeError } from './errors';

export const DEFAULT_MAX_RAW_LENGTH = 16 * 1024 * 1024;

/**
 * An LZ4 sequence of n bytes produces at most about 255·n bytes (a run of 0xFF length bytes), so a larger claim
 * cannot be genuine.
 */
const MAX_EXPANSION = 255;
const MIN_MATCH = 4;

export function decodeLz4Block(src: Uint8Array, rawLength: number, maxRawLength = DEFAULT_MAX_RAW_LENGTH): Uint8Array {
  if (rawLength > maxRawLength) {
    throw new FrameDecodeError('TOO_LARGE', `decompressed size ${rawLength} exceeds the limit of ${maxRawLength}`);
  }
  const end = src.length;
  if (rawLength > end * MAX_EXPANSION + 16) {
    throw new FrameDecodeError('BAD_LZ4', `${end} compressed bytes cannot expand to ${rawLength}`);
  }
  const out = new Uint8Array(rawLength);
  let ip = 0;
  let op = 0;
  while (ip < end) {
    const token = src[ip++];

    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= end) throw corrupt('literal length runs past the input');
        b = src[ip++];
        literals += b;
      } while (b === 255);
    }
    if (literals > end - ip || literals > rawLength - op) throw corrupt('literals run past the input or the output');
    out.set(src.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip === end) break; // the last sequence has literals only

    if (end - ip < 2) throw corrupt('match offset runs past the input');
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw corrupt('match offset points before the output');

    let matchLength = token & 15;
    if (matchLength === 15) {
      let b: number;
      do {
        if (ip >= end) throw corrupt('match length runs past the input');
        b = src[ip++];
        matchLength += b;
      } while (b === 255);
    }
    matchLength += MIN_MATCH;
    if (matchLength > rawLength - op) throw corrupt('match runs past the output');

    let from = op - offset;
    if (offset >= matchLength) {
      out.copyWithin(op, from, from + matchLength);
      op += matchLength;
    } else {
      // Overlapping copy (a repeating pattern): must go byte by byte, each byte may be one just written.
      const stop = op + matchLength;
      while (op < stop) out[op++] = out[from++];
    }
  }
  if (op !== rawLength) throw corrupt(`decompressed ${op} bytes, header said ${rawLength}`);
  return out;
}

function corrupt(detail: string): FrameDecodeError {
  return new FrameDecodeError('BAD_LZ4', `corrupt LZ4 block: ${detail}`);
}
