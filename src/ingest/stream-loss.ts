/**
 * Detects entries removed from a stream before the gateway read them, from what Redis reports about the stream
 * (XINFO STREAM) right after a read, compared with what the reader had read before it. Pure: no I/O.
 *
 * What Redis 7.0 gives, as measured against redis-server 7.0.15 (src/ingest/README.md, "Loss detection"):
 * - `max-deleted-entry-id` (MD) is set by XDEL only (to the largest id it ever deleted; XTRIM and MAXLEN leave it
 *   alone in 7.0). An unread entry can only be deleted while its id is above the last id read, so once that
 *   happens MD stays above it.
 * - Trimming removes the oldest entries, so an unread entry is trimmed only with every entry before it:
 *   `recorded-first-entry-id` (F) is then above the last id read. F above it alone is no proof (the last entry read
 *   may have been the last one trimmed), so when the number of entries ever added up to the last id read is known
 *   (it is `entries-added` whenever a read reached the stream's last id), the entries lost are counted exactly;
 *   otherwise the loss is announced conservatively.
 * - `entries-added` going down means the key was deleted and recreated: whatever the old key held after the last
 *   id read is gone. So does a count that cannot hold in one key (fewer entries removed before F than were known
 *   to exist up to the last id read): the new key was refilled before it was looked at.
 */
import type { LossReason } from '../protocol/gap';
import { compareStreamIds } from '../wire/tick';
import type { StreamInfo } from './replies';


/** What the reader knows of one stream between reads. */
export interface ReadPosition {
  /** The last id the group delivered to this reader: later entries are unread. */
  after: string;
  /** Losses are announced up to here ('' for none): the same hole is not announced twice. */
  announcedThrough: string;
  /** `entries-added` at the last check; -1 before the first. */
  entriesAdded: number;
  /** How many entries were ever added up to and including `after`, when known exactly. */
  addedThroughAfter: number | undefined;
  /** The key was found recreated, but the new one held nothing after `after` yet to bound the loss with. */
  recreatedPending: boolean;
}

export interface LossCheck {
  loss: { after: string; through: string; reason: LossReason } | undefined;
  /** Entries lost, when it can be counted. */
  lost: number | undefined;
  next: ReadPosition;
}

export function initialPosition(after: string): ReadPosition {
  return { after, announcedThrough: '', entriesAdded: -1, addedThroughAfter: undefined, recreatedPending: false };
}

const isAfter = (a: string, b: string) => compareStreamIds(a, b) > 0;
const later = (a: string, b: string) => (isAfter(a, b) ? a : b);

/**
 * Checks one read of the stream: `read` holds the ids it returned (none for the check at setup), `info` the
 * stream as XINFO STREAM reported it right after.
 */
export function checkLoss(pos: ReadPosition, read: readonly string[], info: StreamInfo): LossCheck {
  const floor = later(pos.after, pos.announcedThrough);
  const last = read.length > 0 ? read[read.length - 1] : pos.after;
  const next: ReadPosition = {
    after: last,
    announcedThrough: pos.announcedThrough,
    entriesAdded: info.entriesAdded,
    addedThroughAfter: last === info.lastGeneratedId ? info.entriesAdded : undefined,
    recreatedPending: false,
  };
  const announce = (through: string, reason: LossReason, lost: number | undefined): LossCheck =>
    ({ loss: { after: pos.after, through, reason }, lost, next: { ...next, announcedThrough: later(through, pos.announcedThrough) } });

  // The new key's first entry bounds what the old one lost (ids of XADD * only grow); while the new key holds
  // nothing after the last id read, the loss is announced at a later check.
  const recreated = (): LossCheck => {
    const bound = read[0] ?? (info.length > 0 ? info.firstId : info.lastGeneratedId);
    if (!isAfter(bound, floor)) return { loss: undefined, lost: undefined, next: { ...next, recreatedPending: true } };
    return announce(bound, 'stream_recreated', undefined);
  };
  // Before the first check `entriesAdded` is -1, below every count Redis reports.
  if (pos.recreatedPending || info.entriesAdded < pos.entriesAdded) return recreated();

  const empty = info.length === 0;
  let trimmedThrough: string | undefined;
  let lost: number | undefined;
  // Entries before F (or every entry, when empty) are gone. They can be counted when F is above every XDEL.
  const removedBefore = empty ? info.lastGeneratedId : info.firstId;
  if (isAfter(removedBefore, floor) && (empty || isAfter(info.firstId, info.maxDeletedId))) {
    if (pos.addedThroughAfter !== undefined) {
      const removed = empty ? info.entriesAdded : info.entriesAdded - info.length;
      // Entries of this read that were trimmed after it returned were read, not lost.
      let readAndRemoved = 0;
      for (const id of read) if (empty || isAfter(info.firstId, id)) readAndRemoved++;
      lost = removed - pos.addedThroughAfter - readAndRemoved;
      if (lost < 0) return recreated();
    }
    if (lost === undefined || lost > 0) {
      // Lost ids lie before the read's first entry, or after its last and before F (with no read, F is after `last`).
      trimmedThrough = empty || isAfter(info.firstId, last) ? removedBefore : read[0];
    }
  }
  const deleted = isAfter(info.maxDeletedId, floor);
  if (trimmedThrough === undefined && !deleted) return { loss: undefined, lost: undefined, next };
  if (!deleted) return announce(trimmedThrough!, 'trimmed', lost);
  const reason = empty || isAfter(info.firstId, info.maxDeletedId) ? 'trimmed' : 'deleted';
  return announce(trimmedThrough === undefined ? info.maxDeletedId : later(trimmedThrough, info.maxDeletedId), reason, undefined);
}
