/**
 * Every error and close code a client can see, in one table (after centrifuge): the code tells a client what to do.
 *
 * Request errors are in-band `{"type":"error"}` messages; the connection stays open.
 * Close codes come in ranges a client can act on without knowing every code:
 *   1000–1015  standard WebSocket codes (1001: server going away, reconnect with backoff)
 *   4000–4499  transient: reconnect with backoff
 *   4500–4999  permanent: do not reconnect until the cause is fixed (credentials, entitlements, client bug)
 *
 * Browser-safe: the client SDK imports this table.
 */

export const ERROR_CODES = {
  BAD_REQUEST: 'the request is not a JSON object of the protocol, or a field has the wrong type',
  UNKNOWN_OP: 'the op is not one of subscribe, unsubscribe, snapshot, ping, subscriptions, pause, resume',
  INVALID_SYMBOL: 'a symbol is not 1–32 characters of letters, digits and . _ - : / starting with a letter or digit',
  TOO_MANY_SYMBOLS: 'the request or the connection would exceed the per-connection symbol limit',
  RATE_LIMITED: 'too many requests per second on this connection; the request was not processed',
  UNSUPPORTED_FRAME: 'requests are text frames; binary frames are not accepted',
  UNAUTHORIZED: 'missing or invalid credentials',
  FORBIDDEN: 'not entitled to a requested symbol',
  CAPACITY_EXCEEDED: 'the gateway cannot track more topics right now; nothing was subscribed; retry later',
  RESUME_UNAVAILABLE: 'the requested resume position cannot be replayed (too old, across a removal, over budget, or in the future); a snapshot follows',
  INTERNAL: 'the gateway failed to process the request; retry later',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export const CLOSE_CODES = {
  NORMAL: 1000,
  /** Server shutdown or restart: reconnect with backoff. */
  GOING_AWAY: 1001,
  /** A frame above the payload limit. A client that keeps sending it is buggy, hence no automatic retry. */
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 4000,
  SLOW_CONSUMER: 4001,
  /** Kept sending after many RATE_LIMITED errors. */
  FLOODING: 4002,
  MAX_LIFETIME: 4004,
  TOKEN_EXPIRED: 4005,
  TOO_MANY_CONNECTIONS: 4006,
  UNAUTHORIZED: 4501,
  FORBIDDEN: 4502,
} as const;
export type CloseCodeName = keyof typeof CLOSE_CODES;

/**
 * Request errors that say "not now" rather than "never": the same request may succeed after a backoff. The SDK
 * reconnects (and so resubscribes) when the resubscription it sends on a new connection fails with one of these.
 */
export function isTransientError(code: string): boolean {
  return code === 'INTERNAL' || code === 'CAPACITY_EXCEEDED' || code === 'RATE_LIMITED';
}

/** Whether a client should reconnect after the server closed with `code`. One rule, used by the SDK. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4500 && code <= 4999) return false;
  return code !== CLOSE_CODES.NORMAL && code !== CLOSE_CODES.MESSAGE_TOO_BIG;
}
