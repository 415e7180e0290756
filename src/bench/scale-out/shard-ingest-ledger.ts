/**
 * The correctness check of the shard-ingest benchmark: the backlog as written (per symbol, the ids Redis gave its
 * XADDs, in order) against what the one client received. Exact means every symbol's received ids are its written
 * ids in the same order: nothing lost, nothing repeated, never backwards. A fault is kept as a sentence for the
 * report; the benchmark fails on any.
 */
import { compareStreamIds } from '../../wire/tick';

/** Faults listed in full; beyond them only counted, so a run that loses everything still prints a readable report. */
const LISTED = 10;

export class BacklogOrderError extends Error {
  readonly code = 'BENCH_BACKLOG_ORDER';
  constructor(message: string) {
    super(message);
    this.name = 'BacklogOrderError';
  }
}

export class BacklogLedger {
  private readonly index: Map<string, number>;
  private readonly written: string[][];
  /** Per symbol, the position in `written` of the id expected next. */
  private readonly next: number[];
  private readonly lastReceived: string[];
  private readonly faults: string[] = [];
  private faultCount = 0;
  writtenTotal = 0;
  receivedTotal = 0;

  constructor(private readonly symbols: readonly string[]) {
    this.index = new Map(symbols.map((sym, i) => [sym, i]));
    this.written = symbols.map(() => []);
    this.next = symbols.map(() => 0);
    this.lastReceived = symbols.map(() => '');
  }

  /** The id Redis returned for an XADD of `sym`; a symbol lives in one stream, so its ids must grow. */
  write(sym: string, id: string): void {
    const ids = this.written[this.position(sym)];
    const last = ids[ids.length - 1];
    if (last !== undefined && compareStreamIds(id, last) <= 0) throw new BacklogOrderError(`${sym}: XADD returned ${id} after ${last}`);
    ids.push(id);
    this.writtenTotal++;
  }

  /** A tick the client received, in arrival order. */
  receive(sym: string, id: string): void {
    const s = this.index.get(sym);
    if (s === undefined) return this.fault(`${sym}: a symbol that was never written (${id})`);
    this.receivedTotal++;
    const last = this.lastReceived[s];
    if (last !== '' && compareStreamIds(id, last) <= 0) {
      return this.fault(`${sym}: ${id} received after ${last} (${id === last ? 'repeated' : 'backwards'})`);
    }
    this.lastReceived[s] = id;
    const ids = this.written[s];
    const want = ids[this.next[s]];
    if (id === want) {
      this.next[s]++;
      return;
    }
    const at = ids.indexOf(id, this.next[s]);
    this.fault(at < 0 ? `${sym}: ${id} was never written` : `${sym}: ${at - this.next[s]} ticks skipped before ${id} (first: ${want})`);
    if (at >= 0) this.next[s] = at + 1;
  }

  /** Everything that differs from the backlog, the first few in words; empty when the client got exactly it. */
  problems(): string[] {
    const out = [...this.faults];
    if (this.faultCount > LISTED) out.push(`... ${this.faultCount - LISTED} more faults`);
    let short = 0;
    this.symbols.forEach((sym, s) => {
      const missing = this.written[s].length - this.next[s];
      if (missing === 0) return;
      if (short++ < LISTED) out.push(`${sym}: the last ${missing} of ${this.written[s].length} ticks never arrived (from ${this.written[s][this.next[s]]})`);
    });
    if (short > LISTED) out.push(`... ${short - LISTED} more symbols short of ticks`);
    if (this.receivedTotal !== this.writtenTotal) out.push(`received ${this.receivedTotal} ticks, the backlog holds ${this.writtenTotal}`);
    return out;
  }

  private position(sym: string): number {
    const s = this.index.get(sym);
    if (s === undefined) throw new BacklogOrderError(`${sym} is not one of the run's symbols`);
    return s;
  }

  private fault(what: string): void {
    if (this.faultCount++ < LISTED) this.faults.push(what);
  }
}
