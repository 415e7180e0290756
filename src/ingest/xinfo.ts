/**
 * Redis's XINFO replies, read in one place. Both come as flat `[name, value, name, value, ...]` lists (RESP2).
 */

/** The fields of XINFO STREAM that loss detection and catch-up read. */
export interface StreamInfo {
  length: number;
  lastGeneratedId: string;
  maxDeletedId: string;
  entriesAdded: number;
  /** `recorded-first-entry-id`: the oldest entry's id, '0-0' when the stream is empty. */
  firstId: string;
}

/** The value of `name` in a flat reply. */
function field(flat: unknown[], name: string): unknown {
  return flat[flat.indexOf(name) + 1];
}

export function parseStreamInfo(reply: unknown[]): StreamInfo {
  return {
    length: Number(field(reply, 'length')),
    lastGeneratedId: String(field(reply, 'last-generated-id')),
    maxDeletedId: String(field(reply, 'max-deleted-entry-id')),
    entriesAdded: Number(field(reply, 'entries-added')),
    firstId: String(field(reply, 'recorded-first-entry-id')),
  };
}

/** The fields of one group in an XINFO GROUPS reply that the reader and the lag sampler read. */
export interface GroupInfo {
  lastDeliveredId: string;
  pending: number;
  /** Undefined when Redis cannot compute it (nil). */
  lag: number | undefined;
}

/** `group`'s entry in an XINFO GROUPS reply; undefined when the stream has no such group. */
export function findGroup(reply: unknown[][], group: string): GroupInfo | undefined {
  const flat = reply.find((g) => field(g, 'name') === group);
  if (flat === undefined) return undefined;
  const lag = field(flat, 'lag');
  return { lastDeliveredId: String(field(flat, 'last-delivered-id')), pending: Number(field(flat, 'pending')),
    lag: typeof lag === 'number' ? lag : undefined };
}
