import { expect } from 'chai';
import pino from 'pino';
import { Catchup } from '../../src/ingest/catchup';
import { LatestIndex } from '../../src/ingest/catchup/latest-index';
import { CatchupCancelled, ScanScheduler } from '../../src/ingest/catchup/scan';
import { ScanRate } from '../../src/ingest/catchup/scan-rate';
import type { PublishedHistory, RawEntry } from '../../src/ingest/fanout';
import { SymbolHistory } from '../../src/ingest/history';
import type { Redis } from '../../src/redis/connection';
import type { ControlFor } from '../../src/redis/endpoints';
import { compareStreamIds, Tick } from '../../src/wire/tick';

const silent = pino({ level: 'silent' });

/**
 * The stream commands catch-up sends, answered from an array as Redis answers them, counted; `hold` keeps every
 * reply waiting until released, so a test can act between two pages.
 */
class FakeStream {
  entries: RawEntry[] = [];
  added = 0;
  maxDeleted = '0-0';
  readonly calls: string[][] = [];
  hold = false;
  private held: (() => void)[] = [];

  add(n: number, symbols: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++, this.added++) {
      const id = `${1000 + this.added}-0`;
      this.entries.push([id, ['sym', `S${this.added % symbols}`, 'px', '1.00', 'sz', '1', 'ts', '1']]);
      ids.push(id);
    }
    return ids;
  }

  count(command: string): number {
    return this.calls.filter((c) => c[0] === command).length;
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }

  readonly redis = {
    sendCommand: async (args: string[]): Promise<unknown> => {
      this.calls.push(args);
      if (this.hold) await new Promise<void>((r) => this.held.push(r));
      return this.answer(args);
    },
  } as unknown as Redis;

  /** Every stream's commands go to this one fake. */
  readonly control: ControlFor = () => this.redis;

  private answer(args: string[]): unknown {
    const [command] = args;
    if (command === 'XINFO') {
      return ['length', this.entries.length, 'entries-added', this.added,
        'recorded-first-entry-id', this.entries[0]?.[0] ?? '0-0', 'max-deleted-entry-id', this.maxDeleted];
    }
    const count = Number(args[5]);
    const after = (id: string, bound: string) => (bound === '-' ? true : bound.startsWith('(') ? compareStreamIds(id, bound.slice(1)) > 0 : compareStreamIds(id, bound) >= 0);
    const before = (id: string, bound: string) => (bound === '+' ? true : bound.startsWith('(') ? compareStreamIds(id, bound.slice(1)) < 0 : compareStreamIds(id, bound) <= 0);
    if (command === 'XRANGE') return this.entries.filter(([id]) => after(id, args[2]) && before(id, args[3])).slice(0, count);
    if (command === 'XREVRANGE') return this.entries.filter(([id]) => before(id, args[2]) && after(id, args[3])).reverse().slice(0, count);
    throw new Error(`unexpected command ${command}`);
  }
}

const idsOf = (ticks: Tick[] | undefined) => (ticks ?? []).map((t) => t.id);
const expectedAfter = (s: FakeStream, sym: string, since: string, through: string) =>
  s.entries.filter(([id, f]) => f![1] === sym && compareStreamIds(id, since) > 0 && compareStreamIds(id, through) <= 0).map(([id]) => id);

const scanOpts = { streams: ['s'], streamOf: () => 's', requestEntries: 1_000_000, requestTicks: 1_000_000, requestMs: 10_000, pageSize: 100 };

describe('ingest: catch-up scans (ScanScheduler)', () => {
  it('serves every symbol of two concurrent requests with one pass over the stream', async () => {
    const s = new FakeStream();
    const ids = s.add(1000, 10);
    const scans = new ScanScheduler(s.control, () => ids[ids.length - 1], new ScanRate(1e9), scanOpts);
    const [a, b] = await Promise.all([
      scans.read({ S1: ids[10], S2: ids[500] }),
      scans.read({ S1: ids[300], S3: ids[0] }),
    ]);
    // One pass from the lowest since (ids[0]): 999 entries in pages of 100, then one XINFO.
    expect(s.count('XRANGE')).to.equal(10);
    expect(s.count('XINFO')).to.equal(1);
    const last = ids[ids.length - 1];
    expect(idsOf(a.get('S1')?.ticks)).to.deep.equal(expectedAfter(s, 'S1', ids[10], last));
    expect(idsOf(a.get('S2')?.ticks)).to.deep.equal(expectedAfter(s, 'S2', ids[500], last));
    expect(idsOf(b.get('S1')?.ticks)).to.deep.equal(expectedAfter(s, 'S1', ids[300], last));
    expect(idsOf(b.get('S3')?.ticks)).to.deep.equal(expectedAfter(s, 'S3', ids[0], last));
    expect([...a.values(), ...b.values()].every((f) => !f.incomplete && f.through === last)).to.equal(true);
  });

  it('reads no further than the frontier as it was when the pass began', async () => {
    const s = new FakeStream();
    const ids = s.add(300, 3);
    const frontier = ids[199];
    const scans = new ScanScheduler(s.control, () => frontier, new ScanRate(1e9), scanOpts);
    const got = await scans.read({ S0: ids[0] });
    expect(idsOf(got.get('S0')?.ticks)).to.deep.equal(expectedAfter(s, 'S0', ids[0], frontier));
    expect(got.get('S0')?.through).to.equal(frontier);
  });

  it('stops reading for a request whose client is gone, and rejects it with CatchupCancelled', async () => {
    const s = new FakeStream();
    const ids = s.add(1000, 10);
    const scans = new ScanScheduler(s.control, () => ids[ids.length - 1], new ScanRate(1e9), scanOpts);
    s.hold = true;
    const abort = new AbortController();
    const reading = scans.read({ S1: ids[0] }, abort.signal);
    await new Promise((r) => setImmediate(r));
    expect(s.count('XRANGE')).to.equal(1);
    abort.abort();
    s.hold = false;
    s.release();
    const err = await reading.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(CatchupCancelled);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.count('XRANGE')).to.equal(1);
  });

  it('gives every symbol of a request over its entry budget up as incomplete, and still serves the others in the pass', async () => {
    const s = new FakeStream();
    const ids = s.add(1000, 10);
    const last = ids[ids.length - 1];
    const scans = new ScanScheduler(s.control, () => last, new ScanRate(1e9), { ...scanOpts, requestEntries: 450 });
    const [far, near] = await Promise.all([scans.read({ S1: ids[0], S2: ids[900] }), scans.read({ S3: ids[700] })]);
    expect(far.get('S1')?.incomplete).to.equal(true);
    expect(far.get('S2')?.incomplete).to.equal(true);
    expect(near.get('S3')?.incomplete).to.equal(false);
    expect(idsOf(near.get('S3')?.ticks)).to.deep.equal(expectedAfter(s, 'S3', ids[700], last));
  });

  it('gives a request up as incomplete once it has found more ticks than it may replay', async () => {
    const s = new FakeStream();
    const ids = s.add(1000, 10);
    const scans = new ScanScheduler(s.control, () => ids[ids.length - 1], new ScanRate(1e9), { ...scanOpts, requestTicks: 150 });
    const got = await scans.read({ S1: ids[0], S2: ids[0] });
    expect(got.get('S1')?.incomplete).to.equal(true);
    expect(s.count('XRANGE')).to.equal(8);
  });

  it('gives a request up as incomplete at its deadline', async () => {
    const s = new FakeStream();
    const ids = s.add(1000, 10);
    const scans = new ScanScheduler(s.control, () => ids[ids.length - 1], new ScanRate(1e9), { ...scanOpts, requestMs: 50 });
    s.hold = true;
    const got = await scans.read({ S1: ids[0] });
    expect(got.get('S1')?.incomplete).to.equal(true);
    s.hold = false;
    s.release();
  });

  it('marks a symbol incomplete when entries after its since were deleted (XDEL) or trimmed away', async () => {
    const s = new FakeStream();
    const ids = s.add(1000, 10);
    const last = ids[ids.length - 1];
    const scans = new ScanScheduler(s.control, () => last, new ScanRate(1e9), scanOpts);
    s.maxDeleted = ids[600];
    const deleted = await scans.read({ S1: ids[500], S2: ids[700] });
    expect(deleted.get('S1')?.incomplete).to.equal(true);
    expect(deleted.get('S2')?.incomplete).to.equal(false);
    s.maxDeleted = '0-0';
    s.entries = s.entries.slice(100);
    const trimmed = await scans.read({ S1: ids[50], S2: ids[150] });
    expect(trimmed.get('S1')?.incomplete).to.equal(true);
    expect(trimmed.get('S2')?.incomplete).to.equal(false);
  });
});

describe('ingest: the latest-tick index (LatestIndex)', () => {
  it('holds the latest tick at or before the frontier of every symbol within the last --resume-scan-limit entries', async () => {
    const s = new FakeStream();
    s.add(10, 20);
    const ids = s.add(1000, 10);
    const frontier = ids[899];
    s.add(100, 20); // after the frontier: published live, never in the index
    const index = new LatestIndex(s.control, () => frontier, new ScanRate(1e9), { streams: ['s'], scanLimit: 500, pageSize: 100 }, silent);
    index.start();
    await index.whenReady(Date.now() + 5000);
    expect(index.ready).to.equal(true);
    for (let k = 0; k < 10; k++) {
      const want = s.entries.filter(([id, f]) => f![1] === `S${k}` && compareStreamIds(id, frontier) <= 0).map(([id]) => id).pop();
      expect(index.get(`S${k}`)?.id, `S${k}`).to.equal(want);
    }
    expect(index.get('S15')).to.equal(undefined);
    expect(s.count('XREVRANGE')).to.equal(5);
  });
});

/** A published history as the fan-out keeps it: one stream, a frontier, per-symbol rings. */
function published(position: string, histories: Record<string, Tick[]> = {}, frontier = position): PublishedHistory {
  const map = new Map<string, SymbolHistory>();
  for (const [sym, ticks] of Object.entries(histories)) {
    const h = new SymbolHistory(16);
    for (const t of ticks) h.push(t);
    map.set(sym, h);
  }
  return { position, frontier: () => frontier, history: (sym) => map.get(sym), heldByClient: () => undefined };
}

const encode = (_format: string, batch: { sym: string; ticks: Tick[] }) => JSON.stringify({ sym: batch.sym, ids: batch.ticks.map((t) => t.id) });

function catchup(s: FakeStream, history: PublishedHistory, timeoutMs = 5000): Catchup {
  return new Catchup(history, s.control, { streams: ['s'], streamOf: () => 's', maxReplayTicks: 10_000, scanLimit: 10_000, scanRate: 1e9, timeoutMs }, encode, silent);
}

describe('ingest: Catchup', () => {
  const tick = (id: string): Tick => ({ id, ts: 1, px: '1.00', sz: '1' });

  it('answers a since still beyond the frontier at the deadline with RESUME_UNAVAILABLE and a snapshot, never an empty replay', async () => {
    const s = new FakeStream();
    const ids = s.add(10, 1);
    const c = catchup(s, published(ids[9], { S0: ids.map(tick) }), 200);
    const started = Date.now();
    const answer = (await c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S0: '99999999999999-0' } }))();
    expect(Date.now() - started).to.be.at.least(190);
    expect(answer.frames).to.deep.equal([]);
    expect(answer.unavailable).to.deep.equal(['S0']);
    expect(answer.snapshot?.ticks.map((t) => t.id)).to.deep.equal([ids[9]]);
  });

  it('waits for a frontier behind a since (a client failing over from an instance that had read further) and replays from memory', async () => {
    const s = new FakeStream();
    const ids = s.add(10, 1);
    const history = published(ids[5], { S0: ids.slice(0, 6).map(tick) });
    const c = catchup(s, history);
    const answering = c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S0: ids[7] } });
    await new Promise((r) => setTimeout(r, 60));
    // This instance reads on: the ticks up to and past the client's since reach its memory.
    for (const id of ids.slice(6)) history.history('S0')!.push(tick(id));
    Object.assign(history, { position: ids[9], frontier: () => ids[9] });
    const answer = (await answering)();
    expect(answer.unavailable).to.deep.equal([]);
    expect(answer.frames.flatMap((f) => (JSON.parse(f.frame as string) as { ids: string[] }).ids)).to.deep.equal(ids.slice(8));
    expect(s.count('XRANGE')).to.equal(0);
  });

  it('holds a request made before the reader has a frontier until it has one, and fails it only at the deadline', async () => {
    const s = new FakeStream();
    const ids = s.add(10, 1);
    const history = { ...published(ids[9], { S0: ids.map(tick) }), position: '' };
    const c = catchup(s, history);
    const answering = c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S0: ids[4] } });
    await new Promise((r) => setTimeout(r, 100));
    history.position = ids[9];
    const answer = (await answering)();
    expect(answer.unavailable).to.deep.equal([]);
    expect(answer.frames.flatMap((f) => (JSON.parse(f.frame as string) as { ids: string[] }).ids)).to.deep.equal(ids.slice(5));
    const never = new Catchup({ ...history, position: '' }, s.control, { streams: ['s'], streamOf: () => 's', maxReplayTicks: 10, scanLimit: 10, scanRate: 1e9, timeoutMs: 150 }, encode, silent);
    const started = Date.now();
    let failure: Error | undefined;
    await never.prepare({ format: 'json', tier: 0, snapshot: ['S0'], since: {} }).catch((err: Error) => (failure = err));
    expect(failure?.message).to.equal('the stream reader has not set up its consumer group yet');
    expect(Date.now() - started).to.be.within(150, 150 + 200);
  });

  it('tells the fan-out where each client now stands: its last replayed tick, its since when nothing was replayed, its snapshot tick', async () => {
    const s = new FakeStream();
    const ids = s.add(31, 3);
    const held: string[] = [];
    const history = { ...published(ids[30]), heldByClient: (sym: string, id: string) => held.push(`${sym}@${id}`) };
    const c = catchup(s, history);
    c.start();
    const s0 = ids.filter((_, i) => i % 3 === 0);
    const s2 = ids.filter((_, i) => i % 3 === 2);
    // S0 replays from its 5th tick; S1 snapshots; S2's since is its latest tick (nothing to replay); S3 does not exist.
    (await c.prepare({ format: 'json', tier: 0, snapshot: ['S1', 'S3'], since: { S0: s0[4], S2: s2[s2.length - 1] } }))();
    (await c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S2: ids[30] } }))();
    c.stop();
    expect(held).to.deep.equal([`S0@${s0[s0.length - 1]}`, `S2@${s2[s2.length - 1]}`, `S1@${ids[28]}`, `S2@${ids[30]}`]);
    expect(s0[s0.length - 1]).to.equal(ids[30]);
  });

  it('replays nothing for a since equal to the latest published tick, and reports nothing unavailable', async () => {
    const s = new FakeStream();
    const ids = s.add(10, 1);
    const c = catchup(s, published(ids[9], { S0: ids.map(tick) }));
    const answer = (await c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S0: ids[9] } }))();
    expect(answer).to.deep.equal({ frames: [], unavailable: [] });
  });

  it('answers snapshots of symbols not in memory from the index: no stream read per request', async () => {
    const s = new FakeStream();
    const ids = s.add(1000, 10);
    const c = catchup(s, published(ids[999]));
    c.start();
    const first = (await c.prepare({ format: 'json', tier: 0, snapshot: ['S1', 'S2'], since: {} }))();
    const reads = s.calls.length;
    for (let i = 0; i < 5; i++) (await c.prepare({ format: 'json', tier: 0, snapshot: ['S3', 'S4', 'S5'], since: {} }))();
    c.stop();
    expect(s.calls.length).to.equal(reads);
    expect(first.snapshot?.ticks.map((t) => `${t.sym}@${t.id}`)).to.deep.equal([`S1@${ids[991]}`, `S2@${ids[992]}`]);
  });

  it('answers a resume replayed from the stream without waiting for the latest-tick index', async () => {
    const s = new FakeStream();
    const ids = s.add(100, 2);
    // The index is never started: a request that waited for it would wait for the 10-minute deadline.
    const c = new Catchup(published(ids[99]), s.control,
      { streams: ['s'], streamOf: () => 's', maxReplayTicks: 10_000, scanLimit: 10_000, scanRate: 1e9, timeoutMs: 600_000 }, encode, silent);
    const answer = (await c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S1: ids[49] } }))();
    expect(answer.unavailable).to.deep.equal([]);
    expect(answer.frames.flatMap((f) => (JSON.parse(f.frame as string) as { ids: string[] }).ids))
      .to.deep.equal(expectedAfter(s, 'S1', ids[49], ids[99]));
  });

  it('joins ticks read from the stream to those in memory at the scan end, without a hole or a duplicate', async () => {
    const s = new FakeStream();
    const ids = s.add(100, 1);
    // The scan stops at ids[83]; memory holds every tick published after it (ids[84..99], nothing evicted).
    const c = catchup(s, published(ids[99], { S0: ids.slice(84).map(tick) }, ids[83]));
    const answer = (await c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S0: ids[9] } }))();
    const replayed = answer.frames.flatMap((f) => (JSON.parse(f.frame as string) as { ids: string[] }).ids);
    expect(answer.unavailable).to.deep.equal([]);
    expect(replayed).to.deep.equal(ids.slice(10));
  });

  it('replays at most --max-replay-ticks ticks per request: symbols that no longer fit get RESUME_UNAVAILABLE', async () => {
    const s = new FakeStream();
    const ids = s.add(30, 3);
    const h = (k: number) => ids.filter((_, i) => i % 3 === k).map(tick);
    const c = new Catchup(published(ids[29], { S0: h(0), S1: h(1), S2: h(2) }), s.control,
      { streams: ['s'], streamOf: () => 's', maxReplayTicks: 15, scanLimit: 10_000, scanRate: 1e9, timeoutMs: 5000 }, encode, silent);
    const answer = (await c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S0: ids[0], S1: ids[1], S2: ids[2] } }))();
    expect(answer.frames.map((f) => (JSON.parse(f.frame as string) as { sym: string }).sym)).to.deep.equal(['S0']);
    expect(answer.unavailable).to.deep.equal(['S1', 'S2']);
    expect(answer.snapshot?.ticks.map((t) => t.sym)).to.deep.equal(['S1', 'S2']);
  });

  it('answers RESUME_UNAVAILABLE when memory has evicted ticks between the scan end and what it holds', async () => {
    const s = new FakeStream();
    const ids = s.add(100, 1);
    // Ring of 16 given 20 ticks (ids[80..99]): ids[80..83] evicted, the scan stops at ids[79].
    const c = catchup(s, published(ids[99], { S0: ids.slice(80).map(tick) }, ids[79]));
    const answer = (await c.prepare({ format: 'json', tier: 0, snapshot: [], since: { S0: ids[9] } }))();
    expect(answer.frames).to.deep.equal([]);
    expect(answer.unavailable).to.deep.equal(['S0']);
    expect(answer.snapshot?.ticks.map((t) => t.id)).to.deep.equal([ids[99]]);
  });
});

describe('ingest: SymbolHistory', () => {
  const tick = (id: string): Tick => ({ id, ts: 1, px: '1.00', sz: '1' });

  it('after clear(), covers no range across the clear, and keeps the latest tick for snapshots', () => {
    const h = new SymbolHistory(8);
    for (let i = 1; i <= 4; i++) h.push(tick(`${i}-0`));
    expect(h.covers('2-0')).to.equal(true);
    h.clear();
    expect(h.covers('2-0')).to.equal(false);
    expect(h.holdsPublishedAfter('2-0')).to.equal(false);
    expect(h.latest()?.id).to.equal('4-0');
    h.push(tick('9-0'));
    expect(h.covers('4-0')).to.equal(false);
    expect(h.covers('9-0')).to.equal(true);
    expect(h.after('0-0').map((t) => t.id)).to.deep.equal(['9-0']);
  });

  it('holds every tick published after an id until the ring first evicts one', () => {
    const h = new SymbolHistory(3);
    for (let i = 5; i <= 7; i++) h.push(tick(`${i}-0`));
    expect(h.holdsPublishedAfter('1-0')).to.equal(true);
    h.push(tick('8-0'));
    expect(h.holdsPublishedAfter('1-0')).to.equal(false);
    expect(h.holdsPublishedAfter('6-0')).to.equal(true);
  });
});

describe('ingest: Catchup of a rate tier', () => {
  const tick = (id: string): Tick => ({ id, ts: 1, px: '1.00', sz: '1' });
  const withKind = (_format: string, batch: { sym: string; prev?: string; ticks: Tick[] }, _sent: number, kind: string) =>
    JSON.stringify({ kind, sym: batch.sym, prev: batch.prev, ids: batch.ticks.map((t) => t.id) });
  const rateCatchup = (s: FakeStream, history: PublishedHistory, timeoutMs = 5000) => new Catchup(history, s.control,
    { streams: ['s'], streamOf: () => 's', maxReplayTicks: 10_000, scanLimit: 10_000, scanRate: 1e9, timeoutMs }, withKind, silent);
  const TIER_4 = 3; // TIERS: full, 1/s, 2/s, 4/s, …

  it('answers a resume with one conflated frame holding the latest tick, prev the since, and no stream read', async () => {
    const s = new FakeStream();
    const ids = s.add(10, 1);
    const held: string[] = [];
    // Memory holds only the last 3: a full-tier resume from ids[2] would read the stream.
    const history = { ...published(ids[9], { S0: ids.slice(7).map(tick) }), heldByClient: (sym: string, id: string) => held.push(`${sym}@${id}`) };
    const answer = (await rateCatchup(s, history).prepare({ format: 'json', tier: TIER_4, snapshot: [], since: { S0: ids[2] } }))();
    expect(answer.frames.map((f) => JSON.parse(f.frame as string))).to.deep.equal([{ kind: 'conflated', sym: 'S0', prev: ids[2], ids: [ids[9]] }]);
    expect(answer.unavailable).to.deep.equal([]);
    expect(answer.snapshot).to.equal(undefined);
    expect(held).to.deep.equal([`S0@${ids[9]}`]);
    expect(s.calls).to.deep.equal([]);
  });

  it('sends nothing for a since at the latest tick, and RESUME_UNAVAILABLE with a snapshot only for a since beyond the frontier', async () => {
    const s = new FakeStream();
    const ids = s.add(10, 2);
    const history = published(ids[9], { S0: ids.filter((_, i) => i % 2 === 0).map(tick), S1: ids.filter((_, i) => i % 2 === 1).map(tick) });
    const answer = (await rateCatchup(s, history, 100).prepare({ format: 'json', tier: TIER_4, snapshot: [], since: { S0: ids[8], S1: '99999999999999-0' } }))();
    expect(answer.frames).to.deep.equal([]);
    expect(answer.unavailable).to.deep.equal(['S1']);
    expect(answer.snapshot?.ticks.map((t) => `${t.sym}@${t.id}`)).to.deep.equal([`S1@${ids[9]}`]);
  });

  it('snapshots as the source tier does', async () => {
    const s = new FakeStream();
    const ids = s.add(10, 1);
    const history = published(ids[9], { S0: ids.map(tick) });
    const answer = (await rateCatchup(s, history).prepare({ format: 'json', tier: TIER_4, snapshot: ['S0'], since: {} }))();
    expect(answer).to.deep.equal({ frames: [], unavailable: [], snapshot: { position: ids[9], ticks: [{ sym: 'S0', ...tick(ids[9]) }] } });
  });
});
