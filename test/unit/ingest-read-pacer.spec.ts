import { expect } from 'chai';
import { RATE_WINDOW_MS, ReadPacer } from '../../src/ingest/read-pacer';

const OPTS = { idleMs: 50, coalesceMs: 5, coalesceAbove: 60_000 };

/** A process whose clock, subscriptions and delivered count the spec sets. */
function setup(opts = OPTS) {
  const state = { now: 1000, subscriptions: 1, delivered: 0 };
  const pacer = new ReadPacer(opts, { subscriptions: () => state.subscriptions, delivered: () => state.delivered }, () => state.now);
  /**
   * Reads for `ms`, each taking `every` ms after its wait, while ticks arrive for `perSecond` deliveries a second
   * (a read delivers what arrived since the one before, so waiting makes reads bigger, not the rate lower); returns
   * the waits asked for.
   */
  const readFor = (ms: number, every: number, perSecond: number) => {
    const waits: number[] = [];
    for (const end = state.now + ms; state.now < end;) {
      const wait = pacer.delayBeforeRead(false);
      waits.push(wait);
      state.now += wait + every;
      state.delivered += (perSecond * (wait + every)) / 1000;
    }
    return waits;
  };
  return { state, pacer, readFor };
}

describe('ReadPacer', () => {
  it('reads at once at light and everyday load (below the coalescing threshold)', () => {
    const { readFor } = setup();
    const waits = readFor(2000, 1, 40_000);
    expect(waits.every((w) => w === 0), `waits: ${[...new Set(waits)]}`).to.equal(true);
  });

  it('spaces reads coalesceMs apart once a window measured more deliveries per second than the threshold', () => {
    const { readFor } = setup();
    const first = readFor(RATE_WINDOW_MS - 1, 1, 100_000);
    expect(first.every((w) => w === 0), 'before a window has been measured').to.equal(true);
    const later = readFor(1000, 1, 100_000);
    // The first read after the window waits for coalesceMs from the read before it, then each one for the rest of coalesceMs.
    expect(later.slice(1).every((w) => w === OPTS.coalesceMs - 1), `waits: ${[...new Set(later)]}`).to.equal(true);
  });

  it('never makes a read wait longer than coalesceMs after the previous one started', () => {
    const { readFor } = setup();
    const waits = readFor(3000, 0.2, 1_000_000);
    expect(Math.max(...waits)).to.be.at.most(OPTS.coalesceMs);
    expect(Math.max(...waits)).to.be.greaterThan(0);
  });

  it('stops coalescing in the first window whose rate is back under the threshold', () => {
    const { readFor } = setup();
    expect(readFor(1000, 1, 200_000).at(-1)).to.be.greaterThan(0);
    const waits = readFor(2 * RATE_WINDOW_MS + 20, 1, 10_000);
    expect(waits.at(-1)).to.equal(0);
  });

  it('reads at most once per idleMs while no client holds any subscription, and at once when one subscribes', () => {
    const { state, pacer, readFor } = setup();
    state.subscriptions = 0;
    const waits = readFor(500, 1, 0);
    expect(waits.slice(1).every((w) => w === OPTS.idleMs - 1), `waits: ${[...new Set(waits)]}`).to.equal(true);
    state.subscriptions = 1;
    state.now += 1;
    expect(pacer.delayBeforeRead(false)).to.equal(0);
  });

  it('reads at once after a full read (a backlog), whether coalescing or idle: a wait would cap ingest at COUNT per wait', () => {
    /** The wait after a second of load, or with nobody subscribed, for a previous read that was full or not. */
    const waitAfter = (idle: boolean, full: boolean) => {
      const { state, pacer, readFor } = setup();
      state.subscriptions = idle ? 0 : 1;
      readFor(1000, 1, idle ? 0 : 200_000);
      return pacer.delayBeforeRead(full);
    };
    expect([waitAfter(false, false), waitAfter(false, true)]).to.deep.equal([OPTS.coalesceMs - 1, 0]);
    expect([waitAfter(true, false), waitAfter(true, true)]).to.deep.equal([OPTS.idleMs - 1, 0]);
  });

  it('never coalesces with coalesceAbove 0, and never idles with idleMs 0', () => {
    const { state, readFor } = setup({ idleMs: 0, coalesceMs: 5, coalesceAbove: 0 });
    expect(readFor(1000, 1, 1_000_000).every((w) => w === 0)).to.equal(true);
    state.subscriptions = 0;
    expect(readFor(200, 1, 0).every((w) => w === 0)).to.equal(true);
  });
});
