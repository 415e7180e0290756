/**
 * Snapshots and resumes, answered by the main thread (the one place that has seen every published tick).
 *
 * Why they are gap-free and duplicate-free: the worker counts the subscription in the registry before it asks, so
 * from then on the fan-out publishes the symbol to that worker; the answer is built synchronously from memory and
 * posted on the worker's port with no await in between, so it lands after every frame already handed to the worker
 * and before the next. The worker sends the answer, then subscribes the socket to the topic: the first live frame
 * the client gets is the one that follows the answer's last tick.
 *
 * Memory (the per-symbol history) serves most requests; Redis (XRANGE/XREVRANGE on the control connection) fills
 * in what memory no longer holds, read before the synchronous build.
 */
import { Logger } from '../log';
import { FormatName } from '../wire/formats';
import { compareStreamIds, FrameKind, Tick, TickBatch } from '../wire/tick';
import { PublishedHistory, RawEntry } from './fanout';
import { parseEntry } from './parse-entry';
import { Redis } from './redis';

export type FrameEncoderWithKind = (format: FormatName, batch: TickBatch, sent: number, kind: FrameKind) => string | Uint8Array;

export interface CatchupRequest {
  format: FormatName;
  /** Symbols to snapshot (their latest tick). */
  snapshot: string[];
  /** Symbols to resume: replay every tick after the id. */
  since: Record<string, string>;
}

export type SnapshotTick = Tick & { sym: string };

export interface CatchupAnswer {
  frames: { frame: string | Uint8Array; binary: boolean }[];
  /** Symbols whose resume position is older than what memory and the stream still hold: they get a snapshot. */
  unavailable: string[];
  snapshot?: { position: string; ticks: SnapshotTick[] };
  /** Set when the answer could not be prepared (Redis unreachable); the subscribe is refused with INTERNAL. */
  failed?: string;
}

export interface CatchupOptions {
  streams: string[];
  maxReplayTicks: number;
  scanLimit: number;
}

/** Ticks per replay frame: large enough to compress well, small enough to stay far below a socket's buffer limit. */
const REPLAY_FRAME_TICKS = 500;
const SCAN_PAGE = 1000;

interface Fetched {
  ticks: Tick[];
  /** Entries after the position may have been trimmed, or the scan limit was reached. */
  incomplete: boolean;
}

export class Catchup {
  constructor(
    private readonly published: PublishedHistory,
    private readonly redis: Redis,
    private readonly opts: CatchupOptions,
    private readonly encode: FrameEncoderWithKind,
    private readonly log: Logger,
  ) {}

  /**
   * Reads from Redis what memory lacks, then returns the synchronous builder of the answer. The caller must build
   * and post the answer with no await in between (see the module comment).
   */
  async prepare(req: CatchupRequest): Promise<() => CatchupAnswer> {
    // Without a frontier, what Redis holds cannot be split into "already published" and "still to come live".
    if (this.published.position === '') throw new Error('the stream reader has not set up its consumer group yet');
    const fetched = new Map<string, Fetched>();
    for (const [sym, since] of Object.entries(req.since)) {
      if (!this.published.history(sym)?.covers(since)) fetched.set(sym, await this.readAfter(sym, since));
    }
    const loaded = new Map<string, Tick>();
    for (const sym of [...req.snapshot, ...Object.keys(req.since)]) {
      if (this.published.history(sym)?.latest() === undefined) {
        const t = await this.readLatest(sym);
        if (t) loaded.set(sym, t);
      }
    }
    return () => this.build(req, fetched, loaded);
  }

  private build(req: CatchupRequest, fetched: Map<string, Fetched>, loaded: Map<string, Tick>): CatchupAnswer {
    // What Redis returned beyond the frontier will reach the client live: replaying it too would duplicate it.
    const frontier = this.published.position;
    const published = (t: Tick) => compareStreamIds(t.id, frontier) <= 0;
    for (const f of fetched.values()) f.ticks = f.ticks.filter(published);
    for (const [sym, t] of loaded) if (!published(t)) loaded.delete(sym);
    const frames: CatchupAnswer['frames'] = [];
    const unavailable: string[] = [];
    const toSnapshot = [...req.snapshot];
    const sent = Date.now();
    for (const [sym, since] of Object.entries(req.since)) {
      const ticks = this.replayable(sym, since, fetched.get(sym));
      if (ticks === undefined || ticks.length > this.opts.maxReplayTicks) {
        unavailable.push(sym);
        toSnapshot.push(sym);
        continue;
      }
      let prev = since;
      for (let i = 0; i < ticks.length; i += REPLAY_FRAME_TICKS) {
        const chunk = ticks.slice(i, i + REPLAY_FRAME_TICKS);
        const frame = this.encode(req.format, { sym, prev, ticks: chunk }, sent, 'replay');
        // A copy of exactly the frame's bytes: the encoder may return a view into a shared pool.
        frames.push(typeof frame === 'string' ? { frame, binary: false } : { frame: new Uint8Array(frame), binary: true });
        prev = chunk[chunk.length - 1].id;
      }
    }
    if (toSnapshot.length === 0) return { frames, unavailable };
    const ticks: SnapshotTick[] = [];
    for (const sym of toSnapshot) {
      const t = this.published.history(sym)?.latest() ?? loaded.get(sym);
      if (t) ticks.push({ sym, ...t });
    }
    return { frames, unavailable, snapshot: { position: this.published.position, ticks } };
  }

  /** Every tick of `sym` after `since` up to now, or undefined when that cannot be known for certain. */
  private replayable(sym: string, since: string, fetched: Fetched | undefined): Tick[] | undefined {
    const history = this.published.history(sym);
    if (history?.covers(since)) return history.after(since);
    if (fetched === undefined || fetched.incomplete) return undefined;
    if (history === undefined) return fetched.ticks;
    const through = fetched.ticks.length > 0 ? fetched.ticks[fetched.ticks.length - 1].id : since;
    // Ticks published while Redis was being read must still be in memory, or there could be a hole between the two.
    if (history.latest() !== undefined && compareStreamIds(history.latest()!.id, through) > 0 && !history.covers(through)) return undefined;
    return [...fetched.ticks, ...history.after(through)];
  }

  private async readAfter(sym: string, since: string): Promise<Fetched> {
    const ticks: Tick[] = [];
    let incomplete = false;
    for (const stream of this.opts.streams) {
      if (await this.removedAfter(stream, since)) incomplete = true;
      let cursor = '(' + since;
      for (let scanned = 0; ; scanned += SCAN_PAGE) {
        if (scanned >= this.opts.scanLimit) {
          incomplete = true;
          break;
        }
        const page = (await this.redis.sendCommand(['XRANGE', stream, cursor, '+', 'COUNT', String(SCAN_PAGE)])) as RawEntry[];
        for (const [id, fields] of page) {
          const parsed = parseEntry(id, fields);
          if (typeof parsed !== 'string' && parsed.sym === sym) ticks.push(parsed.tick);
        }
        if (page.length < SCAN_PAGE) break;
        cursor = '(' + page[page.length - 1][0];
      }
    }
    if (this.opts.streams.length > 1) ticks.sort((a, b) => compareStreamIds(a.id, b.id));
    this.log.debug({ sym, since, ticks: ticks.length, incomplete }, 'resume read from redis');
    return { ticks, incomplete };
  }

  /**
   * Whether entries after `since` may have been removed from `stream`: by XDEL (max-deleted-entry-id) or by
   * trimming, which removes from the front, so it matters when `since` is older than the first entry left.
   * Conservative: a client whose last tick was the very last one trimmed is told to take a snapshot.
   */
  private async removedAfter(stream: string, since: string): Promise<boolean> {
    const info = (await this.redis.sendCommand(['XINFO', 'STREAM', stream])) as unknown[];
    const field = (name: string) => info[info.indexOf(name) + 1];
    const maxDeleted = String(field('max-deleted-entry-id') ?? '0-0');
    if (maxDeleted !== '0-0' && compareStreamIds(since, maxDeleted) < 0) return true;
    const trimmed = Number(field('entries-added')) > Number(field('length'));
    const first = String(field('recorded-first-entry-id') ?? '0-0');
    return trimmed && first !== '0-0' && compareStreamIds(since, first) < 0;
  }

  /** The newest tick of `sym` in the stream(s), scanning back at most scanLimit entries. */
  private async readLatest(sym: string): Promise<Tick | undefined> {
    let best: Tick | undefined;
    for (const stream of this.opts.streams) {
      let cursor = '+';
      for (let scanned = 0; scanned < this.opts.scanLimit; scanned += SCAN_PAGE) {
        const page = (await this.redis.sendCommand(['XREVRANGE', stream, cursor, '-', 'COUNT', String(SCAN_PAGE)])) as RawEntry[];
        const hit = page.map(([id, fields]) => parseEntry(id, fields)).find((p) => typeof p !== 'string' && p.sym === sym);
        if (hit && typeof hit !== 'string') {
          if (!best || compareStreamIds(hit.tick.id, best.id) > 0) best = hit.tick;
          break;
        }
        if (page.length < SCAN_PAGE) break;
        cursor = '(' + page[page.length - 1][0];
      }
    }
    return best;
  }
}
