import { expect } from 'chai';
import { BacklogLedger, BacklogOrderError } from '../../src/bench/scale-out/shard-ingest-ledger';

/** A ledger over A and B with A: 1-0, 2-0, 3-0 and B: 1-1, 4-0 written. */
function ledger(): BacklogLedger {
  const l = new BacklogLedger(['A', 'B']);
  for (const [sym, id] of [['A', '1-0'], ['B', '1-1'], ['A', '2-0'], ['A', '3-0'], ['B', '4-0']]) l.write(sym, id);
  return l;
}

function receive(l: BacklogLedger, ticks: [string, string][]): string[] {
  for (const [sym, id] of ticks) l.receive(sym, id);
  return l.problems();
}

describe('bench: the shard-ingest backlog ledger (shard-ingest-ledger.ts)', () => {
  it('finds nothing wrong when every symbol got exactly its written ids in order, whatever the interleaving of symbols', () => {
    const l = ledger();
    expect(receive(l, [['B', '1-1'], ['A', '1-0'], ['A', '2-0'], ['B', '4-0'], ['A', '3-0']])).to.deep.equal([]);
    expect(l.receivedTotal).to.equal(5);
    expect(l.writtenTotal).to.equal(5);
  });

  it('reports a repeated tick, and the total above the backlog', () => {
    const problems = receive(ledger(), [['A', '1-0'], ['A', '1-0'], ['A', '2-0'], ['A', '3-0'], ['B', '1-1'], ['B', '4-0']]);
    expect(problems).to.deep.equal(['A: 1-0 received after 1-0 (repeated)', 'received 6 ticks, the backlog holds 5']);
  });

  it('reports a tick that goes backwards', () => {
    const problems = receive(ledger(), [['A', '1-0'], ['A', '3-0'], ['A', '2-0'], ['B', '1-1'], ['B', '4-0']]);
    expect(problems).to.include('A: 2-0 received after 3-0 (backwards)');
  });

  it('reports ticks skipped in the middle and ticks that never arrived at the end', () => {
    const problems = receive(ledger(), [['A', '1-0'], ['A', '3-0'], ['B', '1-1']]);
    expect(problems).to.deep.equal([
      'A: 1 ticks skipped before 3-0 (first: 2-0)',
      'B: the last 1 of 2 ticks never arrived (from 4-0)',
      'received 3 ticks, the backlog holds 5',
    ]);
  });

  it('reports ids and symbols that were never written', () => {
    const problems = receive(ledger(), [['A', '1-0'], ['A', '2-5'], ['C', '9-0']]);
    expect(problems.slice(0, 2)).to.deep.equal(['A: 2-5 was never written', 'C: a symbol that was never written (9-0)']);
  });

  it('lists the first 10 faults and counts the rest', () => {
    const l = new BacklogLedger(['A']);
    l.write('A', '1-0');
    for (let i = 0; i < 13; i++) l.receive('A', '1-0');
    const problems = l.problems();
    expect(problems).to.have.length(12);
    expect(problems[10]).to.equal('... 2 more faults');
  });

  it('refuses a written id that does not grow, and a symbol outside the run', () => {
    const l = ledger();
    expect(() => l.write('A', '3-0')).to.throw(BacklogOrderError).with.property('code', 'BENCH_BACKLOG_ORDER');
    expect(() => l.write('Z', '9-0')).to.throw(BacklogOrderError).with.property('code', 'BENCH_BACKLOG_ORDER');
  });
});
