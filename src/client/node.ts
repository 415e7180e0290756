/** The SDK for Node: `connect` uses the `ws` package. */
import WebSocket from 'ws';
import { ClientOptions, TickgateClient, WebSocketConstructor } from './client';

export { TickgateClient } from './client';
export type { ClientOptions, ClientEvents, GapEvent, SubscribeOptions, WebSocketConstructor, WebSocketLike } from './client';
export type { ModeChange, SnapshotFrame, SnapshotTick, StreamMode } from '../protocol/messages';
export { TickgateError } from './errors';
export type { ClientErrorCode } from './errors';
export { decodeFrame } from '../wire/frame';
export { FrameDecodeError } from '../wire/errors';
export type { DataFrame, FrameKind, Tick } from '../wire/tick';

/** Opens a connection (and keeps it open, reconnecting) to `url`, e.g. `ws://localhost:8080/v1/stream`. */
export function connect(url: string, options: ClientOptions & { WebSocket?: WebSocketConstructor } = {}): TickgateClient {
  return new TickgateClient(url, options.WebSocket ?? (WebSocket as unknown as WebSocketConstructor), options);
}
