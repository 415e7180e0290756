import { expect } from 'chai';
import { clientSpecs, failoverOptions, FailoverOptions } from '../../src/bench/scale-out/failover-options';
import { ClientOutcome, percentiles, problems, streamIndex, summarize } from '../../src/bench/scale-out/failover-report';
import { thrown } from '../helpers/thrown';

const KILL = 1_000_000;
const DEADLINE = 30_000;
const G2 = 'ws://127.0.0.1:2/v1/stream';
const G3 = 'ws://127.0.0.1:3/v1/stream';
const label = (url: string) => (url === G2 ? 'g2' : 'g3');

/** A stream of 10 entries over two symbols, alternating: A gets 1-0, 3-0, .., B gets 2-0, 4-0, .. */
const STREAM = streamIndex(Array.from({ length: 10 }, (_, i) => ({ id: `${i + 1}-0`, sym: i % 2 === 0 ? 'A' : 'B' })));

/** A client on A and B that delivered both whole and resumed `resumedMs` after the kill. */
function clean(resumedMs: number, over: Partial<ClientOutcome> = {}): ClientOutcome {
  return {
    symbols: ['A', 'B'], url: G2, droppedAt: KILL + 5, retriedAt: KILL + 200, reopenedAt: KILL + 210, answeredAt: KILL + resumedMs,
    resumedAt: KILL + resumedMs, backoffMs: 190, reconnects: 1, gaps: 0, duplicates: 0, unavailable: 0, errors: 1,
    chains: { A: { first: '1-0', last: '9-0', count: 5 }, B: { first: '2-0', last: '10-0', count: 5 } },
    ...over,
  };
}

describe('bench failover: what the clients report, judged', () => {
  it('times each client from the kill and spreads them by the gateway they ended on', () => {
    const s = summarize([clean(300), clean(500, { url: G3 }), clean(400)], KILL, DEADLINE, STREAM, label);
    expect(s.resumed).to.equal(3);
    expect(s.resumedMs).to.deep.equal({ p50: 400, p99: 500, max: 500 });
    expect(s.allResumedMs).to.equal(500);
    expect(s.droppedMs).to.deep.equal({ p50: 5, p99: 5, max: 5 });
    expect(s.spread).to.deep.equal({ g2: 2, g3: 1 });
    expect(problems(s, DEADLINE)).to.deep.equal([]);
  });

  it('counts a client resumed after the deadline, or never, as not resumed, and then gives no time for all', () => {
    const s = summarize([clean(300), clean(DEADLINE + 1), clean(0, { resumedAt: undefined })], KILL, DEADLINE, STREAM, label);
    expect([s.resumed, s.notResumed, s.allResumedMs]).to.deep.equal([1, 2, undefined]);
    expect(problems(s, DEADLINE)).to.deep.equal(['2 of 3 clients not resumed within 30 s of the kill']);
  });

  it('fails the run on a gap, a duplicate, a refused resume or a drop before the kill', () => {
    const s = summarize([clean(300, { gaps: 2 }), clean(300, { duplicates: 3 }), clean(300, { unavailable: 1 }), clean(300, { droppedAt: KILL - 1 })],
      KILL, DEADLINE, STREAM, label);
    expect(problems(s, DEADLINE)).to.deep.equal([
      '2 gap events',
      '3 duplicate ticks dropped by the SDK',
      '1 symbols answered RESUME_UNAVAILABLE (a snapshot instead of the missed ticks)',
      '1 clients lost their connection before the kill',
    ]);
  });

  it('finds ticks missing against the stream even when the SDK saw no gap', () => {
    const s = summarize([clean(300, { chains: { A: { first: '1-0', last: '9-0', count: 3 }, B: { first: '2-0', last: '10-0', count: 5 } } })],
      KILL, DEADLINE, STREAM, label);
    expect([s.missingTicks, s.inexactClients, s.gaps]).to.deep.equal([2, 1, 0]);
    expect(problems(s, DEADLINE)).to.deep.equal(['1 clients delivered other ticks than the stream holds (2 missing)']);
  });

  it('fails a client that never reached its symbols\' last entries, or delivered an id the stream does not hold', () => {
    const behind = clean(300, { chains: { A: { first: '1-0', last: '7-0', count: 4 }, B: { first: '2-0', last: '10-0', count: 5 } } });
    const foreign = clean(300, { chains: { A: { first: '1-0', last: '9-0', count: 5 }, B: { first: '2-0', last: '11-0', count: 6 } } });
    const silent = clean(300, { chains: { A: { first: '1-0', last: '9-0', count: 5 } } });
    const s = summarize([behind, foreign, silent], KILL, DEADLINE, STREAM, label);
    expect([s.inexactClients, s.notCaughtUp]).to.deep.equal([1, 3]);
  });

  it('takes nearest-rank percentiles', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(hundred)).to.deep.equal({ p50: 50, p99: 99, max: 100 });
    expect(percentiles([])).to.equal(undefined);
  });
});

describe('bench failover: the clients and the flags', () => {
  it('starts every client on gateway 1 and rotates the survivors, so that the clients spread over them', () => {
    const specs = clientSpecs(4, ['g1', 'g2', 'g3'], 100, 4);
    expect(specs.map((s) => s.urls)).to.deep.equal([['g1', 'g2', 'g3'], ['g1', 'g3', 'g2'], ['g1', 'g2', 'g3'], ['g1', 'g3', 'g2']]);
  });

  it('gives each client distinct symbols spread over all of them', () => {
    const specs = clientSpecs(100, ['g1', 'g2'], 100, 4);
    const subscribers = new Map<string, number>();
    for (const s of specs) {
      expect(new Set(s.symbols).size).to.equal(4);
      for (const sym of s.symbols) subscribers.set(sym, (subscribers.get(sym) ?? 0) + 1);
    }
    expect([...subscribers.values()]).to.deep.equal(Array(100).fill(4));
  });

  it('refuses a run with one gateway: nobody would be left to fail over to', () => {
    expect(thrown(() => failoverOptions(['--gateways', '1']))).to.have.property('code', 'BENCH_BAD_OPTION');
    const o = failoverOptions(['--clients', '200,1000']) as FailoverOptions;
    expect([o.clients, o.gateways, o.symbolsPerClient, o.rate, o.deadlineMs]).to.deep.equal([[200, 1000], 3, 4, 1000, 30_000]);
  });
});
