/**
 * The text JSON messages the gateway sends besides data frames (protocol v1), each an encoder the server writes
 * with and a decoder the SDK and the tests read with: `ack`, `error`, `snapshot`, `mode` and `gap` (gap.ts), and the
 * `heartbeat` and the JSON body of a refused HTTP request. Requests (client → server) are in requests.ts.
 *
 * Encoders fix the key order the README shows: `type` first (the SDK tells data frames apart by their first bytes),
 * then `id`, then the rest. A field left undefined is left out.
 *
 * Browser-safe: the SDK imports the decoders.
 */
import { FrameDecodeError } from '../wire/errors';
import { decodeJsonTick } from '../wire/json';
import { isValidStreamId, isValidSymbol, RESERVED_KEYS, Tick } from '../wire/tick';
import { decodeGapMessage, StreamLoss } from './gap';
import { Request, RequestId } from './requests';

/** One tick of a snapshot: the latest tick of `sym` as of the snapshot's position. */
export interface SnapshotTick extends Tick {
  sym: string;
}

/**
 * `{"type":"snapshot","id":1,"position":"<stream id>","ticks":[{"sym":"A","id":"..","ts":..,"px":"..","sz":"..",...}]}`:
 * the latest tick of each requested symbol (symbols with no known tick are absent) as of `position`, the newest
 * stream id the gateway had published when it took the snapshot. `id` is the request that asked for it (subscribe,
 * snapshot or resume); null on the wire, absent here, when the server sent it on its own (returning to `full` mode).
 */
export interface SnapshotFrame {
  id?: number | string;
  position: string;
  ticks: SnapshotTick[];
}

export const STREAM_MODES = ['full', 'conflated', 'snapshot-only'] as const;
/**
 * The server's delivery mode for a connection: `full` (every tick), `conflated` (only the latest tick per symbol,
 * at most every conflate interval), `snapshot-only` (nothing until the socket drains, then a snapshot).
 */
export type StreamMode = (typeof STREAM_MODES)[number];

/** `{"type":"mode","mode":"conflated","reason":"..."}` */
export interface ModeChange {
  mode: StreamMode;
  reason: string;
}

/**
 * `{"type":"ack","id":1,"op":"subscribe","symbols":[...],"maxRate":4,"delayed":true}`: the request `id` succeeded.
 * Only requests with an id are acknowledged. `symbols` echoes subscribe, unsubscribe and snapshot, and lists the held
 * symbols for subscriptions; `time` is the server's clock for ping. A subscribe's ack states the tier given
 * (tiers.ts): `maxRate` the rate tier (absent: every tick), `delayed` true for the delayed tier (absent: real time).
 */
export interface Ack {
  id: number | string;
  op: Request['op'];
  symbols?: string[];
  time?: number;
  maxRate?: number;
  delayed?: boolean;
}

/**
 * `{"type":"heartbeat","time":1732480000000,"quiet":{"BTC-USD":"1732479990000-0","NEW-1":null}}`: the connection's
 * subscribed symbols that had no data frame for `--quiet-heartbeat-s`, each with the last id published on its topic
 * (the tier the client subscribed to), which is the newest id the client holds if it has missed nothing; null when
 * none was published since the gateway started. A client holding an older id has missed frames (stalled, not quiet).
 * `time` is the server's clock. One message per connection per interval, naming all its quiet symbols.
 */
export interface Heartbeat {
  time: number;
  quiet: Record<string, string | null>;
}

/**
 * `{"type":"error","id":1,"code":"INVALID_SYMBOL","message":"..."}`: the request `id` (null: one without an id, or
 * not readable) failed with `code` (codes.ts). RESUME_UNAVAILABLE also names the `symbols` whose resume position
 * cannot be replayed, and does not fail the request.
 */
export interface ErrorReply {
  id: RequestId;
  code: string;
  message: string;
  symbols?: string[];
}

/** `{"error":"TOO_MANY_CONNECTIONS","message":"..."}`: the body of a refused upgrade or unknown path (codes.ts REFUSALS). */
export interface RefusalBody {
  error: string;
  message?: string;
}

/** Every message this module reads, tagged with its `type` (refusal bodies, which have none, as `refusal`). */
export type ControlMessage =
  | ({ type: 'ack' } & Ack)
  | ({ type: 'error' } & ErrorReply)
  | ({ type: 'snapshot' } & SnapshotFrame)
  | ({ type: 'mode' } & ModeChange)
  | ({ type: 'gap' } & StreamLoss)
  | ({ type: 'heartbeat' } & Heartbeat)
  | ({ type: 'refusal' } & RefusalBody);

const OPS: readonly unknown[] = ['subscribe', 'unsubscribe', 'snapshot', 'ping', 'subscriptions', 'pause', 'resume'] satisfies Request['op'][];

export function encodeAck(ack: Ack): string {
  return JSON.stringify({ type: 'ack', id: ack.id, op: ack.op, symbols: ack.symbols, time: ack.time, maxRate: ack.maxRate, delayed: ack.delayed });
}

/**
 * A heartbeat is assembled per connection from pieces each encoded once per interval: the head (the interval's
 * time), one entry per quiet topic (shared by every client of the topic), and the tail. No JSON.stringify per client.
 */
export const HEARTBEAT = {
  head: (time: number): string => `{"type":"heartbeat","time":${time},"quiet":{`,
  entry: (sym: string, lastId: string | null): string => `${JSON.stringify(sym)}:${JSON.stringify(lastId)}`,
  tail: '}}',
} as const;

export function encodeHeartbeat(h: Heartbeat): string {
  return HEARTBEAT.head(h.time) + Object.entries(h.quiet).map(([sym, id]) => HEARTBEAT.entry(sym, id)).join(',') + HEARTBEAT.tail;
}

export function encodeError(e: ErrorReply): string {
  return JSON.stringify({ type: 'error', id: e.id, code: e.code, symbols: e.symbols, message: e.message });
}

export function encodeSnapshot(s: SnapshotFrame): string {
  return JSON.stringify({ type: 'snapshot', id: s.id ?? null, position: s.position, ticks: s.ticks });
}

export function encodeMode(m: ModeChange): string {
  return JSON.stringify({ type: 'mode', mode: m.mode, reason: m.reason });
}

export function encodeRefusal(r: RefusalBody): string {
  return JSON.stringify({ error: r.error, message: r.message });
}

function bad(message: string): FrameDecodeError {
  return new FrameDecodeError('BAD_JSON_FRAME', message);
}

/** A JSON object, from its text or as already parsed; throws FrameDecodeError otherwise. */
function asObject(input: string | object): Record<string, unknown> {
  let o: unknown = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch {
      throw bad('message is not valid JSON');
    }
  }
  if (typeof o !== 'object' || o === null) throw bad('message is not an object');
  return o as Record<string, unknown>;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function isId(v: unknown): v is number | string {
  return typeof v === 'number' || typeof v === 'string';
}

/** Parses an ack (its text, or the object already parsed from it). Throws FrameDecodeError. */
export function decodeAck(input: string | object): Ack {
  const o = asObject(input);
  const { id, op, symbols, time } = o;
  if (o.type !== 'ack' || !isId(id) || !OPS.includes(op)) throw bad('not an ack');
  const ack: Ack = { id, op: op as Ack['op'] };
  if (isStringArray(symbols)) ack.symbols = symbols;
  if (typeof time === 'number') ack.time = time;
  if (typeof o.maxRate === 'number') ack.maxRate = o.maxRate;
  if (o.delayed === true) ack.delayed = true;
  return ack;
}

/** Parses a heartbeat (its text, or the object already parsed from it). Throws FrameDecodeError. */
export function decodeHeartbeat(input: string | object): Heartbeat {
  const o = asObject(input);
  const { time, quiet } = o;
  if (o.type !== 'heartbeat' || typeof time !== 'number' || typeof quiet !== 'object' || quiet === null || Array.isArray(quiet)) {
    throw bad('not a heartbeat');
  }
  const out: Record<string, string | null> = {};
  for (const [sym, id] of Object.entries(quiet)) {
    if (!isValidSymbol(sym) || (id !== null && !isValidStreamId(id))) throw bad('heartbeat names an invalid symbol or id');
    out[sym] = id;
  }
  return { time, quiet: out };
}

/**
 * Parses an error message (its text, or the object already parsed from it); throws FrameDecodeError when it is not
 * one. Lenient past its type, as a client must be: a missing code reads as UNKNOWN, a missing message as a generic
 * one, strings that are not in `symbols` are skipped.
 */
export function decodeError(input: string | object): ErrorReply {
  const o = asObject(input);
  if (o.type !== 'error') throw bad('not an error message');
  const e: ErrorReply = { id: isId(o.id) ? o.id : null, code: String(o.code ?? 'UNKNOWN'), message: String(o.message ?? 'request failed') };
  if (Array.isArray(o.symbols)) e.symbols = o.symbols.filter((s): s is string => typeof s === 'string');
  return e;
}

/** Parses a snapshot frame (its text, or the object already parsed from it). Throws FrameDecodeError. */
export function decodeSnapshot(input: string | object): SnapshotFrame {
  const o = asObject(input);
  if (o.type !== 'snapshot' || !isValidStreamId(o.position) || !Array.isArray(o.ticks)) throw bad('not a snapshot frame');
  const ticks = o.ticks.map((raw: unknown): SnapshotTick => {
    const sym = (raw as Record<string, unknown> | null | undefined)?.sym;
    if (!isValidSymbol(sym)) throw bad('snapshot tick without a valid sym');
    const tick: SnapshotTick = { sym, ...decodeJsonTick(raw) };
    // The gateway writes a snapshot tick's extras under `extra` (a data frame's beside the known keys); both are read.
    const nested = (raw as Record<string, unknown>).extra;
    if (typeof nested === 'object' && nested !== null) {
      for (const [k, v] of Object.entries(nested)) if (!RESERVED_KEYS.has(k) && typeof v === 'string') (tick.extra ??= {})[k] = v;
    }
    return tick;
  });
  const frame: SnapshotFrame = { position: o.position, ticks };
  if (isId(o.id)) frame.id = o.id;
  return frame;
}

/** Parses a mode message (its text, or the object already parsed from it). Throws FrameDecodeError. */
export function decodeMode(input: string | object): ModeChange {
  const o = asObject(input);
  const mode = o.mode;
  if (o.type !== 'mode' || !(STREAM_MODES as readonly unknown[]).includes(mode)) throw bad('not a mode message');
  return { mode: mode as StreamMode, reason: typeof o.reason === 'string' ? o.reason : '' };
}

/** Parses the JSON body of a refused HTTP request. Throws FrameDecodeError. */
export function decodeRefusal(input: string | object): RefusalBody {
  const o = asObject(input);
  if (typeof o.error !== 'string' || (o.message !== undefined && typeof o.message !== 'string')) throw bad('not a refusal body');
  return o.message === undefined ? { error: o.error } : { error: o.error, message: o.message };
}

/**
 * Any message of this module, by its `type` (a body without one as a refusal). Data frames (`ticks`) are not
 * control messages: decode them with src/wire/frame.ts. Throws FrameDecodeError.
 */
export function decodeControl(input: string | object): ControlMessage {
  const o = asObject(input);
  switch (o.type) {
    case 'ack':
      return { type: 'ack', ...decodeAck(o) };
    case 'error':
      return { type: 'error', ...decodeError(o) };
    case 'snapshot':
      return { type: 'snapshot', ...decodeSnapshot(o) };
    case 'mode':
      return { type: 'mode', ...decodeMode(o) };
    case 'heartbeat':
      return { type: 'heartbeat', ...decodeHeartbeat(o) };
    case 'gap': {
      const loss = decodeGapMessage(o);
      if (loss === undefined) throw bad('not a gap message');
      return { type: 'gap', ...loss };
    }
    case undefined:
      return { type: 'refusal', ...decodeRefusal(o) };
    default:
      throw bad(`not a control message: type ${JSON.stringify(String(o.type).slice(0, 32))}`);
  }
}
