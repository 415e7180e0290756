/**
 * The catch-up contract between a worker's sessions (which ask) and the main thread's ingest (which answers, see
 * src/ingest/catchup.ts): types only, so neither side imports the other to speak it.
 */
import type { SnapshotTick } from '../protocol/messages';
import type { FormatName } from '../wire/formats';

export interface CatchupRequest {
  format: FormatName;
  /**
   * The tier (src/protocol/tiers.ts, by index) of every symbol of the request. Delayed tiers are answered from what
   * the delayed tier has published (delayed positions); rate tiers resume with one `conflated` frame, the symbol's
   * latest tick with `prev` = the `since` given, instead of a replay.
   */
  tier: number;
  /** Symbols to snapshot (their latest tick). */
  snapshot: string[];
  /** Symbols to resume: replay every tick after the id. */
  since: Record<string, string>;
}

export interface CatchupAnswer {
  frames: { frame: string | Uint8Array; binary: boolean }[];
  /** Symbols whose resume position cannot be replayed (too old, across a removal, over budget, or in the future): they get a snapshot. */
  unavailable: string[];
  snapshot?: { position: string; ticks: SnapshotTick[] };
  /** Set when the answer could not be prepared (Redis unreachable); the subscribe is refused with INTERNAL. */
  failed?: string;
}
