/**
 * The tick model shared by ingest, every wire codec and the client SDK.
 *
 * Prices and sizes stay decimal strings end to end: a trader must see "101.250" exactly as the producer wrote it,
 * and a float round trip cannot promise that. Codecs that want numbers (the binary format) convert losslessly to a
 * scaled integer and back.
 *
 * This module is imported by the browser SDK: no Node-only APIs here.
 */

export type Side = 'buy' | 'sell';

export interface Tick {
  /** Redis stream entry id, `<ms>-<seq>`; the tick's identity and its resume position. */
  id: string;
  /** Producer time, milliseconds since the epoch. */
  ts: number;
  px: string;
  sz: string;
  bid?: string;
  ask?: string;
  bsz?: string;
  asz?: string;
  side?: Side;
  /** Stream fields tickgate does not know: carried by JSON, ignored by the binary format. */
  extra?: Record<string, string>;
}

/** live: published as it happened; replay: re-sent after a resume; conflated: only the latest tick (slow client). */
export type FrameKind = 'live' | 'replay' | 'conflated';

/** Every tick of one symbol from one read, in stream order: the unit that is encoded once and published once. */
export interface TickBatch {
  sym: string;
  ticks: Tick[];
  /**
   * Id of the symbol's tick published just before this batch's first: lets a client detect a gap. Absent (or empty)
   * when the gateway has published no earlier tick of the symbol.
   */
  prev?: string;
}

/** Frame kinds by their wire number (binary frame header flag bits 2–3); 3 is reserved. */
export const FRAME_KINDS: readonly FrameKind[] = ['live', 'replay', 'conflated'];

/** A decoded data frame, as a client sees it. `prev` is present only when the frame carried one. */
export interface DataFrame extends TickBatch {
  /** Gateway send time, milliseconds since the epoch. */
  sent: number;
  /**
   * `live` (the normal flow), `replay` (a resume: ticks after the requested `since` id, `prev` = that id) or
   * `conflated` (slow-consumer mode: only the latest tick; the range (prev, ticks[0].id] was skipped on purpose).
   */
  kind: FrameKind;
}

export const SYMBOL_MAX_LENGTH = 32;
/** Letters, digits and `. _ - : /`, starting with a letter or digit: covers `BTC-USD`, `ES.Z5`, `EUR/USD`. */
export const SYMBOL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,31}$/;

export function isValidSymbol(value: unknown): value is string {
  return typeof value === 'string' && SYMBOL_PATTERN.test(value);
}

/** A plain decimal: optional minus, digits, optional fraction. No exponent, no NaN, no spaces. */
export const DECIMAL_PATTERN = /^-?\d{1,18}(\.\d{1,18})?$/;

export function isValidDecimal(value: unknown): value is string {
  return typeof value === 'string' && DECIMAL_PATTERN.test(value);
}

/** Canonical `<ms>-<seq>`: decimal digits without leading zeros, as Redis writes ids (clients compare them as strings). */
const STREAM_ID_SYNTAX = /^(?:0|[1-9][0-9]*)-(?:0|[1-9][0-9]*)$/;
/** 2^64-1: Redis stream ids are two unsigned 64-bit integers. */
export const STREAM_ID_PART_MAX = '18446744073709551615';

/** Whether `value` is written like a stream id, whatever its size (isValidStreamId also checks the range). */
export function isStreamIdSyntax(value: unknown): value is string {
  return typeof value === 'string' && STREAM_ID_SYNTAX.test(value);
}

/** Canonical digits of at most 2^64-1: equal lengths compare as strings, so no BigInt. */
function partInRange(id: string, start: number, end: number): boolean {
  const len = end - start;
  return len < STREAM_ID_PART_MAX.length || (len === STREAM_ID_PART_MAX.length && id.slice(start, end) <= STREAM_ID_PART_MAX);
}

/** A stream id Redis can hold: canonical `<ms>-<seq>`, each part in 0..2^64-1. */
export function isValidStreamId(value: unknown): value is string {
  if (!isStreamIdSyntax(value)) return false;
  const dash = value.indexOf('-');
  return partInRange(value, 0, dash) && partInRange(value, dash + 1, value.length);
}

/** The keys a data frame owns (json.ts). */
const FRAME_KEYS = ['type', 'sym', 'sent', 'prev', 'kind', 'ticks'] as const;
/** The keys a tick owns: its identity and the fields tickgate knows. */
const TICK_KEYS = ['id', 'ts', 'px', 'sz', 'bid', 'ask', 'bsz', 'asz', 'side'] as const;
/** Keys of the other server messages that carry ticks or stream positions (snapshot, gap: src/protocol/gap.ts). */
const MESSAGE_KEYS = ['position', 'stream', 'after', 'through', 'reason'] as const;

/**
 * Names a pass-through (`extra`) field can never have, so that no producer field can change what a client reads as
 * a frame's or a tick's identity: ingest rejects such an entry (`reserved_field`) and decoders never read one into
 * `extra`. `extra` itself is here because a snapshot tick carries its extras under that key.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set<string>([...FRAME_KEYS, ...TICK_KEYS, ...MESSAGE_KEYS, 'extra']);

/**
 * Orders two stream ids (-1, 0 or 1), the one comparator of the gateway and the SDK. Ids are canonical, as Redis
 * writes them and isValidStreamId admits them, so a longer part is the larger number and parts of equal length
 * compare digit by digit: no BigInt, which matters because the fan-out compares once per tick. '' (no id yet)
 * orders before every id.
 */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  if (da !== db) return da < db ? -1 : 1;
  for (let i = 0; i < da; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  // Equal `<ms>-`: the longer sequence is the larger, and sequences of one length compare as strings.
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : 1;
}
