/**
 * A session's subscriptions, in three views kept consistent here and nowhere else:
 * - `symbols`: what the client subscribed to;
 * - the registry: what the fan-out must publish to this worker (symbols, unless paused, plus the ones `reserved`
 *   for a catch-up in flight);
 * - the socket's uWS topics: what reaches the client live (symbols, when neither paused nor degraded by the
 *   slow-consumer ladder).
 *
 * The request handler (session.ts) and the ladder (slow-consumers.ts) change them only through these functions.
 * They read the session's state and never set it: that is the handler's.
 */
import { ConnectionRegistry, RegistryFullError } from '../registry/registry';
import { topicFor } from '../wire/formats';
import { isFullRate, NONE, SessionData, SessionState, Socket } from './session-data';

/**
 * Counts `syms` in the registry, all or none: false (nothing counted) when it is full, since a client must never
 * hold half of what it asked for without knowing which half. They stay `reserved` until add() or release().
 */
export function reserve(registry: ConnectionRegistry, s: SessionData, syms: readonly string[]): boolean {
  const done: string[] = [];
  try {
    for (const sym of syms) {
      registry.addSubscription(s.id, topicFor(s.format, sym));
      done.push(sym);
    }
  } catch (err) {
    if (!(err instanceof RegistryFullError)) throw err;
    for (const sym of done) registry.removeSubscription(s.id, topicFor(s.format, sym));
    return false;
  }
  s.reserved = syms;
  return true;
}

/**
 * `syms` become the session's: reserved ones go live on the socket (unless degraded: the ladder sends them);
 * while paused they are only held, to be counted and attached on resume.
 */
export function add(ws: Socket, s: SessionData, syms: readonly string[]): void {
  s.reserved = NONE;
  for (const sym of syms) s.symbols.add(sym);
  if (s.state !== SessionState.Paused && isFullRate(s)) for (const sym of syms) ws.subscribe(topicFor(s.format, sym));
}

/** The reserved symbols will not be added after all (their catch-up failed): uncounted. */
export function release(registry: ConnectionRegistry, s: SessionData): void {
  for (const sym of s.reserved) registry.removeSubscription(s.id, topicFor(s.format, sym));
  s.reserved = NONE;
}

/** Drops `syms` the session holds from every view; others are ignored. */
export function remove(ws: Socket, registry: ConnectionRegistry, s: SessionData, syms: readonly string[]): void {
  for (const sym of syms) {
    if (!s.symbols.delete(sym) || s.state === SessionState.Paused) continue;
    const topic = topicFor(s.format, sym);
    ws.unsubscribe(topic);
    s.ladder?.lastSent.delete(sym);
    registry.removeSubscription(s.id, topic);
  }
}

/** Off the socket and out of the registry; the session still holds its symbols for resume. */
export function pause(ws: Socket, registry: ConnectionRegistry, s: SessionData): void {
  degrade(ws, s);
  for (const sym of s.symbols) registry.removeSubscription(s.id, topicFor(s.format, sym));
}

/**
 * Counts every held symbol again and reserves them for the snapshot resume starts with, after which add() brings
 * them back; false (still paused, nothing counted) when the registry is full.
 */
export function resume(registry: ConnectionRegistry, s: SessionData): boolean {
  const syms = [...s.symbols];
  if (!reserve(registry, s, syms)) return false;
  s.symbols.clear();
  return true;
}

/** Off the live topics (still counted): the ladder sends this client conflated frames or nothing instead. */
export function degrade(ws: Socket, s: SessionData): void {
  for (const sym of s.symbols) ws.unsubscribe(topicFor(s.format, sym));
}

/** Back on the live topics of all its symbols. */
export function restore(ws: Socket, s: SessionData): void {
  for (const sym of s.symbols) ws.subscribe(topicFor(s.format, sym));
}

/** Uncounts everything the session had in the registry (it closed; uWS has already dropped its topics). */
export function drop(registry: ConnectionRegistry, s: SessionData): void {
  if (s.state !== SessionState.Paused) for (const sym of s.symbols) registry.removeSubscription(s.id, topicFor(s.format, sym));
  release(registry, s);
  s.symbols.clear();
}
