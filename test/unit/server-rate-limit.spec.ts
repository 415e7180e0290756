import { expect } from 'chai';
import { FloodWindow, newBucket, refusedIsFlooding, takeToken } from '../../src/server/rate-limit';

describe('server: token bucket', () => {
  it('allows a burst of `burst` requests, then refills at `rate` per second up to the burst', () => {
    const b = newBucket(3, 0);
    expect([1, 2, 3, 4].map(() => takeToken(b, 10, 3, 0))).to.deep.equal([true, true, true, false]);
    expect(takeToken(b, 10, 3, 99)).to.equal(false);
    expect(takeToken(b, 10, 3, 100)).to.equal(true);
    expect([1, 2, 3, 4].map(() => takeToken(b, 10, 3, 60_000))).to.deep.equal([true, true, true, false]);
  });

  it('neither refills nor drains when a request is stamped before the last refill', () => {
    const b = newBucket(1, 1000);
    expect(takeToken(b, 10, 1, 0)).to.equal(true);
    expect(b).to.deep.equal({ tokens: 0, refilledAt: 1000 });
  });
});

describe('server: flood window', () => {
  const fresh = (): FloodWindow => ({ floodOpenedAt: -Infinity, floodRefused: 0 });
  /** Counts `n` refusals at `at` and returns the verdict of each. */
  const refuse = (w: FloodWindow, n: number, at: number) => Array.from({ length: n }, () => refusedIsFlooding(w, 3, 10_000, at));

  it('allows `allowed` refusals within one window; the next one is flooding', () => {
    const w = fresh();
    expect(refuse(w, 4, 0)).to.deep.equal([false, false, false, true]);
  });

  it('opens the window at the first refusal, so refusals just before its end still count', () => {
    const w = fresh();
    expect(refuse(w, 1, 5_000)).to.deep.equal([false]);
    expect(refuse(w, 3, 14_999)).to.deep.equal([false, false, true]);
  });

  it('starts a new count once the window has passed, from the first refusal after it', () => {
    const w = fresh();
    expect(refuse(w, 3, 0)).to.deep.equal([false, false, false]);
    expect(refuse(w, 4, 10_000)).to.deep.equal([false, false, false, true]);
  });

  it('is not reset by requests served between refusals: a client at 20× a 100/s limit is flooding within the window', () => {
    // 2,000 requests/s against a bucket of 200 refilled at 100/s: about one request in 20 is served.
    const b = newBucket(200, 0);
    const w = fresh();
    let closedAt: number | undefined;
    for (let i = 0; closedAt === undefined && i < 20_000; i++) {
      const now = i / 2; // 0.5 ms apart
      if (!takeToken(b, 100, 200, now) && refusedIsFlooding(w, 2000, 10_000, now)) closedAt = now;
    }
    expect(closedAt).to.be.within(1000, 1200);
  });

  it('leaves a one-off burst of a few hundred requests over the bucket alone', () => {
    const b = newBucket(200, 0);
    const w = fresh();
    const flooding = Array.from({ length: 1000 }, () => !takeToken(b, 100, 200, 0) && refusedIsFlooding(w, 2000, 10_000, 0));
    expect(flooding.filter((f) => f).length).to.equal(0);
    expect(w.floodRefused).to.equal(800);
  });
});
