/**
 * Loads uWebSockets.js, the only WebSocket server tickgate runs on. There is deliberately no JavaScript fallback:
 * a gateway that silently ran on a slower stack would miss its latency budget without anyone knowing.
 */
import type * as UWS from 'uWebSockets.js';

export type Uws = typeof UWS;

export class NativeAddonError extends Error {
  readonly code = 'UWS_LOAD_FAILED';
  constructor(cause: unknown) {
    super(
      'uWebSockets.js could not load its native addon for this platform ' +
        `(node ${process.versions.node}, ${process.platform}-${process.arch}, ABI ${process.versions.modules}). ` +
        'tickgate needs it and has no fallback. Reinstall with `npm ci`, or point the "uWebSockets.js" alias in ' +
        'package.json at a release built for this platform (see README, "uWebSockets.js"). Cause: ' +
        (cause instanceof Error ? cause.message.split('\n')[0] : String(cause)),
    );
    this.name = 'NativeAddonError';
  }
}

let loaded: Uws | undefined;

export function loadUws(): Uws {
  if (loaded) return loaded;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('uWebSockets.js') as Uws;
  } catch (err) {
    throw new NativeAddonError(err);
  }
  return loaded;
}
