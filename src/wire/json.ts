/**
 * The JSON data frame: `{"type":"ticks","sym":"BTC-USD","sent":1732480000123,"prev":"..","kind":"replay","ticks":[{"id":"..","ts":..,"px":"..",..}]}`.
 * `prev` is omitted when the batch has none, `kind` when it is `live`.
 *
 * Encoding builds the string by hand instead of JSON.stringify: every known field was validated at ingest (ids,
 * decimals and symbols contain no character JSON must escape), so the only escaping left is for pass-through
 * `extra` fields, appended after the known keys: ingest refuses any extra named like a key the frame owns
 * (RESERVED_KEYS), so none can duplicate one. This runs once per (symbol, batch), never per client.
 *
 * Browser-safe: the SDK uses decodeJsonFrame.
 */
import { FrameDecodeError } from './errors';
import { DataFrame, FrameKind, isValidStreamId, isValidSymbol, RESERVED_KEYS, Tick, TickBatch } from './tick';

const OPTIONAL_FIELDS = ['bid', 'ask', 'bsz', 'asz'] as const;

function encodeTick(t: Tick): string {
  let s = '{"id":"' + t.id + '","ts":' + t.ts + ',"px":"' + t.px + '","sz":"' + t.sz + '"';
  for (const f of OPTIONAL_FIELDS) {
    const v = t[f];
    if (v !== undefined) s += ',"' + f + '":"' + v + '"';
  }
  if (t.side !== undefined) s += ',"side":"' + t.side + '"';
  for (const k in t.extra) s += ',' + JSON.stringify(k) + ':' + JSON.stringify(t.extra[k]);
  return s + '}';
}

export function encodeJsonFrame(batch: TickBatch, sent: number, kind: FrameKind = 'live'): string {
  const ticks = batch.ticks;
  const prev = batch.prev;
  let s = '{"type":"ticks","sym":"' + batch.sym + '","sent":' + sent;
  if (prev) s += ',"prev":"' + prev + '"';
  if (kind !== 'live') s += ',"kind":"' + kind + '"';
  s += ',"ticks":[';
  for (let i = 0; i < ticks.length; i++) {
    if (i > 0) s += ',';
    s += encodeTick(ticks[i]);
  }
  return s + ']}';
}

/**
 * One tick object of a JSON frame (or of a snapshot, whose ticks also carry `sym`). Extras are the string-valued
 * keys that are not RESERVED_KEYS: a key the protocol owns never lands in `extra`, whatever the sender wrote. The
 * identity is checked as strictly as ingest checks it, since the SDK orders and de-duplicates by it. Throws
 * FrameDecodeError.
 */
export function decodeJsonTick(raw: unknown): Tick {
  if (typeof raw !== 'object' || raw === null) throw new FrameDecodeError('BAD_JSON_FRAME', 'tick is not an object');
  const o = raw as Record<string, unknown>;
  if (typeof o.id !== 'string' || typeof o.ts !== 'number' || typeof o.px !== 'string' || typeof o.sz !== 'string') {
    throw new FrameDecodeError('BAD_JSON_FRAME', 'tick lacks id, ts, px or sz');
  }
  if (!isValidStreamId(o.id)) throw new FrameDecodeError('BAD_JSON_FRAME', 'tick id is not a stream id');
  if (!Number.isSafeInteger(o.ts) || o.ts < 0) throw new FrameDecodeError('BAD_JSON_FRAME', 'tick ts is not an integer in 0..2^53-1');
  const tick: Tick = { id: o.id, ts: o.ts, px: o.px, sz: o.sz };
  for (const f of OPTIONAL_FIELDS) if (typeof o[f] === 'string') tick[f] = o[f] as string;
  if (o.side === 'buy' || o.side === 'sell') tick.side = o.side;
  for (const k of Object.keys(o)) {
    if (!RESERVED_KEYS.has(k) && typeof o[k] === 'string') (tick.extra ??= {})[k] = o[k] as string;
  }
  return tick;
}

/** Parses a JSON data frame. Throws FrameDecodeError for anything that is not one. */
export function decodeJsonFrame(text: string): DataFrame {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new FrameDecodeError('BAD_JSON_FRAME', 'data frame is not valid JSON');
  }
  const f = o as Record<string, unknown>;
  // Any other JSON value has no `type` property to read; only null cannot be read from.
  if (o === null || f.type !== 'ticks' || !isValidSymbol(f.sym) ||
      !Number.isSafeInteger(f.sent) || (f.sent as number) < 0 || !Array.isArray(f.ticks)) {
    throw new FrameDecodeError('BAD_JSON_FRAME', 'not a ticks frame');
  }
  const kind = f.kind === undefined ? 'live' : f.kind;
  if (kind !== 'live' && kind !== 'replay' && kind !== 'conflated') throw new FrameDecodeError('BAD_JSON_FRAME', 'unknown frame kind');
  const prev = f.prev;
  if (prev !== undefined && prev !== '' && !isValidStreamId(prev)) throw new FrameDecodeError('BAD_JSON_FRAME', 'prev is not a stream id');
  const frame: DataFrame = { sym: f.sym, sent: f.sent as number, kind, ticks: f.ticks.map((t) => decodeJsonTick(t)) };
  if (prev) frame.prev = prev as string;
  return frame;
}
