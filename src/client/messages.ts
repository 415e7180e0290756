/**
 * Decoders for the text JSON messages the SDK handles besides data frames and acks: the snapshot frame and the
 * slow-consumer mode message (protocol v1, issue 6). They live in the SDK, not src/wire: the server writes them as
 * plain JSON and only clients read them.
 *
 * Browser-safe.
 */
import { FrameDecodeError } from '../wire/errors';
import { decodeJsonTick } from '../wire/json';
import { isValidStreamId, isValidSymbol, Tick } from '../wire/tick';

/** One tick of a snapshot: the latest tick of `sym` as of the snapshot's position. */
export interface SnapshotTick extends Tick {
  sym: string;
}

/**
 * `{"type":"snapshot","id":1,"position":"<stream id>","ticks":[{"sym":"A","id":"..","ts":..,"px":"..","sz":"..",...}]}`:
 * the latest tick of each requested symbol (symbols with no known tick are absent) as of `position`, the newest
 * stream id the gateway had published when it took the snapshot. `id` is the request that asked for it (subscribe
 * or resume); absent when the server sent it on its own (returning to `full` mode).
 */
export interface SnapshotFrame {
  id?: number | string;
  position: string;
  ticks: SnapshotTick[];
}

export const STREAM_MODES = ['full', 'conflated', 'snapshot-only'] as const;
/**
 * The server's delivery mode for this connection: `full` (every tick), `conflated` (only the latest tick per symbol,
 * at most every conflate interval), `snapshot-only` (nothing until the socket drains, then a snapshot).
 */
export type StreamMode = (typeof STREAM_MODES)[number];

/** `{"type":"mode","mode":"conflated","reason":"..."}` */
export interface ModeChange {
  mode: StreamMode;
  reason: string;
}

function bad(message: string): FrameDecodeError {
  return new FrameDecodeError('BAD_JSON_FRAME', message);
}

function asObject(input: string | object): Record<string, unknown> {
  if (typeof input !== 'string') return input as Record<string, unknown>;
  let o: unknown;
  try {
    o = JSON.parse(input);
  } catch {
    throw bad('message is not valid JSON');
  }
  if (typeof o !== 'object' || o === null) throw bad('message is not an object');
  return o as Record<string, unknown>;
}

/** Parses a snapshot frame (its text, or the object already parsed from it). Throws FrameDecodeError. */
export function decodeSnapshotFrame(input: string | object): SnapshotFrame {
  const o = asObject(input);
  if (o.type !== 'snapshot' || !isValidStreamId(o.position) || !Array.isArray(o.ticks)) throw bad('not a snapshot frame');
  const ticks = o.ticks.map((raw: unknown): SnapshotTick => {
    const sym = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).sym : undefined;
    if (!isValidSymbol(sym)) throw bad('snapshot tick without a valid sym');
    const tick = decodeJsonTick(raw);
    return { sym, ...tick };
  });
  const frame: SnapshotFrame = { position: o.position, ticks };
  if (typeof o.id === 'number' || typeof o.id === 'string') frame.id = o.id;
  return frame;
}

/** Parses a mode message (its text, or the object already parsed from it). Throws FrameDecodeError. */
export function decodeModeMessage(input: string | object): ModeChange {
  const o = asObject(input);
  const mode = o.mode;
  if (o.type !== 'mode' || !(STREAM_MODES as readonly unknown[]).includes(mode)) throw bad('not a mode message');
  return { mode: mode as StreamMode, reason: typeof o.reason === 'string' ? o.reason : '' };
}
