import { expect } from 'chai';
import { createLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics/metrics';
import { acceptState, DescriptorGuard, descriptorLimit, nextCheckMs, reserveFor } from '../../src/server/descriptors';

/** A listen socket that records what the guard did to it. */
class FakeListener {
  listening = true;
  calls: string[] = [];
  canListen = true;
  pauseAccept(): void {
    this.listening = false;
    this.calls.push('pause');
  }
  resumeAccept(): boolean {
    this.calls.push('resume');
    this.listening = this.canListen;
    return this.canListen;
  }
}

const LIMIT = 1024; // reserve 64: upgrades refused from 896, accept paused from 960

function guard(countOpen: () => Promise<number> = async () => 0, workers = 1) {
  const listener = new FakeListener();
  const metrics = createMetrics();
  const g = new DescriptorGuard({ listener, metrics, log: createLogger('silent'), limit: LIMIT, workers, countOpen });
  return { g, listener, metrics };
}

const gauge = async (m: ReturnType<typeof createMetrics>, name: 'acceptPaused' | 'acceptPauses') => (await m[name].get()).values[0]?.value ?? 0;

describe('server: descriptor guard', () => {
  it('reads the soft RLIMIT_NOFILE from /proc/self/limits; none when unlimited', () => {
    const row = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                20000                files\n`;
    expect(descriptorLimit(row('256'))).to.equal(256);
    expect(descriptorLimit(row('unlimited'))).to.equal(undefined);
  });

  it('keeps a reserve of 1/16 of the limit, at least 16 and at most 1,024', () => {
    expect([64, 256, 1024, 65_536, 1 << 20].map(reserveFor)).to.deep.equal([16, 16, 64, 1024, 1024]);
  });

  it('refuses upgrades from limit − 2R, pauses from limit − R, and stays paused until under limit − 2R', () => {
    expect(acceptState(895, LIMIT, 64, false)).to.equal('accepting');
    expect(acceptState(896, LIMIT, 64, false)).to.equal('refusing-upgrades');
    expect(acceptState(960, LIMIT, 64, false)).to.equal('paused');
    expect(acceptState(900, LIMIT, 64, true)).to.equal('paused');
    expect(acceptState(895, LIMIT, 64, true)).to.equal('accepting');
  });

  it('counts as often as the headroom needs at 10,000 new descriptors a second, from 20 ms to 5 s', () => {
    expect(nextCheckMs(0, 1 << 20, 1024)).to.equal(5000);
    expect(nextCheckMs(0, LIMIT, 64)).to.equal(96);
    expect(nextCheckMs(950, LIMIT, 64)).to.equal(20);
  });

  it('counts no sooner than ten times what a count costs (about 1 ms per 1,000 descriptors)', () => {
    expect(nextCheckMs(10_000, 20_000, 1024)).to.equal(897.6);
    expect(nextCheckMs(45_000, 50_000, 1024)).to.equal(450);
    expect(nextCheckMs(1_000_000, 1 << 20, 1024)).to.equal(10_000);
  });

  it('admits between two counts at most its share of the descriptors left before limit − 2R', () => {
    const { g } = guard(undefined, 2);
    g.apply(800, 0);
    // (896 − 800) / 2 workers: 47 more keep the process below 896 whatever the other worker admits.
    const admitted = Array.from({ length: 60 }, () => g.admitUpgrade()).filter(Boolean).length;
    expect(admitted).to.equal(47);
    g.apply(800, 10);
    expect(g.admitUpgrade()).to.equal(true);
  });

  it('refuses every upgrade while refusing or paused', () => {
    const { g } = guard();
    g.apply(896, 0);
    expect(g.admitUpgrade()).to.equal(false);
    g.apply(960, 10);
    expect(g.admitUpgrade()).to.equal(false);
  });

  it('closes the listen socket at limit − R, counted in the gauge and the counter', async () => {
    const { g, listener, metrics } = guard();
    g.apply(959, 0);
    expect(listener.calls).to.deep.equal([]);
    g.apply(960, 10);
    expect(listener.calls).to.deep.equal(['pause']);
    expect(await gauge(metrics, 'acceptPaused')).to.equal(1);
    expect(await gauge(metrics, 'acceptPauses')).to.equal(1);
  });

  it('listens again once under limit − 2R and the backoff (100 ms) has passed, and the gauge returns to 0', async () => {
    const { g, listener, metrics } = guard();
    g.apply(960, 0);
    g.apply(100, 50);
    expect(listener.listening).to.equal(false);
    g.apply(100, 100);
    expect(listener.calls).to.deep.equal(['pause', 'resume']);
    expect(listener.listening).to.equal(true);
    expect(g.admitUpgrade()).to.equal(true);
    expect(await gauge(metrics, 'acceptPaused')).to.equal(0);
  });

  it('doubles the backoff when a pause follows a resume within 10 s, up to 5 s; starts over after a calm 10 s', () => {
    const { g, listener } = guard();
    let t = 0;
    const cycle = () => {
      g.apply(960, t);
      const pausedAt = t;
      // Poll every 10 ms until the guard listens again; return how long that took.
      while (!listener.listening) g.apply(100, (t += 10));
      return t - pausedAt;
    };
    expect([cycle(), cycle(), cycle(), cycle(), cycle(), cycle(), cycle()]).to.deep.equal([100, 200, 400, 800, 1600, 3200, 5000]);
    t += 10_000;
    expect(cycle()).to.equal(100);
  });

  it('retries a listen that fails, with the backoff doubled', () => {
    const { g, listener } = guard();
    g.apply(960, 0);
    listener.canListen = false;
    g.apply(100, 100);
    expect(listener.listening).to.equal(false);
    listener.canListen = true;
    g.apply(100, 250);
    expect(listener.listening).to.equal(false);
    g.apply(100, 300);
    expect(listener.listening).to.equal(true);
  });

  it('takes a count that fails with EMFILE as the limit reached, and pauses', async () => {
    const emfile = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    const { g, listener } = guard(() => Promise.reject(emfile));
    g.start();
    await new Promise((r) => setTimeout(r, 20));
    g.stop();
    expect(listener.calls).to.deep.equal(['pause']);
  });
});
