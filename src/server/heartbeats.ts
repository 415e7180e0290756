/**
 * The quiet-symbol heartbeat (--quiet-heartbeat-s N): every N seconds, one message per connection naming its held
 * symbols whose tier topic had no frame published on this server thread since the previous heartbeat (or none ever),
 * each with the last id on that topic, so a client can tell a quiet symbol from a stalled connection.
 *
 * Assembled from HEARTBEAT pieces (protocol/messages.ts), each encoded once per interval: the head once, one entry
 * per topic (shared by every client of the topic; '' for a topic that was not quiet), the tail. Cost per interval:
 * one tierTopic string and one Map lookup per (open connection × held symbol), plus one NewestFrames lookup and at
 * most one frame decode per distinct topic. At 100,000 connections × 10 symbols that is 10^6 lookups every N
 * seconds, on the sweep's timer, not on the publish path.
 */
import { HEARTBEAT } from '../protocol/messages';
import { tierTopic } from '../protocol/tiers';
import { Metrics } from '../metrics/metrics';
import { SessionState, Socket } from './session-data';
import { NewestFrames } from './newest-frames';

export class Heartbeats {
  private nextAt: number;
  private head = '';
  /** This interval's entry per topic; '' for a topic that had a frame. */
  private readonly entries = new Map<string, string>();

  /**
   * `intervalMs` 0: off. `pieces` are HEARTBEAT's encoders (a spec counts their calls).
   */
  constructor(private readonly intervalMs: number, private readonly frames: NewestFrames, private readonly metrics: Metrics,
    now: number, private readonly pieces: Pick<typeof HEARTBEAT, 'head' | 'entry'> = HEARTBEAT) {
    this.nextAt = now + intervalMs;
  }

  /**
   * Whether a heartbeat is due at `now`; if so, starts it: send() it to each socket, then end() it. Due at most once
   * per interval, so a topic quiet since the previous one has been quiet for at least the interval.
   */
  begin(now: number): boolean {
    if (this.intervalMs === 0 || now < this.nextAt) return false;
    this.nextAt = now + this.intervalMs;
    this.head = this.pieces.head(now);
    return true;
  }

  /** The heartbeat of one connection: nothing when paused, closed, or none of its symbols is quiet. */
  send(ws: Socket): void {
    const s = ws.getUserData().session;
    if (s.state === SessionState.Paused || s.state === SessionState.Closed) return;
    let body = '';
    for (const [sym, tier] of s.symbols) {
      const topic = tierTopic(s.format, sym, tier);
      let entry = this.entries.get(topic);
      if (entry === undefined) {
        entry = this.frames.quiet(topic) ? this.pieces.entry(sym, this.frames.latestTick(topic)?.id ?? null) : '';
        this.entries.set(topic, entry);
      }
      if (entry !== '') body = body === '' ? entry : `${body},${entry}`;
    }
    if (body === '') return;
    ws.cork(() => ws.send(this.head + body + HEARTBEAT.tail, false));
    this.metrics.heartbeats.inc();
  }

  /** Ends the heartbeat begun: frames from now on count for the next one. */
  end(): void {
    this.entries.clear();
    this.frames.nextEpoch();
  }
}
