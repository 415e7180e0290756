/**
 * Parses and validates client requests. Pure functions: the session decides what to do with a valid request, and
 * every invalid one becomes a typed RequestError that names the problem precisely.
 */
import { ErrorCode } from './codes';
import { isValidSymbol, SYMBOL_MAX_LENGTH } from '../wire/tick';

export type RequestId = number | string | null;

export type Request =
  | { op: 'subscribe'; id: RequestId; symbols: string[] }
  | { op: 'unsubscribe'; id: RequestId; symbols: string[] }
  | { op: 'ping'; id: RequestId }
  | { op: 'subscriptions'; id: RequestId };

export class RequestError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly id: RequestId = null) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Ids are echoed back verbatim, so they are bounded: a number, or a string of at most 64 characters. */
function parseId(value: unknown): RequestId {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
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
    case 'subscribe':
    case 'unsubscribe':
      return { op: o.op, id, symbols: parseSymbols(o.symbols, id, maxSymbols) };
    case 'ping':
    case 'subscriptions':
      return { op: o.op, id };
    case undefined:
      throw new RequestError('BAD_REQUEST', '"op" is required', id);
    default:
      throw new RequestError('UNKNOWN_OP', `unknown op ${JSON.stringify(String(o.op).slice(0, 32))}`, id);
  }
}
