/**
 * The SDK for browsers, bundled to dist/client/tickgate-client.mjs by build-browser.ts (and by pack-sdk.ts to the
 * tickgate-client package's dist/browser.mjs). Uses the native WebSocket and the pure-JS LZ4 decoder: nothing from
 * Node (no `ws`, no lz4-napi) may be reachable from this entry.
 */
import { ClientOptions, TickgateClient, WebSocketConstructor } from './client';

export { TickgateClient } from './client';
export type { ClientOptions, ClientEvents, GapEvent, SubscribeOptions, WebSocketConstructor, WebSocketLike } from './client';
export type { Heartbeat, ModeChange, SnapshotFrame, SnapshotTick, StreamMode } from '../protocol/messages';
export type { RateTier, Tier } from '../protocol/tiers';
export type { TierOptions } from './tiers';
export { TickgateError } from './errors';
export type { ClientErrorCode } from './errors';
export { decodeFrame } from '../wire/frame';
export { FrameDecodeError } from '../wire/errors';
export type { DataFrame, FrameKind, Tick } from '../wire/tick';

/**
 * Opens a connection (and keeps it open, reconnecting) to `urls`: one gateway URL, e.g.
 * `wss://ticks.example.com/v1/stream` (a load balancer's), or an array of gateway URLs that reconnects go through in
 * turn. Throws a TickgateError INVALID_URL for an empty list or an entry that is not ws:// or wss://.
 */
export function connect(urls: string | readonly string[], options: ClientOptions & { WebSocket?: WebSocketConstructor } = {}): TickgateClient {
  const impl = options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
  if (!impl) throw new TypeError('no WebSocket implementation: pass options.WebSocket');
  return new TickgateClient(urls, impl, options);
}
