import { expect } from 'chai';
import { FULL, RATE_TIERS, roundRate, TIER_LABELS, tierAt, tierFor, TIERS, tierTopic } from '../../src/protocol/tiers';

describe('protocol: subscription tiers', () => {
  it('rounds a requested maxRate down to the largest tier at or below it, and serves above the largest at the largest', () => {
    expect([1, 1.9, 2, 3.99, 4, 9, 10, 400].map(roundRate)).to.deep.equal([1, 1, 2, 2, 4, 4, 10, 10]);
    expect(RATE_TIERS).to.deep.equal([1, 2, 4, 10]);
  });

  it('interns one tier per (rate, delayed), so sessions compare tiers with ===', () => {
    expect(tierFor(undefined, false)).to.equal(FULL);
    expect(tierFor(5, true)).to.equal(tierFor(4, true));
    expect(tierFor(5, true)).to.include({ maxRate: 4, delayed: true });
    expect(new Set(TIERS.map((t) => `${t.maxRate}/${t.delayed}`)).size).to.equal(TIERS.length);
    for (const t of TIERS) expect(tierAt(t.index)).to.equal(t);
    expect(tierAt(undefined)).to.equal(FULL);
    expect(tierAt(99)).to.equal(FULL);
  });

  it('keeps the full real-time tier\'s topic names and gives every other tier its own topic', () => {
    expect(tierTopic('json', 'BTC-USD', FULL)).to.equal('json/BTC-USD');
    expect(tierTopic('bin+lz4', 'BTC-USD', tierFor(4, false))).to.equal('bin+lz4@4/BTC-USD');
    expect(tierTopic('json', 'BTC-USD', tierFor(undefined, true))).to.equal('json@d/BTC-USD');
    expect(tierTopic('json', 'BTC-USD', tierFor(10, true))).to.equal('json@d10/BTC-USD');
    expect(new Set(TIERS.map((t) => tierTopic('json', 'A', t))).size).to.equal(TIERS.length);
  });

  it('labels metrics with a bounded set of names', () => {
    expect(TIER_LABELS).to.deep.equal(['full', '1/s', '2/s', '4/s', '10/s', 'delayed', 'delayed 1/s', 'delayed 2/s', 'delayed 4/s', 'delayed 10/s']);
  });
});
