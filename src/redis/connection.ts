/**
 * Redis connections for ingest and the producer. node-redis v4 reconnects by itself with our capped backoff; the
 * offline queue is disabled so that during an outage commands fail at once instead of piling up in memory, and
 * the caller's own loop decides when to try again.
 *
 * node-redis v4 has no command timeout, and a Redis that stops answering without closing the socket (stopped,
 * partitioned) would hold a command forever: timedCommand gives each one a deadline.
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

export class RedisTimeoutError extends Error {
  readonly code = 'REDIS_COMMAND_TIMEOUT';
  constructor(command: string, ms: number) {
    super(`redis did not answer ${command} within ${ms} ms; reconnecting`);
    this.name = 'RedisTimeoutError';
  }
}

const resetting = new WeakSet<Redis>();

/**
 * Sends one command with a deadline. On timeout the connection is torn down and opened again: the command may
 * still be answered later, and on the same connection that late reply would be taken for the next command's.
 * Commands in flight on it fail; the caller's loop retries them.
 */
export function timedCommand<T>(client: Redis, args: string[], timeoutMs: number, log: Logger): Promise<T> {
  return withDeadline(client, client.sendCommand(args) as Promise<T>, args[0], timeoutMs, log);
}

/** `pending`: commands sent on `client` (one, or a pipeline awaited together), given one deadline. */
export function withDeadline<T>(client: Redis, pending: Promise<T>, what: string, timeoutMs: number, log: Logger): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new RedisTimeoutError(what, timeoutMs));
      resetConnection(client, log);
    }, timeoutMs);
  });
  // The race settles once; the loser's rejection (the command failing after the reset) must not go unhandled.
  pending.catch(() => undefined);
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}

function resetConnection(client: Redis, log: Logger): void {
  if (resetting.has(client) || !client.isOpen) return;
  resetting.add(client);
  log.warn('redis stopped answering: closing the connection and connecting again');
  void client.disconnect()
    .catch((err: Error) => log.warn({ err: err.message }, 'redis disconnect failed'))
    .finally(() => {
      resetting.delete(client);
      connectInBackground(client, log);
    });
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
