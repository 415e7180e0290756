import { expect } from 'chai';
import { newBucket, takeToken } from '../../src/server/rate-limit';

describe('server: token bucket', () => {
  it('allows a burst of `burst` requests, then refills at `rate` per second up to the burst', () => {
    const b = newBucket(3, 0);
    expect([1, 2, 3, 4].map(() => takeToken(b, 10, 3, 0))).to.deep.equal([true, true, true, false]);
    expect(takeToken(b, 10, 3, 99)).to.equal(false);
    expect(takeToken(b, 10, 3, 100)).to.equal(true);
    expect([1, 2, 3, 4].map(() => takeToken(b, 10, 3, 60_000))).to.deep.equal([true, true, true, false]);
  });
});
