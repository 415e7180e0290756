/**
 * A session's subscriptions, in three views kept consistent here and nowhere else:
 * - `symbols`: what the client subscribed to, each symbol with its tier;
 * - the registry: what the fan-out must publish to this worker (symbols on their tier topics, unless paused, plus
 *   the ones `reserved` for a catch-up in flight);
 * - the socket's uWS topics: what reaches the client live (symbols' tier topics, when neither paused nor degraded by
 *   the slow-consumer ladder).
 * Every topic is `tierTopic(format, sym, tier)`. The tierSubscriptions gauge moves with the registry counts, so it
 * is exactly what this thread has counted per tier.
 *
 * The request handler (session.ts) and the ladder (slow-consumers.ts) change them only through these functions.
 * They read the session's state and never set it: that is the handler's.
 */
import { ConnectionRegistry, RegistryFullError } from '../registry/registry';
import { Metrics } from '../metrics/metrics';
import { Tier, tierTopic } from '../protocol/tiers';
import { isFullRate, NOTHING_RESERVED, SessionData, SessionState, Socket } from './session-data';

/** Where a session's symbols are counted. */
export interface Counts {
  registry: ConnectionRegistry;
  metrics: Metrics;
}

function count(c: Counts, s: SessionData, sym: string, tier: Tier): void {
  c.registry.addSubscription(s.id, tierTopic(s.format, sym, tier));
  c.metrics.tierSubscriptions.inc({ tier: tier.label });
}

function uncount(c: Counts, s: SessionData, sym: string, tier: Tier): void {
  c.registry.removeSubscription(s.id, tierTopic(s.format, sym, tier));
  c.metrics.tierSubscriptions.dec({ tier: tier.label });
}

/**
 * Counts `wanted` (symbol → tier) in the registry, all or none: false (nothing counted) when it is full, since a
 * client must never hold half of what it asked for without knowing which half. They stay `reserved` until add() or
 * release(). A symbol held with another tier stays on its old topic meanwhile: add() moves it.
 */
export function reserve(c: Counts, s: SessionData, wanted: ReadonlyMap<string, Tier>): boolean {
  const done: [string, Tier][] = [];
  try {
    for (const [sym, tier] of wanted) {
      count(c, s, sym, tier);
      done.push([sym, tier]);
    }
  } catch (err) {
    if (!(err instanceof RegistryFullError)) throw err;
    for (const [sym, tier] of done) uncount(c, s, sym, tier);
    return false;
  }
  s.reserved = wanted.size > 0 ? new Map(wanted) : NOTHING_RESERVED;
  return true;
}

/**
 * `syms` become the session's with `tier`: reserved ones go live on the socket (unless degraded: the ladder sends
 * them), and one held with another tier leaves its old topic (socket and registry); while paused they are only
 * held, to be counted and attached on resume.
 */
export function add(ws: Socket, c: Counts, s: SessionData, syms: readonly string[], tier: Tier): void {
  const paused = s.state === SessionState.Paused;
  for (const sym of syms) {
    s.reserved.delete(sym);
    const held = s.symbols.get(sym);
    if (held !== undefined && held !== tier && !paused) leave(ws, c, s, sym, held);
    s.symbols.set(sym, tier);
    if (!paused && isFullRate(s)) ws.subscribe(tierTopic(s.format, sym, tier));
  }
  if (s.reserved.size === 0) s.reserved = NOTHING_RESERVED;
}

/** The reserved symbols will not be added after all (their catch-up failed): uncounted. */
export function release(c: Counts, s: SessionData): void {
  for (const [sym, tier] of s.reserved) uncount(c, s, sym, tier);
  s.reserved = NOTHING_RESERVED;
}

/** Drops `syms` the session holds from every view; others are ignored. */
export function remove(ws: Socket, c: Counts, s: SessionData, syms: readonly string[]): void {
  for (const sym of syms) {
    const tier = s.symbols.get(sym);
    if (tier === undefined) continue;
    s.symbols.delete(sym);
    if (s.state !== SessionState.Paused) leave(ws, c, s, sym, tier);
  }
}

/** Off `sym`'s topic of `tier` on the socket and in the registry. */
function leave(ws: Socket, c: Counts, s: SessionData, sym: string, tier: Tier): void {
  ws.unsubscribe(tierTopic(s.format, sym, tier));
  s.ladder?.lastSent.delete(sym);
  uncount(c, s, sym, tier);
}

/** Off the socket and out of the registry; the session still holds its symbols for resume. */
export function pause(ws: Socket, c: Counts, s: SessionData): void {
  degrade(ws, s);
  for (const [sym, tier] of s.symbols) uncount(c, s, sym, tier);
}

/**
 * Counts every held symbol again and reserves them for the snapshot resume starts with, after which add() brings
 * them back; false (still paused, nothing counted) when the registry is full.
 */
export function resume(c: Counts, s: SessionData): boolean {
  if (!reserve(c, s, s.symbols)) return false;
  s.symbols.clear();
  return true;
}

/** Off the live topics (still counted): the ladder sends this client conflated frames or nothing instead. */
export function degrade(ws: Socket, s: SessionData): void {
  for (const [sym, tier] of s.symbols) ws.unsubscribe(tierTopic(s.format, sym, tier));
}

/** Back on the live topics of all its symbols. */
export function restore(ws: Socket, s: SessionData): void {
  for (const [sym, tier] of s.symbols) ws.subscribe(tierTopic(s.format, sym, tier));
}

/** Uncounts everything the session had in the registry (it closed; uWS has already dropped its topics). */
export function drop(c: Counts, s: SessionData): void {
  if (s.state !== SessionState.Paused) for (const [sym, tier] of s.symbols) uncount(c, s, sym, tier);
  release(c, s);
  s.symbols.clear();
}
