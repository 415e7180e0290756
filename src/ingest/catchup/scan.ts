/**
 * Resume reads from Redis, coalesced: one forward pass over a stream serves every symbol of every request waiting
 * on that stream, so a restart with many resuming clients costs one scan, not one per client and symbol.
 *
 * A pass reads from the lowest `since` among its requests up to the stream's frontier as it was when the pass began,
 * never further: what comes after the frontier is either in memory already or will be published live. A request
 * arriving while a pass runs joins it when the pass has not read past its `since` yet, else it waits for the next.
 *
 * Bounds: the process-wide entry rate (ScanRate) paces every page; a request is charged every entry read for it and
 * gives up past its entry budget, past the ticks it may replay, or at its deadline (its symbols then get
 * RESUME_UNAVAILABLE and a snapshot); a request whose client is gone is cancelled and no longer holds a pass open.
 */
import { compareStreamIds, Tick } from '../../wire/tick';
import type { RawEntry } from '../fanout';
import { parseEntry } from '../parse-entry';
import type { ControlFor } from '../../redis/endpoints';
import { ScanRate } from './scan-rate';
import { removals, removedAfter } from './stream-info';

export interface Fetched {
  /** The symbol's ticks after its `since`, oldest first, up to `through`. */
  ticks: Tick[];
  /** The read is complete up to this id (the lowest pass end over the streams read); later ticks are in memory. */
  through: string;
  /** Entries after `since` may have been removed, or the request ran out of budget: it cannot be replayed. */
  incomplete: boolean;
}

export interface ScanOptions {
  streams: string[];
  /** The one stream holding a symbol's ticks, when the layout says (shards); undefined: every stream is read for it. */
  streamOf(sym: string): string | undefined;
  /** Most entries read for one request, over all its symbols and streams. */
  requestEntries: number;
  /** Most ticks one request may replay: a read that finds more gives up (no replay could be sent anyway). */
  requestTicks: number;
  /** Longest one request waits for its reads, in ms. */
  requestMs: number;
  pageSize: number;
}

export class CatchupCancelled extends Error {
  readonly code = 'CATCHUP_CANCELLED';
  constructor() {
    super('the client is gone');
    this.name = 'CatchupCancelled';
  }
}

/** The symbol of a raw entry without parsing the rest: most entries a pass reads concern nobody waiting. */
export function symOf(fields: string[] | null): string | undefined {
  if (fields === null) return undefined;
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'sym') return fields[i + 1];
  return undefined;
}

/** One request's reads over every stream: its budget, its results, its fate. */
class ScanJob {
  settled = false;
  scanned = 0;
  found = 0;
  readonly done: Promise<Map<string, Fetched>>;
  private readonly results = new Map<string, Fetched>();
  private streamsLeft: number;
  private resolve!: (r: Map<string, Fetched>) => void;
  private reject!: (err: Error) => void;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly since: Record<string, string>, streams: number, private readonly opts: ScanOptions, signal: AbortSignal | undefined) {
    this.streamsLeft = streams;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = setTimeout(() => this.giveUp(), opts.requestMs);
    signal?.addEventListener('abort', () => this.fail(new CatchupCancelled()), { once: true });
  }

  /** Charges `entries` read for this request; past its budget the request gives up. */
  charge(entries: number): void {
    this.scanned += entries;
    if (this.scanned > this.opts.requestEntries) this.giveUp();
  }

  /** Counts one tick found for this request; past what it may replay, the request gives up. */
  collect(): void {
    if (++this.found > this.opts.requestTicks) this.giveUp();
  }

  /** One stream's pass is over for this request. */
  add(ticks: Map<string, Tick[]>, through: string, incomplete: (sym: string) => boolean): void {
    if (this.settled) return;
    for (const [sym, list] of ticks) {
      const prev = this.results.get(sym);
      if (prev === undefined) {
        this.results.set(sym, { ticks: list, through, incomplete: incomplete(sym) });
        continue;
      }
      prev.ticks.push(...list);
      if (compareStreamIds(through, prev.through) < 0) prev.through = through;
      prev.incomplete ||= incomplete(sym);
    }
    if (--this.streamsLeft > 0) return;
    // Ticks of one symbol from several streams (an unsharded layout) arrive stream by stream.
    if (this.opts.streams.length > 1) for (const f of this.results.values()) f.ticks.sort((a, b) => compareStreamIds(a.id, b.id));
    this.settle();
    this.resolve(this.results);
  }

  /** Over budget or past the deadline: every symbol is answered with a snapshot instead. */
  giveUp(): void {
    if (this.settled) return;
    this.settle();
    const none = new Map<string, Fetched>();
    for (const sym of Object.keys(this.since)) none.set(sym, { ticks: [], through: '0-0', incomplete: true });
    this.resolve(none);
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settle();
    this.reject(err);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }
}

/** A request's share of one stream's pass. */
interface Waiter {
  job: ScanJob;
  /** Lowest `since` of the request: entries up to it are read for others, not charged to it. */
  from: string;
  /** Per wanted symbol, the ticks found so far. */
  ticks: Map<string, Tick[]>;
  /** Symbols whose `since` the pass has not passed yet (ids only grow within a pass, so each is compared until then). */
  behind: Map<string, string>;
  since: Record<string, string>;
}

interface Pass {
  end: string;
  /** Entries up to this id are behind the pass: a request needing any of them waits for the next. */
  read: string;
  waiters: Waiter[];
  bySym: Map<string, Waiter[]>;
}

export class ScanScheduler {
  private readonly queued = new Map<string, Waiter[]>();
  private readonly running = new Map<string, Pass | undefined>();

  constructor(
    private readonly redis: ControlFor,
    private readonly frontier: (stream: string) => string,
    private readonly rate: ScanRate,
    private readonly opts: ScanOptions,
  ) {}

  /**
   * Every tick of each symbol after its `since`, read from the stream(s) up to a frontier. Resolves early with every
   * symbol incomplete when the request exceeds its budget; rejects with CatchupCancelled when `signal` aborts.
   */
  read(since: Record<string, string>, signal?: AbortSignal): Promise<Map<string, Fetched>> {
    if (Object.keys(since).length === 0) return Promise.resolve(new Map());
    const byStream = this.splitByStream(since);
    const job = new ScanJob(since, byStream.size, this.opts, signal);
    for (const [stream, part] of byStream) {
      let from = '';
      for (const id of Object.values(part)) if (from === '' || compareStreamIds(id, from) < 0) from = id;
      const w: Waiter = { job, from, since: part, ticks: new Map(), behind: new Map(Object.entries(part)) };
      for (const sym of Object.keys(part)) w.ticks.set(sym, []);
      const pass = this.running.get(stream);
      if (pass !== undefined && compareStreamIds(pass.read, from) <= 0) this.join(pass, w);
      else {
        const q = this.queued.get(stream) ?? [];
        q.push(w);
        this.queued.set(stream, q);
        if (!this.running.has(stream)) this.run(stream);
      }
    }
    return job.done;
  }

  /** Each symbol goes to its own stream's pass (shards), or to every stream's when the layout does not say. */
  private splitByStream(since: Record<string, string>): Map<string, Record<string, string>> {
    const byStream = new Map<string, Record<string, string>>();
    for (const [sym, id] of Object.entries(since)) {
      const own = this.opts.streamOf(sym);
      for (const stream of own === undefined ? this.opts.streams : [own]) {
        const part = byStream.get(stream);
        if (part === undefined) byStream.set(stream, { [sym]: id });
        else part[sym] = id;
      }
    }
    return byStream;
  }

  private join(pass: Pass, w: Waiter): void {
    pass.waiters.push(w);
    for (const sym of w.ticks.keys()) {
      const list = pass.bySym.get(sym);
      if (list) list.push(w);
      else pass.bySym.set(sym, [w]);
    }
  }

  /** Passes one after another while requests wait; the first starts on the next turn, so a burst shares it. */
  private run(stream: string): void {
    this.running.set(stream, undefined);
    setImmediate(async () => {
      for (;;) {
        const waiters = (this.queued.get(stream) ?? []).filter((w) => !w.job.settled);
        this.queued.delete(stream);
        if (waiters.length === 0) break;
        try {
          await this.pass(stream, waiters);
        } catch (err) {
          for (const w of waiters) w.job.fail(err as Error);
        } finally {
          this.running.set(stream, undefined);
        }
      }
      this.running.delete(stream);
    });
  }

  private async pass(stream: string, waiters: Waiter[]): Promise<void> {
    const end = this.frontier(stream);
    if (end === '') throw new Error(`the stream reader has not set up its consumer group on ${stream} yet`);
    const start = waiters.reduce((min, w) => (compareStreamIds(w.from, min) < 0 ? w.from : min), waiters[0].from);
    const pass: Pass = { end, read: start, waiters: [], bySym: new Map() };
    for (const w of waiters) this.join(pass, w);
    this.running.set(stream, pass);
    let cursor = '(' + start;
    for (;;) {
      await this.rate.take(this.opts.pageSize);
      // Checked after the wait for the rate: a request may have been cancelled or given up meanwhile.
      if (pass.waiters.every((w) => w.job.settled)) return;
      const page = (await this.redis(stream).sendCommand(['XRANGE', stream, cursor, end, 'COUNT', String(this.opts.pageSize)])) as RawEntry[];
      if (page.length === 0) break;
      this.distribute(pass, page);
      const last = page[page.length - 1][0];
      for (const w of pass.waiters) if (!w.job.settled && compareStreamIds(last, w.from) > 0) w.job.charge(page.length);
      pass.read = last;
      if (page.length < this.opts.pageSize) break;
      cursor = '(' + last;
    }
    // Reading is over: a request arriving now waits for the next pass.
    this.running.set(stream, undefined);
    const removed = await removals(this.redis(stream), stream);
    for (const w of pass.waiters) w.job.add(w.ticks, end, (sym) => removedAfter(removed, w.since[sym]));
  }

  private distribute(pass: Pass, page: RawEntry[]): void {
    for (const [id, fields] of page) {
      const waiting = pass.bySym.get(symOf(fields) ?? '');
      if (waiting === undefined) continue;
      const parsed = parseEntry(id, fields);
      if (typeof parsed === 'string') continue;
      for (const w of waiting) {
        if (w.job.settled) continue;
        const since = w.behind.get(parsed.sym);
        if (since !== undefined) {
          if (compareStreamIds(id, since) <= 0) continue;
          w.behind.delete(parsed.sym);
        }
        w.ticks.get(parsed.sym)!.push(parsed.tick);
        w.job.collect();
      }
    }
  }
}
