/**
 * The in-band announcement of ticks lost before the gateway could read them (protocol v1):
 *
 *   {"type":"gap","stream":"ticks","after":"1732480000000-5","through":"1732480003000-0","reason":"trimmed"}
 *
 * Entries of `stream` with ids in (`after`, `through`] were removed from Redis (trimmed, deleted, or the key or the
 * consumer group recreated) before the gateway read them. The gateway cannot know which symbols they carried, so
 * every connection is told: a client treats each symbol it holds as having a gap there and takes a fresh snapshot.
 * `through` is an upper bound: entries in the range that still exist are delivered as usual.
 *
 * Sent as a text frame on one topic every socket holds from its open, so it costs one publish per worker, never
 * per client. Browser-safe: the SDK imports the reasons and the decoder.
 */
export const LOSS_REASONS = ['trimmed', 'deleted', 'stream_recreated'] as const;
export type LossReason = (typeof LOSS_REASONS)[number];

export interface StreamLoss {
  stream: string;
  after: string;
  through: string;
  reason: LossReason;
  /**
   * Set on the delayed tier's copy (`"delayed":true`), sent when the delayed data reaches the hole: it concerns only
   * the symbols a client holds on the delayed tier. Without it, only the real-time symbols.
   */
  delayed?: true;
}

export function gapMessage(loss: StreamLoss): string {
  return JSON.stringify({ type: 'gap', stream: loss.stream, after: loss.after, through: loss.through, reason: loss.reason, delayed: loss.delayed });
}

/** The SDK's reading of a gap message (already parsed from JSON); undefined when it is not a well-formed one. */
export function decodeGapMessage(o: Record<string, unknown>): StreamLoss | undefined {
  const { stream, after, through, reason } = o;
  if (o.type !== 'gap' || typeof stream !== 'string' || typeof after !== 'string' || typeof through !== 'string') return undefined;
  if (!(LOSS_REASONS as readonly unknown[]).includes(reason)) return undefined;
  const loss: StreamLoss = { stream, after, through, reason: reason as LossReason };
  if (o.delayed === true) loss.delayed = true;
  return loss;
}
