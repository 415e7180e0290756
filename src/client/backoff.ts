/** Reconnect delays: exponential, capped, with jitter so that clients dropped together do not return together. */

export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  initialDelayMs: number;
  /** Upper bound of any delay, ms. */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 250, maxDelayMs: 30_000 };

/**
 * Delay before retry number `attempt` (0-based): "equal jitter", uniformly in [cap/2, cap] where
 * cap = min(max, initial·2^attempt), so the delay still grows while no two clients pick the same one.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt, 30));
  return cap / 2 + random() * (cap / 2);
}

/**
 * Delay before reconnect number `attempt` (0-based: the connections that failed since the last one that restored its
 * subscriptions) when the client tries `urlCount` gateways in turn. The backoff steps once per full round of URLs
 * that all failed, not once per URL: every URL of a round is tried after the same short delay, so a dead instance
 * costs its clients one initial delay before the next instance, while a fleet that is down as a whole is retried
 * ever more slowly, up to the cap. With one URL (or one load-balanced URL) this is backoffDelay(attempt).
 */
export function reconnectDelay(attempt: number, urlCount: number, options: BackoffOptions, random: () => number = Math.random): number {
  return backoffDelay(Math.floor(attempt / urlCount), options, random);
}
