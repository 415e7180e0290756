/**
 * The slow-consumer ladder, per connection: full rate → conflated → snapshot-only → disconnect (4001), driven by
 * the bytes uWS holds unsent for the socket and how long they stay high, and back up as the client drains. Every
 * step is announced in-band (`{"type":"mode",...}`) and counted.
 *
 * A degraded client is unsubscribed from its live topics, so the native fan-out never queues for it and the
 * other clients' latency does not move; it gets the latest tick per symbol from the newest frame this worker
 * published on the topic of the symbol's tier (newest-frames.ts). Those frames are decoded only for degraded clients
 * (and heartbeats), once per frame.
 *
 * Consistency: the ladder runs between message handlers, so the newest frames it reads are exactly those published
 * so far; a client returning to full rate gets a snapshot from them and is subscribed in the same step, so its
 * first live frame follows the snapshot's ticks.
 */
import { encodeFrame } from '../wire/frame-encode';
import { compareStreamIds } from '../wire/tick';
import { tierTopic } from '../protocol/tiers';
import { Metrics } from '../metrics/metrics';
import { encodeMode, encodeSnapshot, SnapshotTick, StreamMode } from '../protocol/messages';
import { LadderState, SessionData, SessionState, Socket } from './session-data';
import { degrade, restore } from './subscriptions';
import { endWith } from './close';
import { NewestFrames } from './newest-frames';

export interface LadderOptions {
  conflateAboveBytes: number;
  conflateAfterMs: number;
  conflateIntervalMs: number;
  snapshotOnlyAfterMs: number;
  slowDisconnectAfterMs: number;
  recoverBelowBytes: number;
  recoverAfterMs: number;
}

export class SlowConsumerLadder {
  /** `frames`: the newest frame published on each topic by this worker. */
  constructor(private readonly opts: LadderOptions, private readonly metrics: Metrics, private readonly frames: NewestFrames) {}

  /** Runs on a timer over every socket; for a healthy one it is a buffered-amount read and a comparison. */
  check(ws: Socket, now: number): void {
    const s = ws.getUserData().session;
    if (s.state !== SessionState.Open) return;
    const buffered = ws.getBufferedAmount();
    const o = this.opts;
    const high = buffered > o.conflateAboveBytes;
    if (!high && s.ladder === undefined) return;
    const l = (s.ladder ??= { mode: 'full', aboveSince: 0, belowSince: 0, conflatedAt: 0, lastSent: new Map() });
    if (high) {
      l.belowSince = 0;
      if (l.aboveSince === 0) l.aboveSince = now;
    } else {
      l.aboveSince = 0;
      if (buffered >= o.recoverBelowBytes) l.belowSince = 0;
      else if (l.belowSince === 0) l.belowSince = now;
    }
    const highFor = l.aboveSince === 0 ? 0 : now - l.aboveSince;
    const drainedFor = l.belowSince === 0 ? 0 : now - l.belowSince;
    switch (l.mode) {
      case 'full':
        if (high && highFor >= o.conflateAfterMs) this.toConflated(ws, s, l);
        // A brief spike that drained again: nothing to remember.
        else if (!high) s.ladder = undefined;
        return;
      case 'conflated':
        if (high && highFor >= o.snapshotOnlyAfterMs) return this.step(ws, l, 'snapshot-only', 'still above limit while conflated');
        if (drainedFor >= o.recoverAfterMs) return this.toFull(ws, s, l);
        if (!high && now - l.conflatedAt >= o.conflateIntervalMs) this.sendConflated(ws, s, l, now);
        return;
      case 'snapshot-only':
        if (high && highFor >= o.slowDisconnectAfterMs) {
          return endWith(ws, this.metrics, 'SLOW_CONSUMER', true);
        }
        if (drainedFor > 0) {
          // Drained: a snapshot brings it up to date, and conflation resumes from there.
          const ticks = this.latestTicks(s);
          ws.send(encodeSnapshot({ position: newestId(ticks), ticks }), false);
          l.lastSent = new Map(ticks.map((t) => [t.sym, t.id]));
          this.step(ws, l, 'conflated', 'drained');
        }
        return;
    }
  }

  private toConflated(ws: Socket, s: SessionData, l: LadderState): void {
    degrade(ws, s);
    // Everything published on its topics so far was queued to the socket: that is where conflation starts.
    l.lastSent = new Map(this.latestTicks(s).map((t) => [t.sym, t.id]));
    l.conflatedAt = 0;
    this.step(ws, l, 'conflated', 'send buffer above limit');
  }

  private toFull(ws: Socket, s: SessionData, l: LadderState): void {
    ws.cork(() => {
      const ticks = this.latestTicks(s);
      ws.send(encodeSnapshot({ position: newestId(ticks), ticks }), false);
      restore(ws, s);
      this.step(ws, l, 'full', 'drained');
    });
    s.ladder = undefined;
  }

  /** At most one frame per symbol: its latest tick, covering (last sent, latest]. */
  private sendConflated(ws: Socket, s: SessionData, l: LadderState, now: number): void {
    l.conflatedAt = now;
    ws.cork(() => {
      for (const [sym, tier] of s.symbols) {
        const t = this.frames.latestTick(tierTopic(s.format, sym, tier));
        const prev = l.lastSent.get(sym);
        if (!t || (prev !== undefined && compareStreamIds(t.id, prev) <= 0)) continue;
        const frame = encodeFrame(s.format, { sym, prev, ticks: [t] }, now, 'conflated');
        ws.send(frame, typeof frame !== 'string');
        l.lastSent.set(sym, t.id);
        this.metrics.conflatedFrames.inc();
      }
    });
  }

  private step(ws: Socket, l: LadderState, mode: StreamMode, reason: string): void {
    l.mode = mode;
    l.aboveSince = 0;
    l.belowSince = 0;
    this.metrics.modeChanges.inc({ mode });
    ws.send(encodeMode({ mode, reason }), false);
  }

  private latestTicks(s: SessionData): SnapshotTick[] {
    const out: SnapshotTick[] = [];
    for (const [sym, tier] of s.symbols) {
      const t = this.frames.latestTick(tierTopic(s.format, sym, tier));
      if (t) out.push({ sym, ...t });
    }
    return out;
  }
}

/**
 * A ladder snapshot's position: the newest id it contains. The worker sees frames, not the stream, and every later
 * frame it publishes on these topics comes after that id.
 */
function newestId(ticks: SnapshotTick[]): string {
  let newest = '0-0';
  for (const t of ticks) if (compareStreamIds(t.id, newest) > 0) newest = t.id;
  return newest;
}
