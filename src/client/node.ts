/**
 * The SDK for Node: `connect` uses the global WebSocket where there is one (Node 22+), else the `ws` package. `ws`
 * is required only then, so the tickgate-client package can list it as an optional dependency that Node 22+ and
 * bundles for browsers do without.
 */
import { connect as connectWith } from './browser';
import type { ClientOptions, TickgateClient, WebSocketConstructor } from './client';

// Everything the browser entry exports, with `connect` replaced by the one below (a local export wins over `export *`).
export * from './browser';

/**
 * Opens a connection (and keeps it open, reconnecting) to `urls`: one gateway URL, e.g.
 * `ws://localhost:9001/v1/stream`, or an array of gateway URLs that reconnects go through in turn (see the browser
 * entry's connect, which this one calls).
 */
export function connect(urls: string | readonly string[], options: ClientOptions & { WebSocket?: WebSocketConstructor } = {}): TickgateClient {
  const WebSocket = options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined)
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when needed: `ws` is optional
    ?? (require('ws') as { WebSocket: WebSocketConstructor }).WebSocket;
  return connectWith(urls, { ...options, WebSocket });
}
