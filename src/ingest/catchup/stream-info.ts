/**
 * What a stream says about entries it no longer holds (Redis 7 XINFO STREAM): the check that keeps a resume from
 * replaying across a hole.
 */
import { compareStreamIds } from '../../wire/tick';
import type { Redis } from '../../redis/connection';
import { parseStreamInfo } from '../replies';

export interface Removals {
  /** The newest id ever deleted by XDEL ('0-0': none). */
  maxDeleted: string;
  /** The first entry still held, when entries were trimmed from the front; undefined when nothing was. */
  trimmedBefore: string | undefined;
}

export async function removals(redis: Redis, stream: string): Promise<Removals> {
  const info = parseStreamInfo((await redis.sendCommand(['XINFO', 'STREAM', stream])) as unknown[]);
  const trimmed = info.entriesAdded > info.length;
  return { maxDeleted: info.maxDeletedId, trimmedBefore: trimmed && info.firstId !== '0-0' ? info.firstId : undefined };
}

/**
 * Whether entries after `since` may have been removed: by XDEL, or by trimming, which removes from the front, so it
 * matters when `since` is older than the first entry left. Removals only grow, so a check made after a scan covers
 * everything removed before and during it. Conservative: a client whose last tick was the very last one trimmed is
 * told to take a snapshot.
 */
export function removedAfter(r: Removals, since: string): boolean {
  if (r.maxDeleted !== '0-0' && compareStreamIds(since, r.maxDeleted) < 0) return true;
  return r.trimmedBefore !== undefined && compareStreamIds(since, r.trimmedBefore) < 0;
}
