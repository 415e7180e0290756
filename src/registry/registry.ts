/**
 * The connection registry contract: which sessions exist, and how many subscribers each topic has.
 *
 * Implemented by `SharedRegistry` over shared memory, read and written by several threads without locks. The
 * ingest path asks `subscriberCount` to skip encoding for topics nobody listens to, so that call must be fast and
 * must not allocate.
 *
 * A session's own list of topics lives with the session (its socket's user data); the registry only counts. A
 * session must remove each of its subscriptions before `closeSession`, and the server does so on every close,
 * clean or not.
 */

export interface SessionInfo {
  workerId: number;
  subscriptions: number;
  connectedAt: number;
}

export interface RegistryStats {
  sessions: number;
  subscriptions: number;
  /** Topics with at least one subscriber. */
  activeTopics: number;
}

export interface ConnectionRegistry {
  /** Throws RegistryFullError when there is no room; never overwrites another session. */
  openSession(sessionId: number, workerId: number, connectedAt: number): void;
  closeSession(sessionId: number): void;
  /** Counts one more subscriber on `topic` for this session. The caller guarantees it was not subscribed yet. */
  addSubscription(sessionId: number, topic: string): void;
  /** The inverse of addSubscription; the caller guarantees it was subscribed. */
  removeSubscription(sessionId: number, topic: string): void;
  /** Hot path: no allocation, no I/O. */
  subscriberCount(topic: string): number;
  session(sessionId: number): SessionInfo | undefined;
  stats(): RegistryStats;
}

export class RegistryFullError extends Error {
  readonly code = 'REGISTRY_FULL';
  constructor(what: string, capacity: number) {
    super(`connection registry is full: ${what} table holds at most ${capacity} entries`);
    this.name = 'RegistryFullError';
  }
}
