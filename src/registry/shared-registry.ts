/**
 * The connection registry every worker thread shares: topic counts in a SharedCounterMap, sessions in a second
 * open-addressing table, and the totals `stats()` reports kept as atomic counters so it is O(1).
 *
 * The main thread calls `SharedRegistry.create`, passes `registry.buffers` (a plain object of SharedArrayBuffers)
 * through workerData, and each worker calls `SharedRegistry.attach(buffers)`.
 *
 * ## Session table
 *
 * Keyed by the uint32 session id; 8 Int32 words per slot: GEN, STATE, ID, WORKER, SUBS, AT_HI, AT_LO. STATE moves
 * EMPTY → BUSY → LIVE → TOMB → BUSY → LIVE …, claimed by compareExchange. It relies on one assumption the server
 * meets: a session is opened, changed and closed only by the worker that owns its socket, so a LIVE slot has one
 * writer and cannot be reclaimed while that writer uses it; no pins are needed, unlike the topic map, where every
 * worker changes every topic. Readers on other threads (`session()`) use the GEN seqlock the topic map uses: GEN is
 * odd while a slot's fields are written, and a read is kept only if GEN was even and unchanged around it.
 *
 * Tombstones are reused by the next open that probes past them, and searches stop at a per-home bound rather than at
 * an EMPTY slot, because under connection churn every slot soon stops being EMPTY.
 *
 * The session limit is enforced by reserving from the session counter before claiming a slot, so it is exact under
 * races, and the table gets twice as many slots so probes stay short and a free slot always exists.
 */
import { ConnectionRegistry, RegistryFullError, RegistryStats, SessionInfo } from './registry';
import { CounterUnderflowError, SharedBufferLayoutError, SharedCounterMap, mix32 } from './shared-map';

export class RegistryArgumentError extends Error {
  readonly code = 'REGISTRY_BAD_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'RegistryArgumentError';
  }
}

export class UnknownSessionError extends Error {
  readonly code = 'REGISTRY_UNKNOWN_SESSION';
  constructor(readonly sessionId: number) {
    super(`session ${sessionId} is not open`);
    this.name = 'UnknownSessionError';
  }
}

export class DuplicateSessionError extends Error {
  readonly code = 'REGISTRY_DUPLICATE_SESSION';
  constructor(readonly sessionId: number) {
    super(`session ${sessionId} is already open`);
    this.name = 'DuplicateSessionError';
  }
}

export class SessionNotEmptyError extends Error {
  readonly code = 'REGISTRY_SESSION_NOT_EMPTY';
  constructor(
    readonly sessionId: number,
    readonly subscriptions: number,
  ) {
    super(`session ${sessionId} still has ${subscriptions} subscriptions; remove them before closing it`);
    this.name = 'SessionNotEmptyError';
  }
}

export interface SharedRegistryOptions {
  /**
   * Distinct topics with subscribers the registry holds at once, exactly (one more throws RegistryFullError); the map
   * gets at least twice as many slots, so probes stay short however full it is.
   */
  topicCapacity: number;
  /** Open sessions at once; exact. */
  sessionCapacity: number;
  /** Longest topic in UTF-8 bytes, a multiple of 4. Default 64. */
  maxTopicBytes?: number;
}

/** Everything a worker needs to attach; structured-clones through workerData without copying the memory. */
export interface SharedRegistryBuffers {
  topics: SharedArrayBuffer;
  sessions: SharedArrayBuffer;
}

const MAGIC = 0x54475331; // "TGS1"
const VERSION = 2;
const H_MAGIC = 0;
const H_VERSION = 1;
const H_SLOTS = 2;
const H_CAPACITY = 3;
const H_SESSIONS = 4;
const H_SUBSCRIPTIONS = 5;
/** Subscriptions ever added (wraps): a reader that saw a topic empty knows it still is while this has not moved. */
const H_ADDITIONS = 6;
const HEADER_WORDS = 16;

const STRIDE = 8;
const GEN = 0;
const STATE = 1;
const ID = 2;
const WORKER = 3;
const SUBS = 4;
const AT_HI = 5;
const AT_LO = 6;

const EMPTY = 0;
const BUSY = 1;
const LIVE = 2;
const TOMB = 3;

const TWO_32 = 2 ** 32;

export class SharedRegistry implements ConnectionRegistry {
  readonly topics: SharedCounterMap;
  readonly sessionCapacity: number;
  private readonly slots: number;
  private readonly mask: number;
  private readonly header: Int32Array;
  private readonly bounds: Int32Array;
  private readonly meta: Int32Array;

  static create(options: SharedRegistryOptions): SharedRegistry {
    const { topicCapacity, sessionCapacity } = options;
    if (!Number.isInteger(sessionCapacity) || sessionCapacity < 1 || sessionCapacity > 1 << 23) {
      throw new RangeError(`sessionCapacity must be an integer in [1, 2^23], got ${sessionCapacity}`);
    }
    if (!Number.isInteger(topicCapacity) || topicCapacity < 1 || topicCapacity > 1 << 23) {
      throw new RangeError(`topicCapacity must be an integer in [1, 2^23], got ${topicCapacity}`);
    }
    // A partition is replaced whole when its worker dies, so a compaction cut short by a death blocks no one.
    const topics = SharedCounterMap.create({
      capacity: 2 * topicCapacity,
      maxKeyBytes: options.maxTopicBytes,
      maxLive: topicCapacity,
      reclaim: true,
    });
    let slots = 2;
    while (slots < 2 * sessionCapacity) slots <<= 1;
    const sessions = new SharedArrayBuffer(SharedRegistry.byteLength(slots));
    const header = new Int32Array(sessions, 0, HEADER_WORDS);
    header[H_SLOTS] = slots;
    header[H_CAPACITY] = sessionCapacity;
    header[H_VERSION] = VERSION;
    header[H_MAGIC] = MAGIC;
    return new SharedRegistry({ topics: topics.buffer, sessions });
  }

  static attach(buffers: SharedRegistryBuffers): SharedRegistry {
    return new SharedRegistry(buffers);
  }

  private static byteLength(slots: number): number {
    return 4 * (HEADER_WORDS + slots + slots * STRIDE);
  }

  private constructor(readonly buffers: SharedRegistryBuffers) {
    const { sessions } = buffers;
    if (!(sessions instanceof SharedArrayBuffer) || sessions.byteLength < 4 * HEADER_WORDS) {
      throw new SharedBufferLayoutError('sessions: expected a SharedArrayBuffer');
    }
    const header = new Int32Array(sessions, 0, HEADER_WORDS);
    if (Atomics.load(header, H_MAGIC) !== MAGIC || Atomics.load(header, H_VERSION) !== VERSION) {
      throw new SharedBufferLayoutError('sessions: bad magic or version');
    }
    const slots = Atomics.load(header, H_SLOTS);
    if (sessions.byteLength !== SharedRegistry.byteLength(slots)) {
      throw new SharedBufferLayoutError('sessions: size does not match its header');
    }
    this.topics = SharedCounterMap.attach(buffers.topics);
    this.header = header;
    this.slots = slots;
    this.mask = slots - 1;
    this.sessionCapacity = Atomics.load(header, H_CAPACITY);
    this.bounds = new Int32Array(sessions, 4 * HEADER_WORDS, slots);
    this.meta = new Int32Array(sessions, 4 * (HEADER_WORDS + slots), slots * STRIDE);
  }

  openSession(sessionId: number, workerId: number, connectedAt: number): void {
    checkSessionId(sessionId);
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > 0x7fffffff) {
      throw new RegistryArgumentError(`workerId must be a non-negative int32, got ${workerId}`);
    }
    if (!Number.isSafeInteger(connectedAt) || connectedAt < 0) {
      throw new RegistryArgumentError(`connectedAt must be a non-negative integer (ms), got ${connectedAt}`);
    }
    if (Atomics.add(this.header, H_SESSIONS, 1) >= this.sessionCapacity) {
      Atomics.sub(this.header, H_SESSIONS, 1);
      throw new RegistryFullError('session', this.sessionCapacity);
    }
    try {
      this.claim(sessionId, workerId, connectedAt);
    } catch (err) {
      Atomics.sub(this.header, H_SESSIONS, 1);
      throw err;
    }
  }

  /** Closing a session that is not open does nothing, so close handlers can run twice. */
  closeSession(sessionId: number): void {
    checkSessionId(sessionId);
    const slot = this.ownedSlot(sessionId);
    if (slot < 0) return;
    const m = slot * STRIDE;
    const subs = Atomics.load(this.meta, m + SUBS);
    if (subs !== 0) throw new SessionNotEmptyError(sessionId, subs);
    Atomics.store(this.meta, m + STATE, TOMB);
    Atomics.sub(this.header, H_SESSIONS, 1);
  }

  addSubscription(sessionId: number, topic: string): void {
    const slot = this.requireSlot(sessionId);
    this.topics.increment(topic);
    Atomics.add(this.meta, slot * STRIDE + SUBS, 1);
    Atomics.add(this.header, H_SUBSCRIPTIONS, 1);
    // After the topic's count: whoever reads the new value reads the topic's new count too.
    Atomics.add(this.header, H_ADDITIONS, 1);
  }

  removeSubscription(sessionId: number, topic: string): void {
    const slot = this.requireSlot(sessionId);
    const m = slot * STRIDE;
    // Checked first so a bad call changes neither the session nor the topic.
    if (Atomics.load(this.meta, m + SUBS) === 0) throw new CounterUnderflowError(`session ${sessionId}`);
    this.topics.decrement(topic);
    Atomics.sub(this.meta, m + SUBS, 1);
    Atomics.sub(this.header, H_SUBSCRIPTIONS, 1);
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic);
  }

  /** Subscriptions ever added to this partition, modulo 2^32: while it has not moved, no topic gained a subscriber. */
  additions(): number {
    return Atomics.load(this.header, H_ADDITIONS);
  }

  session(sessionId: number): SessionInfo | undefined {
    if (!isSessionId(sessionId)) return undefined;
    const id = sessionId | 0;
    const meta = this.meta;
    const home = mix32(id) & this.mask;
    const bound = Atomics.load(this.bounds, home);
    for (let d = 0; d <= bound; d++) {
      const m = ((home + d) & this.mask) * STRIDE;
      for (;;) {
        const g = Atomics.load(meta, m + GEN);
        const state = Atomics.load(meta, m + STATE);
        if (state === EMPTY) return undefined;
        if ((g & 1) !== 0 || state !== LIVE || Atomics.load(meta, m + ID) !== id) break;
        const workerId = Atomics.load(meta, m + WORKER);
        const subscriptions = Atomics.load(meta, m + SUBS);
        const hi = Atomics.load(meta, m + AT_HI);
        const lo = Atomics.load(meta, m + AT_LO);
        if (Atomics.load(meta, m + GEN) !== g) continue;
        return { workerId, subscriptions, connectedAt: hi * TWO_32 + (lo >>> 0) };
      }
    }
    return undefined;
  }

  /** Subscriptions of every session of this partition: one atomic load, for the reader's pacing. */
  subscriptionCount(): number {
    return Atomics.load(this.header, H_SUBSCRIPTIONS);
  }

  /** Three independent atomic loads: each figure is exact, the three together are not one snapshot. */
  stats(): RegistryStats {
    return {
      sessions: Atomics.load(this.header, H_SESSIONS),
      subscriptions: Atomics.load(this.header, H_SUBSCRIPTIONS),
      activeTopics: this.topics.liveKeys(),
    };
  }

  private claim(sessionId: number, workerId: number, connectedAt: number): void {
    const id = sessionId | 0;
    const meta = this.meta;
    const home = mix32(id) & this.mask;
    for (;;) {
      const bound = Atomics.load(this.bounds, home);
      let found = -1;
      let foundState = EMPTY;
      let d = 0;
      for (; d <= bound; d++) {
        const m = ((home + d) & this.mask) * STRIDE;
        const state = Atomics.load(meta, m + STATE);
        if (state === EMPTY) break;
        if (state === TOMB && found < 0) {
          found = d;
          foundState = TOMB;
        } else if (state === LIVE && Atomics.load(meta, m + ID) === id) {
          throw new DuplicateSessionError(sessionId);
        }
      }
      for (; found < 0 && d < this.slots; d++) {
        const state = Atomics.load(meta, ((home + d) & this.mask) * STRIDE + STATE);
        if (state === EMPTY || state === TOMB) {
          found = d;
          foundState = state;
        }
      }
      // Unreachable while the reservation holds, since slots > capacity; kept so a broken invariant cannot corrupt.
      if (found < 0) throw new RegistryFullError('session', this.sessionCapacity);
      raiseBound(this.bounds, home, found);
      const m = ((home + found) & this.mask) * STRIDE;
      if (Atomics.compareExchange(meta, m + STATE, foundState, BUSY) !== foundState) continue;
      Atomics.add(meta, m + GEN, 1);
      Atomics.store(meta, m + ID, id);
      Atomics.store(meta, m + WORKER, workerId);
      // SUBS is 0 already: a slot is only ever closed with no subscriptions.
      Atomics.store(meta, m + AT_HI, Math.floor(connectedAt / TWO_32));
      Atomics.store(meta, m + AT_LO, connectedAt % TWO_32 | 0);
      Atomics.add(meta, m + GEN, 1);
      Atomics.store(meta, m + STATE, LIVE);
      return;
    }
  }

  /** The LIVE slot of a session this thread owns, or -1. No seqlock: only the owner (us) rewrites or frees it. */
  private ownedSlot(sessionId: number): number {
    const id = sessionId | 0;
    const meta = this.meta;
    const home = mix32(id) & this.mask;
    const bound = Atomics.load(this.bounds, home);
    for (let d = 0; d <= bound; d++) {
      const slot = (home + d) & this.mask;
      const state = Atomics.load(meta, slot * STRIDE + STATE);
      if (state === EMPTY) return -1;
      if (state === LIVE && Atomics.load(meta, slot * STRIDE + ID) === id) return slot;
    }
    return -1;
  }

  private requireSlot(sessionId: number): number {
    checkSessionId(sessionId);
    const slot = this.ownedSlot(sessionId);
    if (slot < 0) throw new UnknownSessionError(sessionId);
    return slot;
  }
}

function isSessionId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= 0xffffffff;
}

function checkSessionId(id: number): void {
  if (!isSessionId(id)) throw new RegistryArgumentError(`sessionId must be a uint32, got ${id}`);
}

function raiseBound(bounds: Int32Array, home: number, d: number): void {
  for (;;) {
    const b = Atomics.load(bounds, home);
    if (b >= d || Atomics.compareExchange(bounds, home, b, d) === b) return;
  }
}
