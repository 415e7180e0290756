/**
 * Client requests (protocol v1): the SDK writes them with encodeRequest, the gateway reads them with parseRequest.
 * Pure functions: the session decides what to do with a valid request, and every invalid one becomes a typed
 * RequestError that names the problem precisely.
 */
import { ErrorCode } from './codes';
import { isStreamIdSyntax, isValidStreamId, isValidSymbol, SYMBOL_MAX_LENGTH } from '../wire/tick';

export type RequestId = number | string | null;

export interface SubscribeRequest {
  op: 'subscribe';
  id: RequestId;
  symbols: string[];
  /** Send the latest tick of each symbol (without `since`) before live ticks. */
  snapshot: boolean;
  /** Resume positions: replay each symbol's ticks after this stream id. */
  since: Record<string, string>;
  /** At most this many data frames per second per symbol (tiers.ts rounds it down to a tier); undefined: every tick. */
  maxRate?: number;
  /** The delayed tier: every tick, each no sooner than the gateway's --delay-s after its id's time. */
  delayed: boolean;
}

export type Request =
  | SubscribeRequest
  | { op: 'unsubscribe'; id: RequestId; symbols: string[] }
  /** A fresh snapshot of symbols the connection already holds (after a gap announcement, src/protocol/gap.ts). */
  | { op: 'snapshot'; id: RequestId; symbols: string[] }
  | { op: 'ping' | 'subscriptions' | 'pause' | 'resume'; id: RequestId };

/** A request as a client writes it: a subscribe's `snapshot`, `since` and `delayed` may be left out. */
export type OutgoingRequest =
  | (Omit<SubscribeRequest, 'snapshot' | 'since' | 'delayed'> & Partial<Pick<SubscribeRequest, 'snapshot' | 'since' | 'delayed'>>)
  | Exclude<Request, SubscribeRequest>;

/**
 * The request's text frame, keys in the README's order (op, id, then the rest). What parseRequest would take as
 * its default is left out: a null id, `snapshot` and `delayed` false, an empty `since`, no `maxRate`.
 */
export function encodeRequest(req: OutgoingRequest): string {
  const { op, id, symbols, snapshot, since, maxRate, delayed }: RequestFields = req;
  return JSON.stringify({ op, id: id ?? undefined, symbols, snapshot: snapshot || undefined,
    since: since && Object.keys(since).length > 0 ? since : undefined, maxRate, delayed: delayed || undefined });
}

/** Every field a request can have, for reading any request alike. */
interface RequestFields {
  op: Request['op'];
  id: RequestId;
  symbols?: string[];
  snapshot?: boolean;
  since?: Record<string, string>;
  maxRate?: number;
  delayed?: boolean;
}

export class RequestError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly id: RequestId = null) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Ids are echoed back verbatim, so they are bounded: a number, or a string of at most 64 characters. */
function parseId(value: unknown): RequestId {
  if (value === undefined || value === null) return null;
  if (Number.isFinite(value)) return value as number;
  if (typeof value === 'string' && value.length <= 64) return value;
  throw new RequestError('BAD_REQUEST', '"id" must be a finite number or a string of at most 64 characters');
}

function parseSymbols(value: unknown, id: RequestId, maxSymbols: number): string[] {
  if (value === undefined) throw new RequestError('BAD_REQUEST', '"symbols" is required', id);
  if (!Array.isArray(value)) throw new RequestError('BAD_REQUEST', '"symbols" must be an array of strings', id);
  if (value.length === 0) throw new RequestError('BAD_REQUEST', '"symbols" must not be empty', id);
  // Checked before looking at the entries, so a 10,000-symbol request costs no per-symbol work.
  if (value.length > maxSymbols) {
    throw new RequestError('TOO_MANY_SYMBOLS', `at most ${maxSymbols} symbols per connection, request has ${value.length}`, id);
  }
  const unique = new Set<string>();
  for (const s of value) {
    if (!isValidSymbol(s)) {
      const shown = typeof s === 'string' ? JSON.stringify(s.slice(0, SYMBOL_MAX_LENGTH + 8)) : typeof s;
      throw new RequestError('INVALID_SYMBOL', `invalid symbol ${shown}`, id);
    }
    unique.add(s);
  }
  return [...unique];
}

function parseSince(value: unknown, symbols: string[], id: RequestId): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError('BAD_REQUEST', '"since" must be an object of symbol → stream id', id);
  }
  const since: Record<string, string> = {};
  for (const [sym, pos] of Object.entries(value)) {
    if (!symbols.includes(sym)) throw new RequestError('BAD_REQUEST', `"since" names ${JSON.stringify(sym.slice(0, 40))}, which is not in "symbols"`, id);
    if (!isStreamIdSyntax(pos)) throw new RequestError('BAD_REQUEST', `"since" position for ${sym} must be a stream id like "1732480000000-5"`, id);
    if (!isValidStreamId(pos)) throw new RequestError('BAD_REQUEST', `"since" position for ${sym} has a part above 2^64-1, beyond any stream id`, id);
    since[sym] = pos;
  }
  return since;
}

/** Rounded down to a tier by tiers.ts; below 1 frame per second is no tier at all. */
function parseMaxRate(value: unknown, id: RequestId): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw new RequestError('BAD_REQUEST', '"maxRate" must be a number of data frames per second per symbol, at least 1', id);
  }
  return value;
}

/** `text` is one client text frame. */
export function parseRequest(text: string, maxSymbols: number): Request {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RequestError('BAD_REQUEST', 'request is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new RequestError('BAD_REQUEST', 'request must be a JSON object');
  }
  const o = raw as Record<string, unknown>;
  const id = parseId(o.id);
  switch (o.op) {
    case 'subscribe': {
      const symbols = parseSymbols(o.symbols, id, maxSymbols);
      if (o.snapshot !== undefined && typeof o.snapshot !== 'boolean') throw new RequestError('BAD_REQUEST', '"snapshot" must be true or false', id);
      if (o.delayed !== undefined && typeof o.delayed !== 'boolean') throw new RequestError('BAD_REQUEST', '"delayed" must be true or false', id);
      const maxRate = parseMaxRate(o.maxRate, id);
      const req: SubscribeRequest = { op: 'subscribe', id, symbols, snapshot: o.snapshot === true, since: parseSince(o.since, symbols, id), delayed: o.delayed === true };
      if (maxRate !== undefined) req.maxRate = maxRate;
      return req;
    }
    case 'unsubscribe':
    case 'snapshot':
      return { op: o.op, id, symbols: parseSymbols(o.symbols, id, maxSymbols) };
    case 'ping':
    case 'subscriptions':
    case 'pause':
    case 'resume':
      return { op: o.op, id };
    case undefined:
      throw new RequestError('BAD_REQUEST', '"op" is required', id);
    default:
      throw new RequestError('UNKNOWN_OP', `unknown op ${JSON.stringify(String(o.op).slice(0, 32))}`, id);
  }
}
