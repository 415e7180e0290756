import { expect } from 'chai';
import { findGroup, parseAutoClaim, parseConsumers, parsePending, parseStreamInfo } from '../../src/ingest/replies';

describe('ingest: the Redis replies it reads, as typed values', () => {
  it('reads the fields it needs from an XINFO STREAM reply', () => {
    const reply = ['length', 5, 'radix-tree-keys', 1, 'radix-tree-nodes', 2, 'last-generated-id', '10-0', 'max-deleted-entry-id', '8-0',
      'entries-added', 10, 'recorded-first-entry-id', '6-0', 'groups', 1, 'first-entry', ['6-0', ['f', '6']], 'last-entry', ['10-0', ['f', '10']]];
    expect(parseStreamInfo(reply)).to.deep.equal({ length: 5, lastGeneratedId: '10-0', maxDeletedId: '8-0', entriesAdded: 10, firstId: '6-0' });
  });

  it('finds one group in an XINFO GROUPS reply, its lag undefined when Redis reports nil', () => {
    const group = (name: string, lag: number | null) => ['name', name, 'consumers', 1, 'pending', 3, 'last-delivered-id', '9-1',
      'entries-read', 7, 'lag', lag];
    const reply = [group('other', 0), group('tickgate:a', 2), group('tickgate:b', null)];
    expect(findGroup(reply, 'tickgate:a')).to.deep.equal({ lastDeliveredId: '9-1', pending: 3, lag: 2 });
    expect(findGroup(reply, 'tickgate:b')).to.deep.equal({ lastDeliveredId: '9-1', pending: 3, lag: undefined });
    expect(findGroup(reply, 'tickgate:c')).to.equal(undefined);
  });

  it('takes a name only at a name\'s position: a group or consumer named like a field does not shadow that field', () => {
    const group = ['name', 'pending', 'consumers', 1, 'pending', 3, 'last-delivered-id', '9-1', 'entries-read', 7, 'lag', 0];
    expect(findGroup([group], 'pending')).to.deep.equal({ lastDeliveredId: '9-1', pending: 3, lag: 0 });
    expect(parseConsumers([['name', 'idle', 'seen-time', 1700000000000, 'pending', 0, 'idle', 42, 'inactive', 42]]))
      .to.deep.equal([{ name: 'idle', idleMs: 42 }]);
  });

  it('reads each consumer\'s name and idle time from an XINFO CONSUMERS reply', () => {
    const consumer = (name: string, idle: number) => ['name', name, 'pending', 2, 'idle', idle, 'inactive', idle];
    expect(parseConsumers([consumer('tickgate-1', 5), consumer('tickgate-2', 60_000)]))
      .to.deep.equal([{ name: 'tickgate-1', idleMs: 5 }, { name: 'tickgate-2', idleMs: 60_000 }]);
    expect(parseConsumers([])).to.deep.equal([]);
  });

  it('reads the entries of XPENDING\'s extended form', () => {
    expect(parsePending([['5-0', 'tickgate-1', 1200, 1], ['6-3', 'tickgate-1', 900, 11]])).to.deep.equal([
      { id: '5-0', consumer: 'tickgate-1', idleMs: 1200, deliveries: 1 }, { id: '6-3', consumer: 'tickgate-1', idleMs: 900, deliveries: 11 }]);
  });

  it('reads the cursor and the claimed entries of an XAUTOCLAIM reply, ignoring the ids of deleted entries', () => {
    expect(parseAutoClaim(['7-0', [['5-0', ['sym', 'A']], ['6-0', ['sym', 'B']]], ['4-0']]))
      .to.deep.equal({ next: '7-0', entries: [['5-0', ['sym', 'A']], ['6-0', ['sym', 'B']]] });
    expect(parseAutoClaim(['0-0', [], []])).to.deep.equal({ next: '0-0', entries: [] });
  });
});
