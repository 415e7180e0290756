/**
 * What a worker holds per connection: the session's state and fields, on the socket's user data. Kept apart from
 * the request handler (session.ts) so the subscription views (subscriptions.ts) and the slow-consumer ladder read
 * it without importing the handler.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { StreamMode } from '../protocol/messages';
import type { Request } from '../protocol/requests';
import type { FormatName } from '../wire/formats';
import type { Tier } from '../protocol/tiers';
import type { Entitlements } from './auth';
import { Bucket, FloodWindow, newBucket } from './rate-limit';

/** Where a session is in its life; one at a time. */
export enum SessionState {
  /** Requests are handled as they arrive; the slow-consumer ladder watches the socket. */
  Open = 'open',
  /** A snapshot or resume is in flight: later requests wait in `queued`, so replies keep the requests' order. */
  CatchingUp = 'catching-up',
  /** The client paused: no data, and nothing counted in the registry for it, until it resumes. */
  Paused = 'paused',
  /** The socket is gone: an answer still in flight is dropped. */
  Closed = 'closed',
}

export interface SessionData extends FloodWindow {
  id: number;
  format: FormatName;
  ip: string;
  connectedAt: number;
  entitlements: Entitlements | undefined;
  state: SessionState;
  /**
   * What the client subscribed to, each symbol with its tier (see subscriptions.ts for the other two views). Every
   * topic of the session is its symbol's tier topic, `tierTopic(format, sym, tier)`.
   */
  symbols: Map<string, Tier>;
  bucket: Bucket;
  /** Requests that arrived while catching up, in order. */
  queued: Request[] | undefined;
  /**
   * Symbols counted in the registry (on the topic of the tier given) for an in-flight catch-up, not yet in `symbols`
   * with that tier. NOTHING_RESERVED otherwise.
   */
  reserved: Map<string, Tier>;
  /**
   * Slow-consumer ladder state, created the first time the client backs up and dropped when it is back at full
   * rate: most connections never need it, and every field on this object costs memory on each of them.
   */
  ladder: LadderState | undefined;
}

export interface LadderState {
  mode: StreamMode;
  aboveSince: number;
  belowSince: number;
  conflatedAt: number;
  /** In conflated mode: the last id sent per symbol, so each conflated frame states the range it covers. */
  lastSent: Map<string, string>;
}

/** Whether the socket is subscribed to its live topics: not while the ladder has it degraded. */
export function isFullRate(s: SessionData): boolean {
  return s.ladder === undefined || s.ladder.mode === 'full';
}

/**
 * The `reserved` of a session without a catch-up in flight, shared by all of them: never written to (reserve()
 * assigns a map of its own, add() only deletes what it holds).
 */
export const NOTHING_RESERVED: Map<string, Tier> = new Map();

export function newSessionData(id: number, format: FormatName, ip: string, limits: { rateBurst: number },
  entitlements: Entitlements | undefined): SessionData {
  const now = Date.now();
  return {
    id, format, ip, connectedAt: now, entitlements, state: SessionState.Open, symbols: new Map(), bucket: newBucket(limits.rateBurst, now),
    floodOpenedAt: -Infinity, floodRefused: 0, queued: undefined, reserved: NOTHING_RESERVED, ladder: undefined,
  };
}

/**
 * The socket's user data is one property holding the session. Measured with 5,000 idle subscribed connections
 * (one worker): with the session's fields on the user data itself and the ladder state inline, 5.6 KB of RSS per
 * connection; with the ladder state created on demand and this one-property holder, 4.0 KB.
 */
export interface SocketData {
  session: SessionData;
}

export type Socket = WebSocket<SocketData>;
