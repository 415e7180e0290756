/**
 * Redis connections for ingest and the producer. node-redis v4 reconnects by itself with our capped backoff; the
 * offline queue is disabled so that during an outage commands fail at once instead of piling up in memory, and
 * the caller's own loop decides when to try again.
 */
import { createClient } from 'redis';
import { Logger, onceEvery } from '../log';

export type Redis = ReturnType<typeof createClient>;

export interface RedisOptions {
  url: string;
  name: string;
  backoffMaxMs: number;
  log: Logger;
  onReconnecting?: () => void;
}

export function backoffMs(attempt: number, maxMs: number): number {
  return Math.min(maxMs, 50 * 2 ** Math.min(attempt, 16));
}

export function createRedis(opts: RedisOptions): Redis {
  const client = createClient({
    url: opts.url,
    name: opts.name,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => backoffMs(retries, opts.backoffMaxMs), connectTimeout: 5000 },
  });
  const logError = onceEvery(5000);
  // Without a listener node-redis would rethrow socket errors as uncaught exceptions.
  client.on('error', (err: Error) =>
    logError(err.message, (suppressed) => opts.log.warn({ client: opts.name, err: err.message, suppressed }, 'redis connection error')));
  client.on('reconnecting', () => opts.onReconnecting?.());
  return client;
}

/** Starts connecting without waiting: node-redis keeps retrying in the background, and readiness is observed. */
export function connectInBackground(client: Redis, log: Logger): void {
  client.connect().catch((err: Error) => log.error({ err: err.message }, 'redis connect gave up'));
}

/** quit() waits for a reply that never comes from a Redis that is gone; disconnect() does not wait. */
export async function closeRedis(client: Redis): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) await client.quit();
  else await client.disconnect();
}
