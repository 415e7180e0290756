/**
 * A lock-free string → counter hash map in a SharedArrayBuffer, read and written by every worker thread at once.
 *
 * The main thread calls `SharedCounterMap.create`, hands `map.buffer` to each worker through workerData, and each
 * worker calls `SharedCounterMap.attach(buffer)`. Keys are UTF-8 strings of at most `maxKeyBytes` bytes; values are
 * non-negative counts.
 *
 * ## Layout (all Int32 words, so every access can be an Atomics operation)
 *
 *   header   MAGIC, VERSION, slots, maxKeyBytes, liveKeys, and the reclaim words: WRITERS, COMPACTING, USED,
 *            RELEASES, COMPACTIONS, plus MAX_LIVE and FLAGS
 *   bounds   one word per home bucket: the largest probe distance any key with that home has ever been placed at
 *   meta     8 words per slot: GEN, CTL, PINS, HASH, LEN (3 spare, so two slots share a 64-byte cache line exactly)
 *   keys     maxKeyBytes/4 words per slot: the key, zero-padded to a whole word
 *
 * ## The slot's life: one CTL word
 *
 *   EMPTY (0) ──CAS──▶ BUSY ──store──▶ PENDING ──store──▶ READY(n)  encoded as n + 1, so READY(0) is 1
 *                       ▲                 │
 *   FREE ──────CAS──────┤                 └──store──▶ FREE   (lost a same-key insert race, see below)
 *   READY(0) ──CAS──────┘
 *
 * BUSY: the claimer is writing the key. PENDING: the key is written and the claimer is checking that no other copy
 * of it exists. READY(n): visible, count n. Counts change by compareExchange on CTL, so "count is 0" and "slot is
 * being reclaimed" can never both win. A count reaching 0 leaves the key in place: re-subscribing to the same topic
 * (the common case: a client reconnecting) costs one CAS and no rewrite, and the slot is reclaimable by any other key
 * that needs room, so churn of distinct symbols reuses dead slots instead of filling the table. Between compactions
 * (below) EMPTY is never re-entered, which is what lets a probe stop at the first EMPTY slot.
 *
 * ## Why each Atomics operation gives the ordering it needs
 *
 * Every access to shared words goes through Atomics (key words included), and JS Atomics are sequentially
 * consistent: all of them, from all threads, fall into one total order that respects each thread's program order.
 * That buys two things used below. (1) Publication: words written before a store are seen by anyone whose load sees
 * that store (key words before PENDING, HASH/LEN before PENDING). (2) The store→load (Dekker) guarantee: if thread A
 * stores X then loads Y, and thread B stores Y then loads X, at least one of them sees the other's store. Plain
 * typed-array reads would not get (2) and, on ARM, not even (1) for a reader validating after the fact.
 *
 * - Reclaiming (FREE or READY(0) → BUSY) must not rewrite a key that another mutator has already matched, or that
 *   mutator's later CAS would land on a different key with the same encoded CTL value (ABA). A mutator therefore
 *   pins a slot (Atomics.add on PINS) before reading CTL and comparing the key; a reclaimer CASes CTL to BUSY and
 *   only then loads PINS, undoing its claim if any pin is held. By (2) either the reclaimer sees the pin, or the
 *   mutator's CTL load sees BUSY (it waits) or the finished new key (it compares against that). While pinned, the
 *   slot's key cannot change, so the mutator's CAS is on the key it matched.
 * - The hot-path lookup does not pin (two RMWs on a shared cache line per tick would serialise all workers on hot
 *   topics). It is a seqlock reader instead: a writer makes GEN odd before writing key words and even afterwards; the
 *   reader loads GEN, the key words, CTL, GEN again, and trusts the comparison only if both GEN loads are equal and
 *   even. GEN is 32 bits; a false match would need 2^32 rewrites of one slot during one comparison.
 * - Same-key inserts must not create two slots. A claimer publishes PENDING, reads its home's bound, then scans the
 *   whole window. Of two claimers of one key, the one that reads the bound later sees both positions and, by (1) and
 *   (2), the other's slot as PENDING or later. Rules: another READY copy wins; a PENDING copy nearer the home wins; a
 *   PENDING copy farther away is waited for (it will see us and yield, or turn READY and win). Waits only point
 *   towards the far end of a probe window, so they cannot form a cycle. The loser stores FREE and retries.
 * - Bounds only grow (CAS max) between compactions, and are raised before the claim CAS, so anyone who sees a slot's
 *   key can also see a bound covering it. Searches stop at the bound, so misses stay short after EMPTY slots are gone.
 *
 * ## Reclaiming capacity: compaction (maps created with `reclaim: true`)
 *
 * Without it dead slots never turn EMPTY and bounds only grow, so a table that once filled costs a full probe window per
 * lookup after it empties: every miss on the hot path walks to its home's bound through dead slots. A compaction puts
 * the table back into the state its live keys alone would leave: a dead slot that no live key's probe path crosses
 * becomes EMPTY, one that a path crosses becomes FREE (it drops its key, so no key is left beyond an EMPTY slot), and
 * each home's bound drops to the farthest live key of that home. Live keys do not move, so a reader never has to
 * revalidate: at every instant each live key's path has no EMPTY slot and its bound covers it, whatever `get` loaded.
 *
 * Compaction needs the counts and keys to hold still, so it excludes mutators, not readers: a mutator adds itself to
 * WRITERS and then loads COMPACTING; a compactor CASes COMPACTING to 1 and then loads WRITERS. By (2) at least one
 * sees the other: the mutator backs out and sleeps until COMPACTING is 0 again, or the compactor gives up (it never
 * waits, and the next release tries again). So within one mutation EMPTY is still never re-entered, and no pin, BUSY
 * or PENDING slot exists while a compaction runs. It runs on the thread whose decrement released a key, when it is
 * worth its O(slots) pass and paid for by about `slots/256` operations since the last one (`worthCompacting`); a
 * table that filled with at least that many keys and emptied ends exactly as a fresh one. A thread that dies inside a
 * mutation disables compaction (WRITERS stays up); one that dies inside a compaction blocks every mutator of the map,
 * so only maps with a single writer per table, whose table is replaced when that writer dies (the registry's topic
 * partitions), opt in.
 *
 * ## Progress
 *
 * `get` never waits: it skips BUSY and PENDING slots (a key being inserted is not there yet). Mutators wait only for a
 * slot in BUSY or PENDING to resolve, which its owner does without waiting on anyone holding a pin, and for a running
 * compaction, which waits on nobody. A thread that dies
 * between claiming and publishing a slot (worker.terminate() mid-insert) leaves it BUSY and blocks later mutators of
 * keys probing through it; a thread that dies pinned only makes that slot unreclaimable.
 *
 * Decrementing below zero is a caller bug (the registry only decrements what it incremented): it throws
 * CounterUnderflowError and changes nothing, which the CAS makes exact rather than a clamp that hides the bug.
 */
import { RegistryFullError } from './registry';

export class KeyTooLongError extends Error {
  readonly code = 'REGISTRY_KEY_TOO_LONG';
  constructor(readonly key: string, readonly maxBytes: number) {
    super(`key is longer than ${maxBytes} UTF-8 bytes: ${JSON.stringify(key.slice(0, 80))}`);
    this.name = 'KeyTooLongError';
  }
}

export class CounterUnderflowError extends Error {
  readonly code = 'REGISTRY_COUNTER_UNDERFLOW';
  constructor(readonly key: string) {
    super(`counter for ${JSON.stringify(key)} would go below zero`);
    this.name = 'CounterUnderflowError';
  }
}

export class SharedBufferLayoutError extends Error {
  readonly code = 'REGISTRY_BAD_BUFFER';
  constructor(detail: string) {
    super(`not a buffer this version created: ${detail}`);
    this.name = 'SharedBufferLayoutError';
  }
}

/** Murmur3's finaliser: cheap, and spreads the low bits the table masks. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Encodes keys into one reused scratch buffer per thread, so lookups allocate nothing. ASCII (every topic the gateway
 * builds) is copied by hand because TextEncoder.encodeInto returns a fresh `{read, written}` object per call; other
 * keys go through encodeInto.
 */
export class KeyCodec {
  readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly encoder = new TextEncoder();

  constructor(readonly maxKeyBytes: number) {
    const buf = new ArrayBuffer(maxKeyBytes);
    this.words = new Int32Array(buf);
    this.bytes = new Uint8Array(buf);
  }

  /** Byte length of `key` now in `words` (zero-padded to a whole word), or -1 if it does not fit. */
  encode(key: string): number {
    const n = key.length;
    if (n > this.maxKeyBytes) return -1;
    const bytes = this.bytes;
    let len = n;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) {
        len = this.encodeSlow(key);
        if (len < 0) return -1;
        break;
      }
      bytes[i] = c;
    }
    for (let i = len; (i & 3) !== 0; i++) bytes[i] = 0;
    return len;
  }

  /** FNV-1a over the padded words, mixed with the length so "a" and "a\0" differ. */
  hash(len: number): number {
    const words = this.words;
    let h = 0x811c9dc5 ^ len;
    for (let w = 0, nw = (len + 3) >> 2; w < nw; w++) h = Math.imul(h ^ words[w], 0x01000193);
    return mix32(h);
  }

  private encodeSlow(key: string): number {
    const r = this.encoder.encodeInto(key, this.bytes);
    return r.read < key.length ? -1 : r.written;
  }
}

const MAGIC = 0x54474d31; // "TGM1"
const VERSION = 3;
const H_MAGIC = 0;
const H_VERSION = 1;
const H_SLOTS = 2;
const H_MAX_KEY = 3;
/** Keys with a count above 0, plus reservations of inserts and revivals in flight. */
const H_LIVE = 4;
/** Mutators inside `update`. */
const H_WRITERS = 5;
/** 1 while a compaction runs. */
const H_COMPACTING = 6;
/** Slots that are not EMPTY. */
const H_USED = 7;
/** Counts that reached 0 since the last compaction. */
const H_RELEASES = 8;
const H_COMPACTIONS = 9;
const H_MAX_LIVE = 10;
const H_FLAGS = 11;
/** 1 when the last compaction found no live key: the table was left exactly as fresh. */
const H_EMPTIED = 12;
const HEADER_WORDS = 16;

const FLAG_RECLAIM = 1;
/** Dead slots a compaction needs at least, whatever the table size: below it a compaction would not pay off. */
const MIN_COMPACT_DEAD = 16;

const STRIDE = 8;
const GEN = 0;
const CTL = 1;
const PINS = 2;
const HASH = 3;
const LEN = 4;

const EMPTY = 0;
const BUSY = -1;
const PENDING = -2;
const FREE = -3;
/** CTL value of a READY slot whose count is 0. */
const READY0 = 1;

const SPINS_BEFORE_WAIT = 64;
/** Upper bound on one futex wait; a safety net in case a notify is missed, not a timing assumption. */
const WAIT_MS = 1;

/** Points where a test can stop a thread to force an interleaving. */
export type SharedMapHookEvent =
  /** A slot to claim was chosen; the claim CAS has not run. */
  | 'candidate'
  /** The slot is BUSY, GEN is odd, LEN and the first key word are written. */
  | 'claimed'
  /** The slot is PENDING; the duplicate scan has not run. */
  | 'published'
  /** A mutator holds a pin on the READY slot that matches its key; its CAS has not run. */
  | 'pinned'
  /** A compaction has excluded every mutator and is about to rewrite the table (slot is -1). */
  | 'compacting';

export interface SharedCounterMapHooks {
  onEvent(event: SharedMapHookEvent, slot: number): void;
}

export interface SharedCounterMapOptions {
  /** Slot count, rounded up to a power of two. Keep live keys at or below about half of it. */
  capacity: number;
  /** Longest key in UTF-8 bytes, a multiple of 4. Default 64. */
  maxKeyBytes?: number;
  /** Keys with a count above 0 at once; an insert beyond it throws RegistryFullError. Default: the slot count. */
  maxLive?: number;
  /**
   * Compact the table as keys are released (see "Reclaiming capacity" above). Only for maps whose writer's death
   * replaces the whole table, since a thread that dies mid-compaction leaves every other mutator waiting.
   */
  reclaim?: boolean;
}

/** What lookups cost, from the table's layout over a range of home buckets. Not an atomic snapshot. */
export interface ProbeStats {
  /** Slots that are not EMPTY: a fresh table has 0. */
  used: number;
  /** The largest probe bound of any home bucket: a fresh table has 0. */
  maxBound: number;
  /** Slots a lookup of an absent key visits, summed over the home buckets: a fresh table has one per bucket. */
  missProbes: number;
  compactions: number;
}

export interface SharedCounterEntry {
  slot: number;
  key: string;
  count: number;
}

export class SharedCounterMap {
  readonly slots: number;
  readonly maxKeyBytes: number;
  readonly maxLive: number;
  private readonly reclaims: boolean;
  private readonly compactAfter: number;
  private readonly mask: number;
  private readonly keyWords: number;
  private readonly header: Int32Array;
  private readonly bounds: Int32Array;
  private readonly meta: Int32Array;
  private readonly keys: Int32Array;
  private readonly codec: KeyCodec;

  static create(options: SharedCounterMapOptions): SharedCounterMap {
    const maxKeyBytes = options.maxKeyBytes ?? 64;
    if (!Number.isInteger(maxKeyBytes) || maxKeyBytes <= 0 || maxKeyBytes % 4 !== 0) {
      throw new RangeError(`maxKeyBytes must be a positive multiple of 4, got ${maxKeyBytes}`);
    }
    if (!Number.isInteger(options.capacity) || options.capacity < 1 || options.capacity > 1 << 24) {
      throw new RangeError(`capacity must be an integer in [1, 2^24], got ${options.capacity}`);
    }
    let slots = 1;
    while (slots < options.capacity) slots <<= 1;
    const maxLive = options.maxLive ?? slots;
    if (!Number.isInteger(maxLive) || maxLive < 1 || maxLive > slots) {
      throw new RangeError(`maxLive must be an integer in [1, ${slots}], got ${maxLive}`);
    }
    const sab = new SharedArrayBuffer(SharedCounterMap.byteLength(slots, maxKeyBytes));
    const header = new Int32Array(sab, 0, HEADER_WORDS);
    header[H_SLOTS] = slots;
    header[H_MAX_KEY] = maxKeyBytes;
    header[H_MAX_LIVE] = maxLive;
    header[H_FLAGS] = options.reclaim ? FLAG_RECLAIM : 0;
    header[H_VERSION] = VERSION;
    header[H_MAGIC] = MAGIC;
    return new SharedCounterMap(sab);
  }

  /** Hooks are for tests that force interleavings; production code passes none. */
  static attach(buffer: SharedArrayBuffer, hooks?: SharedCounterMapHooks): SharedCounterMap {
    return new SharedCounterMap(buffer, hooks);
  }

  private static byteLength(slots: number, maxKeyBytes: number): number {
    return 4 * (HEADER_WORDS + slots + slots * STRIDE + slots * (maxKeyBytes >> 2));
  }

  private constructor(
    readonly buffer: SharedArrayBuffer,
    private readonly hooks?: SharedCounterMapHooks,
  ) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < 4 * HEADER_WORDS) {
      throw new SharedBufferLayoutError('expected a SharedArrayBuffer');
    }
    const header = new Int32Array(buffer, 0, HEADER_WORDS);
    if (Atomics.load(header, H_MAGIC) !== MAGIC || Atomics.load(header, H_VERSION) !== VERSION) {
      throw new SharedBufferLayoutError('bad magic or version');
    }
    const slots = Atomics.load(header, H_SLOTS);
    const maxKeyBytes = Atomics.load(header, H_MAX_KEY);
    if (buffer.byteLength !== SharedCounterMap.byteLength(slots, maxKeyBytes)) {
      throw new SharedBufferLayoutError('size does not match its header');
    }
    this.slots = slots;
    this.mask = slots - 1;
    this.maxKeyBytes = maxKeyBytes;
    this.maxLive = Atomics.load(header, H_MAX_LIVE);
    this.reclaims = (Atomics.load(header, H_FLAGS) & FLAG_RECLAIM) !== 0;
    this.compactAfter = Math.max(MIN_COMPACT_DEAD, slots >> 8);
    this.keyWords = maxKeyBytes >> 2;
    this.header = header;
    let off = 4 * HEADER_WORDS;
    this.bounds = new Int32Array(buffer, off, slots);
    off += 4 * slots;
    this.meta = new Int32Array(buffer, off, slots * STRIDE);
    off += 4 * slots * STRIDE;
    this.keys = new Int32Array(buffer, off, slots * this.keyWords);
    this.codec = new KeyCodec(maxKeyBytes);
  }

  /** Keys whose count is above zero. Exact when no operation is in flight. */
  liveKeys(): number {
    return Atomics.load(this.header, H_LIVE);
  }

  /**
   * The count for `key`, 0 if absent. Hot path: no allocation, no waiting. A key too long to ever be stored reads
   * as 0 rather than throwing, since it cannot have subscribers.
   */
  get(key: string): number {
    const len = this.codec.encode(key);
    if (len < 0) return 0;
    const h = this.codec.hash(len);
    const meta = this.meta;
    const home = h & this.mask;
    const bound = Atomics.load(this.bounds, home);
    for (let d = 0; d <= bound; d++) {
      const slot = (home + d) & this.mask;
      const m = slot * STRIDE;
      for (;;) {
        const v = Atomics.load(meta, m + CTL);
        if (v === EMPTY) return 0;
        if (v < READY0 || Atomics.load(meta, m + HASH) !== h) break;
        const g = Atomics.load(meta, m + GEN);
        // Odd: a key is being written here, and a key being inserted is not visible yet.
        if ((g & 1) !== 0) break;
        const same = this.keyMatches(slot, len);
        const v2 = Atomics.load(meta, m + CTL);
        if (Atomics.load(meta, m + GEN) !== g) continue; // rewritten under us: look again
        if (!same) break;
        // READY, or BUSY from a reclaim attempt, which only ever starts at count 0.
        if (v2 >= READY0) return v2 - 1;
        if (v2 === BUSY) return 0;
        break;
      }
    }
    return 0;
  }

  /** Adds one to `key`'s count, inserting it if absent; returns the new count. */
  increment(key: string): number {
    return this.update(key, 1);
  }

  /** Subtracts one; throws CounterUnderflowError (and changes nothing) if the count is 0 or the key absent. */
  decrement(key: string): number {
    return this.update(key, -1);
  }

  /**
   * Every READY slot in [from, to) (all of them by default). For metrics, diagnostics and tests: allocates, and is
   * not an atomic snapshot. The range lets a caller on an event loop read a large table a slice at a time.
   */
  entries(from = 0, to = this.slots): SharedCounterEntry[] {
    const out: SharedCounterEntry[] = [];
    const decoder = new TextDecoder();
    for (let slot = Math.max(0, from), end = Math.min(to, this.slots); slot < end; slot++) {
      const m = slot * STRIDE;
      const v = Atomics.load(this.meta, m + CTL);
      if (v < READY0) continue;
      const len = Atomics.load(this.meta, m + LEN);
      const words = new Int32Array((len + 3) >> 2);
      for (let w = 0; w < words.length; w++) words[w] = Atomics.load(this.keys, slot * this.keyWords + w);
      out.push({ slot, key: decoder.decode(new Uint8Array(words.buffer, 0, len)), count: v - 1 });
    }
    return out;
  }

  private update(key: string, delta: 1 | -1): number {
    const len = this.codec.encode(key);
    if (len < 0) throw new KeyTooLongError(key, this.maxKeyBytes);
    const h = this.codec.hash(len);
    const home = h & this.mask;
    this.enter();
    let n: number;
    try {
      n = this.change(home, h, len, key, delta);
    } finally {
      if (this.reclaims) Atomics.sub(this.header, H_WRITERS, 1);
    }
    if (n === 0 && this.reclaims && this.worthCompacting()) this.compact();
    return n;
  }

  private change(home: number, h: number, len: number, key: string, delta: 1 | -1): number {
    for (;;) {
      const slot = this.findPinned(home, h, len);
      if (slot >= 0) {
        try {
          this.hooks?.onEvent('pinned', slot);
          return this.bump(slot, delta, key);
        } finally {
          Atomics.sub(this.meta, slot * STRIDE + PINS, 1);
        }
      }
      if (delta < 0) throw new CounterUnderflowError(key);
      const inserted = this.insert(home, h, len, key);
      if (inserted >= 0) return inserted;
    }
  }

  /** Joins WRITERS, waiting out a running compaction (the mutator half of the handshake in the header). */
  private enter(): void {
    if (!this.reclaims) return;
    const header = this.header;
    for (;;) {
      Atomics.add(header, H_WRITERS, 1);
      if (Atomics.load(header, H_COMPACTING) === 0) return;
      Atomics.sub(header, H_WRITERS, 1);
      Atomics.wait(header, H_COMPACTING, 1, WAIT_MS);
    }
  }

  /**
   * Whether this release should pay for an O(slots) pass. With live keys: enough dead slots to matter, at least as
   * many as live keys, and enough releases since the last compaction. With none: enough dead slots (inserts made them),
   * or any at all the first time the table empties after a compaction that left live keys, which that compaction's
   * releases paid for; so a table that fills and empties ends exactly as fresh, and a topic toggled on and off in an
   * empty table costs no pass.
   */
  private worthCompacting(): boolean {
    const live = Atomics.load(this.header, H_LIVE);
    const dead = Atomics.load(this.header, H_USED) - live;
    if (live === 0) return dead >= this.compactAfter || (dead > 0 && Atomics.load(this.header, H_EMPTIED) === 0);
    return dead >= this.compactAfter && dead >= live && Atomics.load(this.header, H_RELEASES) >= this.compactAfter;
  }

  /**
   * Returns the table to the layout its live keys alone would leave (see "Reclaiming capacity"): dead slots off every
   * live key's path become EMPTY, those on one become FREE, bounds drop to the farthest live key. Returns false, having
   * changed nothing, when the map does not reclaim, another compaction runs, or a mutator is inside the map.
   */
  compact(): boolean {
    if (!this.reclaims) return false;
    const header = this.header;
    if (Atomics.compareExchange(header, H_COMPACTING, 0, 1) !== 0) return false;
    try {
      if (Atomics.load(header, H_WRITERS) !== 0) return false;
      this.hooks?.onEvent('compacting', -1);
      this.rewriteDead();
      Atomics.store(header, H_RELEASES, 0);
      Atomics.add(header, H_COMPACTIONS, 1);
      return true;
    } finally {
      Atomics.store(header, H_COMPACTING, 0);
      Atomics.notify(header, H_COMPACTING);
    }
  }

  /** The compaction itself; every mutator is excluded, readers are not. */
  private rewriteDead(): void {
    const { meta, bounds, slots, mask } = this;
    // cover[s] (as a difference array): how many live keys' probe paths [home, slot) contain slot s.
    const cover = new Int32Array(slots + 1);
    const reach = new Int32Array(slots);
    for (let s = 0; s < slots; s++) {
      const m = s * STRIDE;
      if (Atomics.load(meta, m + CTL) <= READY0) continue;
      const home = Atomics.load(meta, m + HASH) & mask;
      const d = (s - home) & mask;
      reach[home] = Math.max(reach[home], d);
      cover[home]++;
      // A path that wraps past the last slot also covers slots [0, home + d - slots).
      if (home + d <= slots) {
        cover[home + d]--;
      } else {
        cover[0]++;
        cover[home + d - slots]--;
      }
    }
    let used = 0;
    let anyLive = false;
    for (let s = 0, c = 0; s < slots; s++) {
      c += cover[s];
      const m = s * STRIDE + CTL;
      const v = Atomics.load(meta, m);
      if (v === FREE || v === READY0) {
        Atomics.store(meta, m, c === 0 ? EMPTY : FREE);
      }
      if (v > READY0) anyLive = true;
      if (Atomics.load(meta, m) !== EMPTY) used++;
      // Never a raise: every key of home s lies within its bound.
      Atomics.store(bounds, s, reach[s]);
    }
    Atomics.store(this.header, H_USED, used);
    Atomics.store(this.header, H_EMPTIED, anyLive ? 0 : 1);
  }

  /**
   * ProbeStats over the home buckets in [from, to) (all of them by default), so that a caller on an event loop can
   * read a large table a slice at a time. Costs what the lookups it measures cost: for metrics and tests.
   */
  probeStats(from = 0, to = this.slots): ProbeStats {
    const { meta, bounds, mask } = this;
    let used = 0;
    let maxBound = 0;
    let missProbes = 0;
    for (let home = Math.max(0, from), end = Math.min(to, this.slots); home < end; home++) {
      if (Atomics.load(meta, home * STRIDE + CTL) !== EMPTY) used++;
      const bound = Atomics.load(bounds, home);
      maxBound = Math.max(maxBound, bound);
      for (let d = 0; d <= bound; d++) {
        missProbes++;
        if (Atomics.load(meta, ((home + d) & mask) * STRIDE + CTL) === EMPTY) break;
      }
    }
    return { used, maxBound, missProbes, compactions: Atomics.load(this.header, H_COMPACTIONS) };
  }

  /**
   * The READY slot holding the encoded key, pinned; or -1 if absent. Waits out BUSY slots (their key is unknown)
   * and PENDING copies of the key (someone is inserting it).
   */
  private findPinned(home: number, h: number, len: number): number {
    const meta = this.meta;
    const bound = Atomics.load(this.bounds, home);
    for (let d = 0; d <= bound; d++) {
      const slot = (home + d) & this.mask;
      const m = slot * STRIDE;
      const v0 = Atomics.load(meta, m + CTL);
      if (v0 === EMPTY) return -1;
      if (v0 === FREE || (v0 !== BUSY && Atomics.load(meta, m + HASH) !== h)) continue;
      Atomics.add(meta, m + PINS, 1);
      for (;;) {
        const v = this.waitWhile(m, BUSY);
        if (v === FREE || !this.keyMatches(slot, len)) break;
        if (v === PENDING) {
          this.waitWhile(m, PENDING);
          continue;
        }
        return slot;
      }
      Atomics.sub(meta, m + PINS, 1);
    }
    return -1;
  }

  private bump(slot: number, delta: 1 | -1, key: string): number {
    const m = slot * STRIDE;
    for (;;) {
      // BUSY here is a reclaim attempt that will see our pin and put READY(0) back.
      const v = this.waitWhile(m, BUSY);
      const n = v - 1 + delta;
      if (n < 0) throw new CounterUnderflowError(key);
      const revives = v === READY0;
      if (revives) this.reserveLive(key);
      if (Atomics.compareExchange(this.meta, m + CTL, v, n + 1) !== v) {
        if (revives) Atomics.sub(this.header, H_LIVE, 1);
        continue;
      }
      if (n === 0) {
        Atomics.sub(this.header, H_LIVE, 1);
        Atomics.add(this.header, H_RELEASES, 1);
      }
      return n;
    }
  }

  /** Counts one more live key before it becomes visible, so `maxLive` holds exactly under races. */
  private reserveLive(key: string): void {
    if (Atomics.add(this.header, H_LIVE, 1) < this.maxLive) return;
    Atomics.sub(this.header, H_LIVE, 1);
    throw new RegistryFullError(`counter map (inserting ${JSON.stringify(key)})`, this.maxLive);
  }

  /** Inserts the encoded key with count 1. Returns 1, or -1 when the caller must search again. */
  private insert(home: number, h: number, len: number, key: string): number {
    this.reserveLive(key);
    let inserted = -1;
    try {
      inserted = this.claim(home, h, len, key);
      return inserted;
    } finally {
      if (inserted < 0) Atomics.sub(this.header, H_LIVE, 1);
    }
  }

  private claim(home: number, h: number, len: number, key: string): number {
    const meta = this.meta;
    let contended = false;
    for (let d = 0; d < this.slots; d++) {
      const slot = (home + d) & this.mask;
      const m = slot * STRIDE;
      const v = Atomics.load(meta, m + CTL);
      if (v !== EMPTY && v !== FREE && v !== READY0) continue;
      this.hooks?.onEvent('candidate', slot);
      this.raiseBound(home, d);
      if (Atomics.compareExchange(meta, m + CTL, v, BUSY) !== v) {
        contended = true;
        continue;
      }
      if (v === EMPTY) Atomics.add(this.header, H_USED, 1);
      else if (Atomics.load(meta, m + PINS) !== 0) {
        // A mutator matched the old key here; rewriting it would redirect that mutator's CAS.
        this.release(m, v);
        contended = true;
        continue;
      }
      this.writeKey(slot, h, len);
      this.release(m, PENDING);
      this.hooks?.onEvent('published', slot);
      if (!this.isSoleCopy(home, d, h, len)) {
        this.release(m, FREE);
        return -1;
      }
      this.release(m, READY0 + 1);
      return 1;
    }
    if (contended) return -1;
    throw new RegistryFullError(`counter map (inserting ${JSON.stringify(key)})`, this.slots);
  }

  private writeKey(slot: number, h: number, len: number): void {
    const meta = this.meta;
    const m = slot * STRIDE;
    const base = slot * this.keyWords;
    const words = this.codec.words;
    Atomics.add(meta, m + GEN, 1);
    Atomics.store(meta, m + HASH, h);
    Atomics.store(meta, m + LEN, len);
    Atomics.store(this.keys, base, words[0]);
    this.hooks?.onEvent('claimed', slot);
    for (let w = 1, nw = (len + 3) >> 2; w < nw; w++) Atomics.store(this.keys, base + w, words[w]);
    Atomics.add(meta, m + GEN, 1);
  }

  /**
   * Whether our PENDING slot at distance `mine` is the one copy of the key to keep (see the header for the rules).
   * The bound is read after our PENDING store, which is what makes the scan see any racing claimer.
   */
  private isSoleCopy(home: number, mine: number, h: number, len: number): boolean {
    const meta = this.meta;
    const bound = Atomics.load(this.bounds, home);
    for (let d = 0; d <= bound; d++) {
      if (d === mine) continue;
      const slot = (home + d) & this.mask;
      const m = slot * STRIDE;
      const v0 = Atomics.load(meta, m + CTL);
      if (v0 === EMPTY) return true;
      if (v0 === FREE || (v0 !== BUSY && Atomics.load(meta, m + HASH) !== h)) continue;
      Atomics.add(meta, m + PINS, 1);
      try {
        for (;;) {
          const v = this.waitWhile(m, BUSY);
          if (v === FREE || !this.keyMatches(slot, len)) break;
          if (v >= READY0 || d < mine) return false;
          this.waitWhile(m, PENDING);
        }
      } finally {
        Atomics.sub(meta, m + PINS, 1);
      }
    }
    return true;
  }

  private raiseBound(home: number, d: number): void {
    for (;;) {
      const b = Atomics.load(this.bounds, home);
      if (b >= d || Atomics.compareExchange(this.bounds, home, b, d) === b) return;
    }
  }

  /** Stores a CTL value that ends a BUSY or PENDING phase, and wakes anyone waiting on it. */
  private release(m: number, value: number): void {
    Atomics.store(this.meta, m + CTL, value);
    Atomics.notify(this.meta, m + CTL);
  }

  /** Returns CTL once it differs from `value`. Spins briefly (phases last nanoseconds), then sleeps on the word. */
  private waitWhile(m: number, value: number): number {
    for (let i = 0; ; i++) {
      const v = Atomics.load(this.meta, m + CTL);
      if (v !== value) return v;
      if (i >= SPINS_BEFORE_WAIT) Atomics.wait(this.meta, m + CTL, value, WAIT_MS);
    }
  }

  private keyMatches(slot: number, len: number): boolean {
    if (Atomics.load(this.meta, slot * STRIDE + LEN) !== len) return false;
    const keys = this.keys;
    const words = this.codec.words;
    const base = slot * this.keyWords;
    for (let w = 0, nw = (len + 3) >> 2; w < nw; w++) {
      if (Atomics.load(keys, base + w) !== words[w]) return false;
    }
    return true;
  }
}
