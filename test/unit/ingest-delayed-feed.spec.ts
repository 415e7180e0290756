import { expect } from 'chai';
import pino from 'pino';
import { DelayedFeed, DelayedTarget, tapDelayed } from '../../src/ingest/delayed-feed';
import type { RawEntry } from '../../src/ingest/fanout';
import { parseEntry } from '../../src/ingest/parse-entry';
import type { EntrySink } from '../../src/ingest/reader';
import { createMetrics, Metrics } from '../../src/metrics/metrics';
import type { StreamLoss } from '../../src/protocol/gap';
import type { Redis } from '../../src/redis/connection';
import { compareStreamIds, Tick } from '../../src/wire/tick';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DELAY_MS = 300;

function entry(id: string): RawEntry {
  return [id, ['sym', 'A', 'px', '1.00', 'sz', '1', 'ts', '1']];
}

/** One stream as Redis holds it, answering XRANGE and XINFO STREAM; `trim` removes its oldest entries. */
class FakeStream {
  entries: RawEntry[] = [];
  added = 0;
  readonly ranges: string[][] = [];
  readonly redis = {
    sendCommand: async (args: string[]): Promise<unknown> => {
      await Promise.resolve();
      if (args[0] === 'XINFO') {
        return ['length', this.entries.length, 'entries-added', this.added, 'recorded-first-entry-id', this.entries[0]?.[0] ?? '0-0', 'max-deleted-entry-id', '0-0'];
      }
      if (args[0] !== 'XRANGE') throw new Error(`unexpected ${args[0]}`);
      this.ranges.push(args);
      const from = args[2].slice(1);
      return this.entries.filter(([id]) => compareStreamIds(id, from) > 0 && compareStreamIds(id, args[3]) <= 0).slice(0, Number(args[5]));
    },
  } as unknown as Redis;

  add(ids: string[]): RawEntry[] {
    const entries = ids.map(entry);
    this.entries.push(...entries);
    this.added += entries.length;
    return entries;
  }

  trim(keep: number): void {
    this.entries = this.entries.slice(this.entries.length - keep);
  }
}

/** The delayed fan-out's side: what was released when, frontiers, losses. */
class Target implements DelayedTarget {
  readonly released: { id: string; at: number }[] = [];
  readonly events: string[] = [];
  readonly losses: StreamLoss[] = [];
  readonly frontiers: string[] = [];
  publishEntries(_stream: string, entries: readonly RawEntry[]): undefined {
    this.release(entries.map(([id]) => id));
    return undefined;
  }
  publishTicks(_stream: string, _syms: readonly string[], ticks: readonly Tick[], from: number, to: number): undefined {
    this.release(ticks.slice(from, to).map((t) => t.id));
    return undefined;
  }
  private release(ids: string[]): void {
    const at = Date.now();
    for (const id of ids) {
      this.released.push({ id, at });
      this.events.push(id);
    }
  }
  startsAfter(_stream: string, id: string): void {
    this.frontiers.push(id);
  }
  announceLoss(loss: StreamLoss): void {
    this.losses.push(loss);
    this.events.push(`gap ${loss.after}..${loss.through}`);
  }
}

function feed(stream: FakeStream, bufferEntries = 1000, metrics: Metrics = createMetrics()) {
  const target = new Target();
  const delayed = new DelayedFeed(target, () => stream.redis, { streams: ['s'], delayMs: DELAY_MS, bufferEntries, commandTimeoutMs: 1000, releaseEveryMs: 10 },
    metrics, silent);
  return { target, delayed };
}

/** What the real-time fan-out does with a read's entries: hands the feed each one's tick, parsed. */
function takeAll(delayed: DelayedFeed, entries: RawEntry[]): void {
  for (const [id, fields] of entries) {
    const parsed = parseEntry(id, fields);
    if (typeof parsed === 'string') throw new Error(parsed);
    delayed.take('s', parsed.sym, parsed.tick);
  }
}

/** `n` ids one every `stepMs` ms from `fromMs`. */
const idsFrom = (fromMs: number, n: number, stepMs: number) => Array.from({ length: n }, (_, i) => `${fromMs + i * stepMs}-${i % 3}`);

describe('ingest: DelayedFeed (the delayed tier\'s source)', () => {
  it('releases every entry in stream order, none before its id time plus the delay', async () => {
    const s = new FakeStream();
    const { target, delayed } = feed(s);
    const now = Date.now();
    // The reader's group starts behind now − delay: the buffer covers everything the feed will release.
    delayed.startsAfter('s', `${now - DELAY_MS - 10}-0`);
    delayed.start();
    const ids = idsFrom(now, 40, 5);
    takeAll(delayed, s.add(ids));
    await sleep(DELAY_MS + 200 + 150);
    delayed.stop();
    expect(target.released.map((r) => r.id)).to.deep.equal(ids);
    for (const r of target.released) expect(r.at, r.id).to.be.at.least(Number(r.id.split('-')[0]) + DELAY_MS);
    expect(s.ranges).to.deep.equal([]);
  });

  it('reads back by XRANGE what its bounded buffer dropped, and still releases everything once, in order', async () => {
    const s = new FakeStream();
    const metrics = createMetrics();
    const { target, delayed } = feed(s, 10, metrics);
    const now = Date.now();
    // The reader's group starts behind now − delay: the buffer covers everything the feed will release.
    delayed.startsAfter('s', `${now - DELAY_MS - 10}-0`);
    delayed.start();
    const ids = idsFrom(now, 40, 1);
    takeAll(delayed, s.add(ids));
    expect(delayed.buffered()).to.equal(10);
    await sleep(DELAY_MS + 40 + 150);
    delayed.stop();
    expect(target.released.map((r) => r.id)).to.deep.equal(ids);
    // The buffer kept the last 10: the 30 before them, up to ids[29], were read back.
    expect(s.ranges.some((r) => r[3] === ids[29])).to.equal(true);
    expect((await metrics.delayRangeReads.get()).values[0].value).to.equal(s.ranges.length);
  });

  it('reads back the entries before the live reader\'s start that are due, from just before now minus the delay', async () => {
    const s = new FakeStream();
    const now = Date.now();
    const old = idsFrom(now - DELAY_MS - 500, 4, 1);
    const recent = idsFrom(now - DELAY_MS + 100, 5, 1);
    s.add([...old, ...recent]);
    const { target, delayed } = feed(s);
    delayed.start();
    delayed.startsAfter('s', recent[recent.length - 1]);
    await sleep(250);
    delayed.stop();
    expect(target.released.map((r) => r.id)).to.deep.equal(recent);
    const [ms, seq] = target.frontiers[0].split('-');
    expect(Number(ms)).to.be.within(now - DELAY_MS - 1, now - DELAY_MS + 20);
    expect(seq).to.equal('18446744073709551615');
  });

  it('announces a live loss as delayed once the delayed data reaches it: after the entries before it, before those after', async () => {
    const s = new FakeStream();
    const { target, delayed } = feed(s);
    const now = Date.now();
    // The reader's group starts behind now − delay: the buffer covers everything the feed will release.
    delayed.startsAfter('s', `${now - DELAY_MS - 10}-0`);
    delayed.start();
    takeAll(delayed, s.add([`${now}-0`, `${now + 10}-0`]));
    const loss: StreamLoss = { stream: 's', after: `${now + 10}-0`, through: `${now + 50}-0`, reason: 'trimmed' };
    delayed.announceLoss(loss);
    takeAll(delayed, s.add([`${now + 60}-0`]));
    await sleep(100);
    expect(target.losses).to.deep.equal([]);
    await sleep(DELAY_MS + 60);
    delayed.stop();
    expect(target.events).to.deep.equal([`${now}-0`, `${now + 10}-0`, `gap ${now + 10}-0..${now + 50}-0`, `${now + 60}-0`]);
    expect(target.losses).to.deep.equal([{ ...loss, delayed: true }]);
  });

  it('announces a delayed gap when a read-back finds the stream trimmed past what it had released', async () => {
    const s = new FakeStream();
    const { target, delayed } = feed(s, 0);
    const now = Date.now();
    // The reader's group starts behind now − delay: the buffer covers everything the feed will release.
    delayed.startsAfter('s', `${now - DELAY_MS - 10}-0`);
    delayed.start();
    takeAll(delayed, s.add([`${now}-0`]));
    await sleep(DELAY_MS + 60);
    expect(target.released.map((r) => r.id)).to.deep.equal([`${now}-0`]);
    takeAll(delayed, s.add(idsFrom(now + 100, 5, 1)));
    s.trim(2);
    await sleep(250);
    delayed.stop();
    expect(target.losses).to.deep.equal([{ stream: 's', after: `${now}-0`, through: `${now + 103}-0`, reason: 'trimmed', delayed: true }]);
    expect(target.released.map((r) => r.id)).to.deep.equal([`${now}-0`, `${now + 103}-0`, `${now + 104}-1`]);
  });
});

describe('ingest: tapDelayed (the reader\'s sink with the delayed tier tapped in)', () => {
  it('hands reads to the live sink only (its fan-out feeds the delayed buffer), where groups start and losses to both, and reports the live frontier', () => {
    const calls: string[] = [];
    const live: EntrySink = {
      publishEntries: (stream, entries) => void calls.push(`publish ${stream} ${entries.length}`),
      startsAfter: (stream, id) => void calls.push(`starts ${stream} ${id}`),
      frontier: () => '7-0',
      announceLoss: (loss) => void calls.push(`loss ${loss.stream}`),
    };
    const { delayed } = feed(new FakeStream());
    const sink = tapDelayed(live, delayed);
    sink.startsAfter('s', '1-0');
    sink.publishEntries('s', [entry('2-0'), entry('3-0')]);
    sink.announceLoss({ stream: 's', after: '3-0', through: '4-0', reason: 'deleted' });
    expect(calls).to.deep.equal(['starts s 1-0', 'publish s 2', 'loss s']);
    expect(sink.frontier('s')).to.equal('7-0');
    expect(delayed.buffered(), 'nothing buffered from the raw entries').to.equal(0);
  });
});
