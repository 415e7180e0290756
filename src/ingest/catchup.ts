/**
 * Snapshots and resumes, answered by the main thread (the one place that has seen every published tick).
 *
 * Why they are gap-free and duplicate-free: the worker counts the subscription in the registry before it asks, so
 * from then on the fan-out publishes the symbol to that worker; the answer is built synchronously from memory and
 * posted on the worker's port with no await in between, so it lands after every frame already handed to the worker
 * and before the next. The worker sends the answer, then subscribes the socket to the topic: the first live frame
 * the client gets is the one that follows the answer's last tick.
 *
 * Memory (the per-symbol history) serves most requests; Redis fills in what memory no longer holds, read before the
 * synchronous build: resume ticks by coalesced, budgeted scans (catchup/scan.ts), the latest tick of symbols not
 * published since startup from an index read once in the background (catchup/latest-index.ts).
 *
 * A `since` beyond the frontier names a tick this gateway has not published: it is answered with RESUME_UNAVAILABLE
 * and a snapshot, never with an empty replay that would leave the client holding an id that does not exist yet.
 *
 * One instance per source: the real-time fan-out, and the delayed one (its history, frontier and positions are the
 * delayed tier's). A rate tier's resume is no replay (its clients never get every tick): see `collapse`.
 */
import { Logger } from '../log';
import { FormatName } from '../wire/formats';
import { compareStreamIds, FrameKind, Tick, TickBatch } from '../wire/tick';
import { PublishedHistory } from './fanout';
import type { ControlFor } from '../redis/endpoints';
import { LatestIndex } from './catchup/latest-index';
import { CatchupCancelled, Fetched, ScanScheduler } from './catchup/scan';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScanRate } from './catchup/scan-rate';
import type { CatchupAnswer, CatchupRequest } from '../contracts/catchup';
import type { SnapshotTick } from '../protocol/messages';
import { tierAt } from '../protocol/tiers';

export type FrameEncoderWithKind = (format: FormatName, batch: TickBatch, sent: number, kind: FrameKind) => string | Uint8Array;

export interface CatchupOptions {
  streams: string[];
  /**
   * The stream holding `sym`'s ticks, when the layout says (one stream, or shards): its resume reads only that
   * stream and is compared with that stream's frontier. undefined: any of `streams` (several unsharded streams).
   */
  streamOf(sym: string): string | undefined;
  /** Most ticks one request replays, over all its symbols: encoding and sending them is work done in one piece. */
  maxReplayTicks: number;
  /** Most entries read for one request; also how far back the latest-tick index reads each stream. */
  scanLimit: number;
  /** Stream entries per second the whole process reads for catch-up. */
  scanRate: number;
  /** Longest a request waits for what it reads from Redis, in ms. */
  timeoutMs: number;
}

/** Ticks per replay frame: large enough to compress well, small enough to stay far below a socket's buffer limit. */
const REPLAY_FRAME_TICKS = 500;
/** Entries per XRANGE/XREVRANGE: each page is one slice of main-thread work between turns of the event loop. */
const SCAN_PAGE = 500;
/** How often a request made before the reader has set up its group looks again. */
const FRONTIER_POLL_MS = 20;

export class Catchup {
  private readonly scans: ScanScheduler;
  private readonly index: LatestIndex;

  constructor(
    private readonly published: PublishedHistory,
    redis: ControlFor,
    private readonly opts: CatchupOptions,
    private readonly encode: FrameEncoderWithKind,
    log: Logger,
  ) {
    const rate = new ScanRate(opts.scanRate);
    const frontier = (stream: string) => published.frontier(stream);
    this.scans = new ScanScheduler(redis, frontier, rate,
      { streams: opts.streams, streamOf: opts.streamOf, requestEntries: opts.scanLimit, requestTicks: opts.maxReplayTicks, requestMs: opts.timeoutMs, pageSize: SCAN_PAGE });
    this.index = new LatestIndex(redis, frontier, rate, { streams: opts.streams, scanLimit: opts.scanLimit, pageSize: SCAN_PAGE }, log);
  }

  /** Starts filling the latest-tick index (once each stream's frontier is known). */
  start(): void {
    this.index.start();
  }

  stop(): void {
    this.index.stop();
  }

  /**
   * Reads from Redis what memory lacks, then returns the synchronous builder of the answer. The caller must build
   * and post the answer with no await in between (see the module comment). Rejects with CatchupCancelled once
   * `signal` aborts (the client is gone): its reads stop holding scans open.
   */
  async prepare(req: CatchupRequest, signal?: AbortSignal): Promise<() => CatchupAnswer> {
    const deadline = Date.now() + this.opts.timeoutMs;
    // Without a frontier, what Redis holds cannot be split into "already published" and "still to come live". A
    // gateway that has just (re)started serves clients before its reader is set up: their resumes wait for it.
    while (this.published.position === '') {
      if (signal?.aborted) throw new CatchupCancelled();
      if (Date.now() >= deadline) throw new Error('the stream reader has not set up its consumer group yet');
      await sleep(FRONTIER_POLL_MS, undefined, { ref: false });
    }
    await this.reachSince(req.since, deadline, signal);
    const rated = tierAt(req.tier).maxRate !== undefined;
    const future = new Set<string>();
    const toRead: Record<string, string> = {};
    for (const [sym, since] of Object.entries(req.since)) {
      if (compareStreamIds(since, this.frontierOf(sym)) > 0) future.add(sym);
      else if (!rated && !this.published.history(sym)?.covers(since)) toRead[sym] = since;
    }
    const fetched = await this.scans.read(toRead, signal);
    // The index is filled once, at startup: only a request that will take a snapshot (or a rate tier's resume, which
    // is the latest tick too) waits for it, and only for the symbols memory cannot answer.
    const latestOf = [...req.snapshot, ...future, ...[...fetched].filter(([, f]) => f.incomplete).map(([sym]) => sym),
      ...(rated ? Object.keys(req.since) : [])];
    if (latestOf.some((sym) => this.published.history(sym)?.latest() === undefined)) await this.index.whenReady(deadline, signal);
    return () => (rated ? this.collapse(req, future) : this.build(req, future, fetched));
  }

  /** What this gateway has published of `sym`'s stream (of every stream when the layout does not say which). */
  private frontierOf(sym: string): string {
    const stream = this.opts.streamOf(sym);
    return stream === undefined ? this.published.position : this.published.frontier(stream);
  }

  /**
   * A client that failed over from another gateway instance holds ids that instance had read: this one reads the same
   * stream through its own group and may be a few reads behind. Waits (until the request's deadline) for each
   * `since` to be published here, so the resume replays from memory instead of refusing a position that is only
   * not read yet. A `since` still ahead at the deadline is refused as before (RESUME_UNAVAILABLE and a snapshot).
   */
  private async reachSince(since: Record<string, string>, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    const ahead = () => Object.entries(since).some(([sym, id]) => compareStreamIds(id, this.frontierOf(sym)) > 0);
    while (ahead() && Date.now() < deadline) {
      if (signal?.aborted) throw new CatchupCancelled();
      await sleep(FRONTIER_POLL_MS, undefined, { ref: false });
    }
  }

  private build(req: CatchupRequest, future: Set<string>, fetched: Map<string, Fetched>): CatchupAnswer {
    const frames: CatchupAnswer['frames'] = [];
    const unavailable: string[] = [];
    const toSnapshot = [...req.snapshot];
    const sent = Date.now();
    let budget = this.opts.maxReplayTicks;
    for (const [sym, since] of Object.entries(req.since)) {
      const ticks = future.has(sym) ? undefined : this.replayable(sym, since, fetched.get(sym));
      if (ticks === undefined || ticks.length > budget) {
        unavailable.push(sym);
        toSnapshot.push(sym);
        continue;
      }
      budget -= ticks.length;
      this.published.heldByClient(sym, ticks.length > 0 ? ticks[ticks.length - 1].id : since);
      let prev = since;
      for (let i = 0; i < ticks.length; i += REPLAY_FRAME_TICKS) {
        const chunk = ticks.slice(i, i + REPLAY_FRAME_TICKS);
        frames.push(this.answerFrame(req.format, { sym, prev, ticks: chunk }, sent, 'replay'));
        prev = chunk[chunk.length - 1].id;
      }
    }
    return this.withSnapshot(frames, unavailable, toSnapshot);
  }

  /**
   * A rate tier's resume: the client missed frames that each carried only the symbol's latest tick, so it gets just
   * that, one `conflated` frame `{prev: since, ticks: [latest]}` when the latest is newer than its `since`, nothing
   * when it is not (or when no tick of the symbol is known: it holds the newest there is). Only a `since` beyond the
   * frontier is RESUME_UNAVAILABLE (and a snapshot), as for the full tier. Snapshots are the source's.
   */
  private collapse(req: CatchupRequest, future: Set<string>): CatchupAnswer {
    const frames: CatchupAnswer['frames'] = [];
    const unavailable = [...future];
    const sent = Date.now();
    for (const [sym, since] of Object.entries(req.since)) {
      if (future.has(sym)) continue;
      const latest = this.latest(sym);
      if (latest === undefined || compareStreamIds(latest.id, since) <= 0) {
        this.published.heldByClient(sym, since);
        continue;
      }
      this.published.heldByClient(sym, latest.id);
      frames.push(this.answerFrame(req.format, { sym, prev: since, ticks: [latest] }, sent, 'conflated'));
    }
    return this.withSnapshot(frames, unavailable, [...req.snapshot, ...future]);
  }

  private withSnapshot(frames: CatchupAnswer['frames'], unavailable: string[], toSnapshot: string[]): CatchupAnswer {
    if (toSnapshot.length === 0) return { frames, unavailable };
    const ticks: SnapshotTick[] = [];
    for (const sym of toSnapshot) {
      const t = this.latest(sym);
      if (!t) continue;
      ticks.push({ sym, ...t });
      this.published.heldByClient(sym, t.id);
    }
    return { frames, unavailable, snapshot: { position: this.published.position, ticks } };
  }

  /** One frame of an answer. A copy of exactly a binary frame's bytes: the encoder may return a view into a shared pool. */
  private answerFrame(format: FormatName, batch: TickBatch, sent: number, kind: FrameKind): CatchupAnswer['frames'][number] {
    const frame = this.encode(format, batch, sent, kind);
    return typeof frame === 'string' ? { frame, binary: false } : { frame: new Uint8Array(frame), binary: true };
  }

  /** Both are at or before the frontier: the history holds what was published, the index what preceded startup. */
  private latest(sym: string): Tick | undefined {
    return this.published.history(sym)?.latest() ?? this.index.get(sym);
  }

  /** Every tick of `sym` after `since` up to now, or undefined when that cannot be known for certain. */
  private replayable(sym: string, since: string, fetched: Fetched | undefined): Tick[] | undefined {
    const history = this.published.history(sym);
    if (history?.covers(since)) return history.after(since);
    if (fetched === undefined || fetched.incomplete) return undefined;
    // Never published since startup: nothing after the scan's end (the frontier when it began) exists yet.
    if (history === undefined) return fetched.ticks;
    // Ticks published after the scan's end must all still be in memory, or there could be a hole between the two.
    if (!history.holdsPublishedAfter(fetched.through)) return undefined;
    const last = fetched.ticks.length > 0 ? fetched.ticks[fetched.ticks.length - 1].id : since;
    return [...fetched.ticks, ...history.after(last)];
  }
}
