/**
 * Subscription tiers (protocol v1): how often and how late one subscription's data frames come.
 *
 * - `maxRate` (frames per second per symbol) is rounded **down** to one of RATE_TIERS, so every client of a tier
 *   shares one topic per (symbol, format) and a frame is encoded once per tier, never per client. A rate above the
 *   largest tier is served at the largest; absent means every tick.
 * - `delayed` serves every tick, each no sooner than the gateway's `--delay-s` after its stream id's time.
 * - The two combine: a delayed watchlist at 4/s is the tier `delayed 4/s`.
 *
 * A tier is interned: compare them with ===. Browser-safe: the SDK imports it.
 */
import { FormatName, topicFor } from '../wire/formats';

export const RATE_TIERS = [1, 2, 4, 10] as const;
export type RateTier = (typeof RATE_TIERS)[number];

export interface Tier {
  /** Index in TIERS: how a tier crosses the worker boundary (structured clone loses identity). */
  readonly index: number;
  /** Frames per second per symbol; undefined: every tick. */
  readonly maxRate: RateTier | undefined;
  readonly delayed: boolean;
  /** Topic infix: '' for the full real-time tier, so its topics keep their names (`json/BTC-USD`). */
  readonly key: string;
  /** Metric label value: a bounded set (TIER_LABELS). */
  readonly label: string;
}

function makeTiers(): Tier[] {
  const out: Tier[] = [];
  for (const delayed of [false, true]) {
    for (const maxRate of [undefined, ...RATE_TIERS]) {
      const key = `${delayed ? 'd' : ''}${maxRate ?? ''}`;
      const label = [delayed ? 'delayed' : '', maxRate === undefined ? (delayed ? '' : 'full') : `${maxRate}/s`].filter(Boolean).join(' ');
      out.push({ index: out.length, maxRate, delayed, key, label });
    }
  }
  return out;
}

/** Every tier: real-time full, 1/s, 2/s, 4/s, 10/s, then the same delayed. */
export const TIERS: readonly Tier[] = makeTiers();
export const FULL: Tier = TIERS[0];
export const TIER_LABELS: readonly string[] = TIERS.map((t) => t.label);

/** The largest rate tier at or below `maxRate` (which the request parser has checked is at least 1). */
export function roundRate(maxRate: number): RateTier {
  let tier: RateTier = RATE_TIERS[0];
  for (const r of RATE_TIERS) if (r <= maxRate) tier = r;
  return tier;
}

/** The tier a subscribe asks for. */
export function tierFor(maxRate: number | undefined, delayed: boolean): Tier {
  const rate = maxRate === undefined ? undefined : roundRate(maxRate);
  return TIERS.find((t) => t.delayed === delayed && t.maxRate === rate)!;
}

/** The tier with this index (from a catch-up request); FULL for anything else. */
export function tierAt(index: number | undefined): Tier {
  return (index !== undefined && TIERS[index]) || FULL;
}

/** `json/BTC-USD` (full), `json@4/BTC-USD`, `json@d/BTC-USD`, `json@d4/BTC-USD`. */
export function tierTopic(format: FormatName, symbol: string, tier: Tier): string {
  return tier.key === '' ? topicFor(format, symbol) : topicFor(`${format}@${tier.key}` as FormatName, symbol);
}
