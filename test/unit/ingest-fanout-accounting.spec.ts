import { expect } from 'chai';
import pino from 'pino';
import { Writable } from 'node:stream';
import { Fanout, FrameEncoder, RawEntry } from '../../src/ingest/fanout';
import { createMetrics, Metrics } from '../../src/metrics/metrics';
import { SharedRegistry } from '../../src/registry/shared-registry';
import { FormatName, topicFor } from '../../src/wire/formats';
import { TickBatch } from '../../src/wire/tick';

function entry(id: string, sym: string, ts = 1): RawEntry {
  return [id, ['sym', sym, 'px', '1.00', 'sz', '1', 'ts', String(ts)]];
}

/** A logger whose lines are kept, parsed. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { log: pino({ level: 'info' }, sink), lines };
}

interface Published { topic: string; frame: string | Uint8Array; isBinary: boolean }

function setup(formats: readonly FormatName[], encode: FrameEncoder, metrics: Metrics = createMetrics(), log = pino({ level: 'silent' })) {
  const registry = SharedRegistry.create({ topicCapacity: 64, sessionCapacity: 64 });
  const published: Published[] = [];
  // The raw size of a binary frame is reported as 10 times its wire size, so the two byte counters differ.
  const fanout = new Fanout(formats, encode, (frame) => 10 * (frame as Uint8Array).byteLength, registry,
    { publish: (topic, frame, isBinary) => published.push({ topic, frame, isBinary }), flush: () => undefined, announceLoss: () => undefined },
    metrics, log, 16);
  const subscribe = (session: number, format: FormatName, sym: string) => {
    if (!registry.session(session)) registry.openSession(session, 0, 0);
    registry.addSubscription(session, topicFor(format, sym));
  };
  return { fanout, published, subscribe, metrics };
}

/** JSON frames as text with a two-byte character (so bytes ≠ characters); binary frames as 3 bytes per tick. */
const textAndBinary: FrameEncoder = (format, batch) =>
  format === 'json' ? `é${batch.ticks.length}` : new Uint8Array(3 * batch.ticks.length);

async function byFormat(metrics: Metrics, name: 'framesPublished' | 'ticksDelivered' | 'bytesPublished' | 'rawBytesPublished') {
  const out: Record<string, number> = {};
  for (const v of (await metrics[name].get()).values) out[String(v.labels.format)] = v.value;
  return out;
}

function withClock<T>(now: number, run: () => T): T {
  const real = Date.now;
  Date.now = () => now;
  try {
    return run();
  } finally {
    Date.now = real;
  }
}

describe('ingest: Fanout accounting (what it publishes and counts per read)', () => {
  it('publishes text frames as text and binary frames as binary', () => {
    const { fanout, published, subscribe } = setup(['json', 'bin'], textAndBinary);
    subscribe(1, 'json', 'A');
    subscribe(1, 'bin', 'A');
    fanout.publishEntries('s', [entry('1-0', 'A')]);
    expect(published.map((p) => [p.topic, p.isBinary])).to.deep.equal([['json/A', false], ['bin/A', true]]);
  });

  it('counts per format frames, ticks times subscribers, wire bytes, and raw bytes (a text frame\'s raw bytes are its wire bytes)', async () => {
    const { fanout, subscribe, metrics } = setup(['json', 'bin'], textAndBinary);
    for (const s of [1, 2, 3]) subscribe(s, 'json', 'A');
    subscribe(4, 'bin', 'A');
    subscribe(4, 'bin', 'B');
    fanout.publishEntries('s', [entry('1-0', 'A'), entry('1-1', 'A'), entry('1-2', 'B')]);
    fanout.publishEntries('s', [entry('2-0', 'A')]);
    expect(await byFormat(metrics, 'framesPublished')).to.deep.equal({ json: 2, bin: 3 });
    // json: 2 ticks × 3 subscribers, then 1 × 3; bin: 2 × 1 + 1 × 1, then 1 × 1.
    expect(await byFormat(metrics, 'ticksDelivered')).to.deep.equal({ json: 9, bin: 4 });
    // json: "é2" and "é1" are 3 bytes each; bin: 6 + 3, then 3.
    expect(await byFormat(metrics, 'bytesPublished')).to.deep.equal({ json: 6, bin: 12 });
    expect(await byFormat(metrics, 'rawBytesPublished')).to.deep.equal({ json: 6, bin: 120 });
  });

  it('exposes a zero encode-error count for every format from the start', async () => {
    const { metrics } = setup(['json', 'bin'], textAndBinary);
    const values = (await metrics.encodeErrors.get()).values.map((v) => [v.labels.format, v.value]);
    expect(values).to.deep.equal([['json', 0], ['bin', 0]]);
  });

  it('when an encoder throws, counts and logs it for that format and still publishes the others', async () => {
    const { log, lines } = capturingLogger();
    const failing: FrameEncoder = (format, batch) => {
      if (format === 'bin') throw new Error('encoder bug');
      return textAndBinary(format, batch, 0);
    };
    const { fanout, published, subscribe, metrics } = setup(['json', 'bin'], failing, createMetrics(), log);
    subscribe(1, 'json', 'A');
    subscribe(1, 'bin', 'A');
    fanout.publishEntries('s', [entry('1-0', 'A')]);
    expect(published.map((p) => p.topic)).to.deep.equal(['json/A']);
    const errors = (await metrics.encodeErrors.get()).values.map((v) => [v.labels.format, v.value]);
    expect(errors).to.deep.equal([['json', 0], ['bin', 1]]);
    expect(lines.map((l) => [l.msg, (l as unknown as { format: string; sym: string; err: string }).format])).to.deep.equal([['cannot encode batch', 'bin']]);
    expect(lines[0]).to.include({ sym: 'A', err: 'encoder bug' });
  });

  it('observes once per read the time from the oldest published tick\'s ts to the publish, in seconds', async () => {
    const { fanout, subscribe, metrics } = setup(['json'], textAndBinary);
    subscribe(1, 'json', 'A');
    subscribe(1, 'json', 'B');
    withClock(10_000, () => fanout.publishEntries('s', [entry('1-0', 'A', 7_500), entry('1-1', 'B', 9_000), entry('1-2', 'A', 9_900)]));
    // Nothing published (no subscriber for C): nothing observed.
    withClock(20_000, () => fanout.publishEntries('s', [entry('1-3', 'C', 1)]));
    // A tick stamped after the publish time counts as 0, not negative.
    withClock(30_000, () => fanout.publishEntries('s', [entry('1-4', 'A', 31_000)]));
    const h = (await metrics.producerToPublish.get()).values;
    const sum = h.find((v) => v.metricName === 'tickgate_producer_to_publish_seconds_sum')!.value;
    const count = h.find((v) => v.metricName === 'tickgate_producer_to_publish_seconds_count')!.value;
    expect([sum, count]).to.deep.equal([2.5, 2]);
  });

  it('counts a malformed entry by its kind and logs it', async () => {
    const { log, lines } = capturingLogger();
    const { fanout, metrics } = setup(['json'], textAndBinary, createMetrics(), log);
    fanout.publishEntries('s', [['1-0', ['sym', 'A', 'px', 'x', 'sz', '1', 'ts', '1']]]);
    const counted = (await metrics.malformedEntries.get()).values.map((v) => [v.labels.kind, v.value]);
    expect(counted).to.deep.equal([['bad_price', 1]]);
    expect(lines.map((l) => [l.msg, (l as unknown as { kind: string; id: string }).kind, (l as unknown as { id: string }).id]))
      .to.deep.equal([['skipping malformed stream entry', 'bad_price', '1-0']]);
  });

  it('logs a symbol\'s refusal in a second stream once, however many of its entries are refused', () => {
    const { log, lines } = capturingLogger();
    const { fanout, subscribe } = setup(['json'], textAndBinary, createMetrics(), log);
    subscribe(1, 'json', 'A');
    fanout.publishEntries('s1', [entry('1-0', 'A')]);
    fanout.publishEntries('s2', [entry('2-0', 'A'), entry('2-1', 'A')]);
    fanout.publishEntries('s2', [entry('3-0', 'A')]);
    expect(lines.map((l) => l.msg.startsWith('refusing a symbol\'s entries in a second stream'))).to.deep.equal([true]);
    expect(lines[0]).to.include({ sym: 'A', stream: 's2', id: '2-0', owner: 's1' });
  });
});

describe('ingest: Fanout frontiers and position', () => {
  const quiet: FrameEncoder = () => '';

  it('starts every frontier and the position at \'\'', () => {
    const { fanout } = setup(['json'], quiet);
    expect([fanout.frontier('s'), fanout.position]).to.deep.equal(['', '']);
  });

  it('moves a stream\'s frontier to the last id of each read, whether or not anything was published', () => {
    const { fanout } = setup(['json'], quiet);
    fanout.publishEntries('s1', [entry('1-0', 'A'), entry('2-0', 'B')]);
    fanout.publishEntries('s2', [entry('3-0', 'C')]);
    expect([fanout.frontier('s1'), fanout.frontier('s2'), fanout.frontier('other')]).to.deep.equal(['2-0', '3-0', '']);
  });

  it('leaves the frontier where it is after an empty read or a re-delivery of older entries', () => {
    const { fanout } = setup(['json'], quiet);
    fanout.publishEntries('s', [entry('5-0', 'A')]);
    fanout.publishEntries('s', []);
    fanout.publishEntries('s', [entry('4-0', 'A')]);
    fanout.publishEntries('s', [entry('5-0', 'A')]);
    expect([fanout.frontier('s'), fanout.position]).to.deep.equal(['5-0', '5-0']);
  });

  it('starts a stream\'s frontier at the group\'s last-delivered id, and never moves it back', () => {
    const { fanout } = setup(['json'], quiet);
    fanout.startsAfter('s', '7-0');
    expect([fanout.frontier('s'), fanout.position]).to.deep.equal(['7-0', '7-0']);
    fanout.startsAfter('s', '6-0');
    expect([fanout.frontier('s'), fanout.position]).to.deep.equal(['7-0', '7-0']);
    fanout.startsAfter('s', '8-0');
    expect(fanout.frontier('s')).to.equal('8-0');
  });

  it('is set up by a group created at the start of its stream (0-0): snapshots need not wait for a first tick', () => {
    const { fanout } = setup(['json'], quiet);
    fanout.startsAfter('s', '0-0');
    expect([fanout.frontier('s'), fanout.position]).to.deep.equal(['0-0', '0-0']);
  });

  it('keeps as position the newest frontier over every stream', () => {
    const { fanout } = setup(['json'], quiet);
    fanout.startsAfter('s1', '9-0');
    fanout.startsAfter('s2', '3-0');
    expect(fanout.position).to.equal('9-0');
    fanout.publishEntries('s2', [entry('10-0', 'A')]);
    expect(fanout.position).to.equal('10-0');
  });

  it('has no history for a symbol it never published', () => {
    const { fanout } = setup(['json'], quiet);
    expect(fanout.history('A')).to.equal(undefined);
  });
});

describe('ingest: Fanout positions held by clients before the first publish', () => {
  function prevs(held: [string, string][], read: RawEntry[]): [string, string | undefined][] {
    const frames: TickBatch[] = [];
    const { fanout, subscribe } = setup(['json'], (_f, batch) => (frames.push({ ...batch }), ''));
    for (const [sym] of read.map(([, f]) => [f![1]])) subscribe(1, 'json', sym);
    for (const [sym, id] of held) fanout.heldByClient(sym, id);
    fanout.publishEntries('s', read);
    return frames.map((f) => [f.sym, f.prev]);
  }

  it('remembers a held position for each of several symbols', () => {
    expect(prevs([['A', '1-0'], ['B', '2-0']], [entry('5-0', 'A'), entry('5-1', 'B')])).to.deep.equal([['A', '1-0'], ['B', '2-0']]);
  });

  it('remembers at most 65,536 symbols, forgetting the oldest first', () => {
    const held: [string, string][] = Array.from({ length: 65_537 }, (_, i) => [`S${i}`, '1-0']);
    expect(prevs(held, [entry('5-0', 'S0'), entry('5-1', 'S1'), entry('5-2', 'S65536')])).to.deep.equal([
      ['S0', ''], ['S1', '1-0'], ['S65536', '1-0'],
    ]);
  });

  it('keeps no position for a symbol already published, so it takes no room from those not yet published', () => {
    const frames: TickBatch[] = [];
    const { fanout, subscribe } = setup(['json'], (_f, batch) => (frames.push({ ...batch }), ''));
    subscribe(1, 'json', 'S0');
    fanout.publishEntries('s', [entry('1-0', 'P')]);
    fanout.heldByClient('S0', '1-0');
    fanout.heldByClient('P', '1-0');
    for (let i = 1; i < 65_536; i++) fanout.heldByClient(`S${i}`, '1-0');
    fanout.publishEntries('s', [entry('5-0', 'S0')]);
    expect(frames.map((f) => [f.sym, f.prev])).to.deep.equal([['S0', '1-0']]);
  });

  it('at the bound, moves an already held symbol to an older position without forgetting any other symbol', () => {
    const held: [string, string][] = Array.from({ length: 65_536 }, (_, i) => [`S${i}`, '1-0']);
    held.push(['S5', '0-5']);
    expect(prevs(held, [entry('5-0', 'S0'), entry('5-1', 'S5')])).to.deep.equal([['S0', '1-0'], ['S5', '0-5']]);
  });
});
