/**
 * Every error, close and refusal a client can see, in one table (after centrifuge): each is one value that tells a
 * client what happened and what to do, and the server and the SDK both read it from here.
 *
 * Request errors are in-band `{"type":"error"}` messages; the connection stays open.
 * Close codes come in ranges a client can act on without knowing every code:
 *   1000–1015  standard WebSocket codes (1001: server going away, reconnect with backoff)
 *   4000–4499  transient: reconnect with backoff
 *   4500–4999  permanent: do not reconnect until the cause is fixed (credentials, entitlements, client bug)
 * Refusals are HTTP answers to an upgrade (or a path) the gateway will not serve: no WebSocket is opened.
 *
 * Browser-safe: the client SDK imports this table.
 */

/** An in-band request error: what it means, and whether the same request may succeed after a backoff. */
export interface ErrorDef {
  readonly meaning: string;
  readonly retry: boolean;
}

export const ERROR_CODES = {
  BAD_REQUEST: { meaning: 'the request is not a JSON object of the protocol, or a field has the wrong type', retry: false },
  UNKNOWN_OP: { meaning: 'the op is not one of subscribe, unsubscribe, snapshot, ping, subscriptions, pause, resume', retry: false },
  INVALID_SYMBOL: { meaning: 'a symbol is not 1–32 characters of letters, digits and . _ - : / starting with a letter or digit', retry: false },
  TOO_MANY_SYMBOLS: { meaning: 'the request or the connection would exceed the per-connection symbol limit', retry: false },
  RATE_LIMITED: { meaning: 'too many requests per second on this connection; the request was not processed', retry: true },
  UNSUPPORTED_FRAME: { meaning: 'requests are text frames; binary frames are not accepted', retry: false },
  UNAUTHORIZED: { meaning: 'missing or invalid credentials', retry: false },
  FORBIDDEN: { meaning: 'not entitled to a requested symbol', retry: false },
  CAPACITY_EXCEEDED: { meaning: 'the gateway cannot track more topics right now; nothing was subscribed; retry later', retry: true },
  RESUME_UNAVAILABLE: {
    meaning: 'the requested resume position cannot be replayed (too old, across a removal, over budget, or in the future); a snapshot follows',
    retry: false,
  },
  INTERNAL: { meaning: 'the gateway failed to process the request; retry later', retry: true },
} as const satisfies Record<string, ErrorDef>;
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Request errors that say "not now" rather than "never": the same request may succeed after a backoff. The SDK
 * reconnects (and so resubscribes) when the resubscription it sends on a new connection fails with one of these.
 */
export function isTransientError(code: string): boolean {
  return Object.hasOwn(ERROR_CODES, code) && ERROR_CODES[code as ErrorCode].retry;
}

/**
 * One way the gateway (or the SDK) ends a connection. `reason` writes the close frame's reason text from the details
 * the closing site knows; it is bounded well below the 123 bytes a close frame can carry.
 */
export interface Close {
  readonly code: number;
  readonly reason: (...details: never) => string;
  /** Whether a client should reconnect (with backoff) after it. */
  readonly reconnect: boolean;
  /**
   * Reconnect at once, to another gateway URL when it has several, with no backoff: the instance is healthy but
   * leaving (a drain), and every other one can serve the resume now.
   */
  readonly immediate?: boolean;
}

export const CLOSES = {
  /** The client's own close() (the SDK's), or a clean end: nothing to recover. */
  NORMAL: { code: 1000, reason: () => '', reconnect: false },
  /** Server shutdown (or a start that failed half-way): reconnect with backoff. */
  GOING_AWAY: {
    code: 1001, reconnect: true,
    reason: (failedToStart = false) => (failedToStart ? 'gateway failed to start' : 'server shutting down'),
  },
  /** A frame above the payload limit. A client that keeps sending it is buggy, hence no automatic retry. */
  MESSAGE_TOO_BIG: {
    code: 1009, reconnect: false,
    reason: (bytes: number, limit: number) => `frame of ${bytes} bytes exceeds the ${limit}-byte limit`,
  },
  /** One worker thread restarting (SIGUSR2): its clients reconnect to the others or to it. */
  SERVICE_RESTART: { code: 1012, reason: () => 'worker restarting; reconnect', reconnect: true },
  /** The SDK's own close when its resubscription failed for a reason that may pass. */
  INTERNAL_ERROR: { code: 4000, reason: () => 'resubscription failed; reconnecting', reconnect: true },
  /** Send buffer over the limit (a dropped frame), or `sustained` above it at the bottom of the slow-consumer ladder. */
  SLOW_CONSUMER: {
    code: 4001, reconnect: true,
    reason: (sustained: boolean) => `client too slow: send buffer ${sustained ? 'stayed above' : 'over'} limit`,
  },
  /** Kept sending after many RATE_LIMITED errors. */
  FLOODING: {
    code: 4002, reconnect: true,
    reason: (refused: number, windowMs: number) => `more than ${refused} RATE_LIMITED requests within ${windowMs / 1000} s`,
  },
  MAX_LIFETIME: { code: 4004, reason: () => 'connection reached its maximum lifetime; reconnect', reconnect: true },
  TOKEN_EXPIRED: { code: 4005, reason: () => 'token expired; reconnect with a fresh one', reconnect: true },
  TOO_MANY_CONNECTIONS: { code: 4006, reason: () => 'gateway at its connection capacity; retry with backoff', reconnect: true },
  /** SIGTERM (a rolling deploy): this instance is draining; go to another one now and resume with `since`. */
  DRAINING: { code: 4007, reason: () => 'gateway draining; reconnect to another instance now', reconnect: true, immediate: true },
  /** Reserved, not sent today: a bad token is refused at the upgrade (REFUSALS). */
  UNAUTHORIZED: { code: 4501, reason: () => 'unauthorized', reconnect: false },
  /** Reserved, not sent today: a symbol outside the entitlements is the in-band FORBIDDEN error. */
  FORBIDDEN: { code: 4502, reason: () => 'forbidden', reconnect: false },
} as const satisfies Record<string, Close>;
export type CloseName = keyof typeof CLOSES;
/** The details a close's reason is written from. */
export type CloseDetails<C extends CloseName> = Parameters<(typeof CLOSES)[C]['reason']>;

/** Name → code, for tables and labels. */
export const CLOSE_CODES = Object.fromEntries(Object.entries(CLOSES).map(([name, c]) => [name, c.code])) as
  { readonly [K in CloseName]: (typeof CLOSES)[K]['code'] };

const NAME_BY_CODE = new Map<number, CloseName>(Object.entries(CLOSES).map(([name, c]) => [c.code, name as CloseName]));

/** The table's name of a close code; undefined for codes the gateway never sends (1005, 1006, a peer's own). */
export function closeName(code: number): CloseName | undefined {
  return NAME_BY_CODE.get(code);
}

/**
 * Whether a client should reconnect after the connection closed with `code`. One rule, used by the SDK: the table's
 * answer for a code in it, else the code's range (4500–4999 permanent; anything else, 1006 included, transient).
 */
export function shouldReconnect(code: number): boolean {
  const name = closeName(code);
  if (name !== undefined) return CLOSES[name].reconnect;
  return code < 4500 || code > 4999;
}

/** Whether a client should reconnect at once, without backoff, after `code` (a drain: see CLOSES.DRAINING). */
export function reconnectsAtOnce(code: number): boolean {
  const name = closeName(code);
  return name !== undefined && (CLOSES[name] as Close).immediate === true;
}

/**
 * One way the gateway answers an HTTP request with an error instead of serving it: the status, the body's
 * `error`, and the `reason` label of tickgate_upgrades_rejected_total (undefined: not counted there). `message`
 * writes the body's `message` from the details the refusing site knows.
 */
export interface Refusal {
  readonly status: string;
  readonly error: string;
  readonly label: string | undefined;
  readonly message: ((...details: never) => string) | undefined;
}

/** In the order the upgrade checks them. */
export const REFUSALS = {
  DESCRIPTORS: {
    status: '503 Service Unavailable', error: 'TOO_MANY_CONNECTIONS', label: 'descriptors',
    message: () => 'gateway near its file-descriptor limit; retry with backoff',
  },
  BAD_FORMAT: { status: '400 Bad Request', error: 'BAD_REQUEST', label: 'bad_format', message: (problem: string) => problem },
  ORIGIN: {
    status: '403 Forbidden', error: 'FORBIDDEN', label: 'origin',
    message: (origin: string) => `origin ${JSON.stringify(origin.slice(0, 100))} is not allowed`,
  },
  NO_TOKEN: {
    status: '401 Unauthorized', error: 'UNAUTHORIZED', label: 'auth',
    message: () => 'missing token: send "Authorization: Bearer <jwt>" or ?token=<jwt>',
  },
  BAD_TOKEN: { status: '401 Unauthorized', error: 'UNAUTHORIZED', label: 'auth', message: (why: string) => why },
  CAPACITY: {
    status: '503 Service Unavailable', error: 'TOO_MANY_CONNECTIONS', label: 'capacity',
    message: () => 'gateway at its connection capacity; retry with backoff',
  },
  PER_IP: {
    status: '429 Too Many Requests', error: 'TOO_MANY_CONNECTIONS', label: 'per_ip',
    message: (max: number, ip: string) => `more than ${max} connections from ${ip}`,
  },
  /** Any path the gateway does not serve; the body has no message. */
  NOT_FOUND: { status: '404 Not Found', error: 'NOT_FOUND', label: undefined, message: undefined },
} as const satisfies Record<string, Refusal>;
export type RefusalName = keyof typeof REFUSALS;
/** The refusals of an upgrade to /v1/stream: each counted under its label. */
export type UpgradeRefusal = Exclude<RefusalName, 'NOT_FOUND'>;
/** The details a refusal's message is written from. */
export type RefusalDetails<N extends UpgradeRefusal> = Parameters<(typeof REFUSALS)[N]['message']>;
