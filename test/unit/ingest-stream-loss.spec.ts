import { expect } from 'chai';
import { checkLoss, initialPosition, ReadPosition } from '../../src/ingest/stream-loss';
import type { StreamInfo } from '../../src/ingest/replies';

/** A stream as XINFO STREAM describes it; defaults: ids 1-0..10-0 added, none removed. */
function info(over: Partial<StreamInfo> = {}): StreamInfo {
  return { length: 10, lastGeneratedId: '10-0', maxDeletedId: '0-0', entriesAdded: 10, firstId: '1-0', ...over };
}

function position(over: Partial<ReadPosition> = {}): ReadPosition {
  return { ...initialPosition('3-0'), entriesAdded: 10, ...over };
}

describe('ingest: loss before ingest (checkLoss)', () => {
  it('finds no loss when nothing after the last id read was removed', () => {
    const r = checkLoss(position(), ['4-0', '5-0'], info());
    expect(r.loss).to.equal(undefined);
    expect(r.next).to.deep.equal({ after: '5-0', announcedThrough: '', entriesAdded: 10, addedThroughAfter: undefined, recreatedPending: false });
  });

  it('knows how many entries lie up to the last id read when a read reaches the stream\'s last entry', () => {
    expect(checkLoss(position(), ['4-0', '10-0'], info()).next.addedThroughAfter).to.equal(10);
  });

  it('ignores XDEL and trims of entries already read', () => {
    expect(checkLoss(position(), ['4-0'], info({ maxDeletedId: '2-0', firstId: '3-0', length: 8 })).loss).to.equal(undefined);
  });

  it('announces entries deleted after the last id read (max-deleted-entry-id above it): (last read, max deleted]', () => {
    const r = checkLoss(position(), ['4-0', '6-0'], info({ maxDeletedId: '5-0', length: 9 }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '5-0', reason: 'deleted' });
    expect(r.lost).to.equal(undefined);
    expect(r.next.announcedThrough).to.equal('5-0');
  });

  it('announces a hole once: a later check with the same max-deleted-entry-id finds nothing new', () => {
    const first = checkLoss(position({ after: '3-0' }), ['4-0'], info({ maxDeletedId: '8-0', length: 9 }));
    expect(first.loss?.through).to.equal('8-0');
    expect(checkLoss(first.next, ['6-0', '7-0'], info({ maxDeletedId: '8-0', length: 9 })).loss).to.equal(undefined);
  });

  it('counts entries trimmed unread exactly when the count up to the last id read is known', () => {
    // Read through 3-0 (the last entry then: 3 added); 4-0..10-0 added; MAXLEN trimmed 1-0..6-0; the read got 7-0..
    const r = checkLoss(position({ addedThroughAfter: 3 }), ['7-0', '8-0'], info({ firstId: '7-0', length: 4 }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '7-0', reason: 'trimmed' });
    expect(r.lost).to.equal(3);
  });

  it('finds no loss when the trim stopped exactly at the last id read (count known)', () => {
    const r = checkLoss(position({ addedThroughAfter: 3 }), ['4-0'], info({ firstId: '4-0', length: 7 }));
    expect(r.loss).to.equal(undefined);
  });

  it('does not count entries of this read trimmed after it returned as lost', () => {
    // 4-0 and 5-0 were read, then trimmed before XINFO ran: F = 6-0, nothing unread removed.
    const r = checkLoss(position({ addedThroughAfter: 3 }), ['4-0', '5-0'], info({ firstId: '6-0', length: 5 }));
    expect(r.loss).to.equal(undefined);
  });

  it('announces a trim past the last id read conservatively when the count is unknown', () => {
    const r = checkLoss(position({ addedThroughAfter: undefined }), ['4-0'], info({ firstId: '4-0', length: 7 }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '4-0', reason: 'trimmed' });
    expect(r.lost).to.equal(undefined);
  });

  it('bounds the hole by the first entry still there when entries after the read were trimmed too', () => {
    const r = checkLoss(position({ addedThroughAfter: 3 }), ['4-0'], info({ firstId: '9-0', length: 2 }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '9-0', reason: 'trimmed' });
    expect(r.lost).to.equal(4);
  });

  it('announces everything up to the last generated id when the stream was trimmed empty', () => {
    const r = checkLoss(position({ addedThroughAfter: 3 }), [], info({ firstId: '0-0', length: 0 }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '10-0', reason: 'trimmed' });
    expect(r.lost).to.equal(7);
  });

  it('names a deletion below the first entry a trim (Redis versions whose MAXLEN moves max-deleted-entry-id)', () => {
    const r = checkLoss(position(), ['7-0'], info({ maxDeletedId: '6-0', firstId: '7-0', length: 4 }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '7-0', reason: 'trimmed' });
  });

  it('announces a recreated key (entries-added went down) up to the new key\'s first entry read', () => {
    const r = checkLoss(position({ entriesAdded: 10 }), ['20-0', '21-0'], info({ entriesAdded: 2, length: 2, firstId: '20-0', lastGeneratedId: '21-0' }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '20-0', reason: 'stream_recreated' });
    expect(r.next.entriesAdded).to.equal(2);
  });

  it('keeps a recreated key pending while the new key holds nothing after the last id read, even once it has more entries', () => {
    const empty = checkLoss(position({ entriesAdded: 10 }), [], info({ entriesAdded: 0, length: 0, firstId: '0-0', lastGeneratedId: '0-0' }));
    expect(empty.loss).to.equal(undefined);
    expect(empty.next.recreatedPending).to.equal(true);
    const later = checkLoss(empty.next, ['20-0'], info({ entriesAdded: 12, length: 12, firstId: '20-0', lastGeneratedId: '31-0' }));
    expect(later.loss).to.deep.equal({ after: '3-0', through: '20-0', reason: 'stream_recreated' });
    expect(later.next.recreatedPending).to.equal(false);
  });

  it('takes counts that cannot hold in one key (fewer removed than known up to the last id read) for a recreated key', () => {
    // 3 entries known up to 3-0; the stream now starts at 20-0 with nothing removed: a new key, refilled.
    const r = checkLoss(position({ addedThroughAfter: 3, entriesAdded: 3 }), ['20-0'], info({ entriesAdded: 5, length: 5, firstId: '20-0', lastGeneratedId: '24-0' }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '20-0', reason: 'stream_recreated' });
  });

  it('checks nothing against entries-added before the first check', () => {
    expect(checkLoss(initialPosition('3-0'), [], info({ entriesAdded: 1 })).loss).to.equal(undefined);
  });

  it('takes a stream that never had an entry, at the first check, for what it is: nothing lost, nothing pending', () => {
    const r = checkLoss(initialPosition('0-0'), [], info({ length: 0, entriesAdded: 0, lastGeneratedId: '0-0', firstId: '0-0' }));
    expect(r).to.deep.equal({ loss: undefined, lost: undefined, next: { after: '0-0', announcedThrough: '', entriesAdded: 0, addedThroughAfter: 0, recreatedPending: false } });
  });

  it('bounds a recreated key found at a check without a read by the new key\'s first entry', () => {
    const r = checkLoss(position({ entriesAdded: 10 }), [], info({ entriesAdded: 2, length: 2, firstId: '20-0', lastGeneratedId: '21-0' }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '20-0', reason: 'stream_recreated' });
  });

  it('bounds a recreated key that is empty again by its last generated id', () => {
    const r = checkLoss(position({ entriesAdded: 10 }), [], info({ entriesAdded: 3, length: 0, firstId: '0-0', lastGeneratedId: '25-0' }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '25-0', reason: 'stream_recreated' });
  });

  it('bounds the hole by the read\'s first entry when entries of the read were trimmed after it returned', () => {
    // 4-0 and 5-0 trimmed unread; the read got 6-0..8-0; then 6-0 was trimmed too: F = 7-0.
    const r = checkLoss(position({ addedThroughAfter: 3 }), ['6-0', '7-0', '8-0'], info({ firstId: '7-0', length: 4 }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '6-0', reason: 'trimmed' });
    expect(r.lost).to.equal(2);
  });

  it('bounds the hole by the last generated id when the stream was trimmed empty after a read', () => {
    // 4-0 and 5-0 trimmed unread; the read got 6-0..8-0; 9-0 and 10-0 were added and everything was trimmed.
    const r = checkLoss(position({ addedThroughAfter: 3 }), ['6-0', '7-0', '8-0'], info({ firstId: '0-0', length: 0 }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '10-0', reason: 'trimmed' });
    expect(r.lost).to.equal(4);
  });

  it('weighs no counts when an XDEL reached the first entry (they would include deleted entries): the deletion is announced', () => {
    // Here the counts could not even hold in one key; announcing through max-deleted-entry-id still covers the hole.
    const r = checkLoss(position({ addedThroughAfter: 3, entriesAdded: 3 }), ['20-0', '21-0'],
      info({ entriesAdded: 5, length: 4, firstId: '20-0', maxDeletedId: '22-0', lastGeneratedId: '24-0' }));
    expect(r.loss).to.deep.equal({ after: '3-0', through: '22-0', reason: 'deleted' });
    expect(r.lost).to.equal(undefined);
  });
});
