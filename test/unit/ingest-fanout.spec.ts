import { expect } from 'chai';
import pino from 'pino';
import { Fanout, RawEntry } from '../../src/ingest/fanout';
import type { StreamLoss } from '../../src/protocol/gap';
import { createMetrics } from '../../src/metrics/metrics';
import { SharedRegistry } from '../../src/registry/shared-registry';
import { FORMAT_NAMES, FormatName, topicFor } from '../../src/wire/formats';
import { compareStreamIds, Tick, TickBatch } from '../../src/wire/tick';

const silent = pino({ level: 'silent' });

function entry(id: string, sym: string, px = '1.00'): RawEntry {
  return [id, ['sym', sym, 'px', px, 'sz', '1', 'ts', '1']];
}

function setup(formats: readonly FormatName[] = FORMAT_NAMES, metrics = createMetrics(), losses: StreamLoss[] = []) {
  const registry = SharedRegistry.create({ topicCapacity: 64, sessionCapacity: 2048 });
  const encoded: { format: FormatName; sym: string; ids: string[] }[] = [];
  const published: { topic: string; frame: string | Uint8Array }[] = [];
  const fanout = new Fanout(formats, (format, batch: TickBatch) => {
    encoded.push({ format, sym: batch.sym, ids: batch.ticks.map((t) => t.id) });
    return `${format}:${batch.sym}:${batch.ticks.length}`;
  }, (frame) => frame.length, registry, { publish: (topic, frame) => published.push({ topic, frame }), flush: () => undefined,
    announceLoss: (loss) => losses.push(loss) }, metrics, silent, 16);
  const subscribe = (session: number, format: FormatName, sym: string) => {
    if (!registry.session(session)) registry.openSession(session, 0, 0);
    registry.addSubscription(session, topicFor(format, sym));
  };
  return { registry, fanout, encoded, published, subscribe };
}

describe('ingest: Fanout (the hot path)', () => {
  it('encodes and publishes once per (symbol, format) per read, however many subscribers there are', () => {
    const counts: number[] = [];
    for (const subscribers of [1, 1000]) {
      const { fanout, encoded, published, subscribe } = setup();
      for (let s = 0; s < subscribers; s++) {
        subscribe(s, 'json', 'A');
        subscribe(s, 'bin', 'A');
      }
      fanout.publishEntries('s', [entry('1-0', 'A'), entry('1-1', 'A'), entry('1-2', 'A')]);
      expect(published.map((p) => p.topic)).to.deep.equal(['json/A', 'bin/A']);
      counts.push(encoded.length);
    }
    expect(counts).to.deep.equal([2, 2]);
  });

  it('groups a read by symbol, keeping stream order within each symbol', () => {
    const { fanout, encoded, subscribe } = setup(['json']);
    subscribe(1, 'json', 'A');
    subscribe(2, 'json', 'B');
    fanout.publishEntries('s', [entry('1-0', 'A'), entry('1-1', 'B'), entry('1-2', 'A'), entry('2-0', 'B')]);
    expect(encoded).to.deep.equal([
      { format: 'json', sym: 'A', ids: ['1-0', '1-2'] },
      { format: 'json', sym: 'B', ids: ['1-1', '2-0'] },
    ]);
  });

  it('encodes nothing for symbols or formats without subscribers', () => {
    const { fanout, encoded, subscribe } = setup();
    subscribe(1, 'bin+lz4', 'A');
    fanout.publishEntries('s', [entry('1-0', 'A'), entry('1-1', 'Z')]);
    expect(encoded.map((e) => `${e.format}/${e.sym}`)).to.deep.equal(['bin+lz4/A']);
  });

  it('skips malformed entries and publishes the rest', () => {
    const { fanout, encoded, subscribe } = setup(['json']);
    subscribe(1, 'json', 'A');
    fanout.publishEntries('s', [entry('1-0', 'A', 'bad'), ['1-1', null], entry('1-2', 'A')]);
    expect(encoded).to.deep.equal([{ format: 'json', sym: 'A', ids: ['1-2'] }]);
  });

  it('never publishes an id at or below the newest already published for the symbol, in any read, and counts the skipped', async () => {
    const metrics = createMetrics();
    const { fanout, encoded, subscribe } = setup(['json'], metrics);
    subscribe(1, 'json', 'A');
    fanout.publishEntries('s', [entry('5-0', 'A')]);
    fanout.publishEntries('s', [entry('4-9', 'A'), entry('5-0', 'A'), entry('10-0', 'A')]);
    // A recreated group or key hands over history: ids below the published ones, then one equal, then newer.
    fanout.publishEntries('s', [entry('9-99', 'A'), entry('10-0', 'A'), entry('10-1', 'A'), entry('99-0', 'A')]);
    expect(encoded.map((e) => e.ids)).to.deep.equal([['5-0'], ['10-0'], ['10-1', '99-0']]);
    expect((await metrics.staleEntries.get()).values[0].value).to.equal(4);
  });

  it('never publishes backwards within one read handed out of order', () => {
    const { fanout, encoded, subscribe } = setup(['json']);
    subscribe(1, 'json', 'A');
    fanout.publishEntries('s', [entry('7-0', 'A'), entry('3-0', 'A'), entry('7-0', 'A'), entry('8-0', 'A')]);
    expect(encoded.map((e) => e.ids)).to.deep.equal([['7-0', '8-0']]);
  });

  it('orders ids by number, not as text (ms and sequence of any length)', () => {
    const { fanout, encoded, subscribe } = setup(['json']);
    subscribe(1, 'json', 'A');
    fanout.publishEntries('s', [entry('9-0', 'A'), entry('10-0', 'A'), entry('10-9', 'A'), entry('10-10', 'A'), entry('10-2', 'A'), entry('100-0', 'A')]);
    expect(encoded.map((e) => e.ids)).to.deep.equal([['9-0', '10-0', '10-9', '10-10', '100-0']]);
    const isAfter = (a: string, b: string) => compareStreamIds(a, b) > 0;
    expect([isAfter('10-0', '9-0'), isAfter('9-0', '10-0'), isAfter('1-10', '1-9'), isAfter('1-9', '1-9'), isAfter('0-1', '')])
      .to.deep.equal([true, false, true, false, true]);
  });

  it('refuses a symbol\'s entries in a stream other than the one it was first seen in, counted as wrong_stream', async () => {
    const metrics = createMetrics();
    const { fanout, encoded, subscribe } = setup(['json'], metrics);
    subscribe(1, 'json', 'A');
    subscribe(1, 'json', 'B');
    fanout.publishEntries('s1', [entry('1-0', 'A')]);
    fanout.publishEntries('s2', [entry('2-0', 'A'), entry('2-1', 'B')]);
    fanout.publishEntries('s1', [entry('3-0', 'A'), entry('3-1', 'B')]);
    expect(encoded.map((e) => `${e.sym}:${e.ids.join(',')}`)).to.deep.equal(['A:1-0', 'B:2-1', 'A:3-0']);
    const wrong = (await metrics.malformedEntries.get()).values.find((v) => v.labels.kind === 'wrong_stream');
    expect(wrong?.value).to.equal(2);
  });

  it('after a restart, names the oldest position a catch-up left a client at as the prev of the symbol\'s first live frame', () => {
    const frames: TickBatch[] = [];
    const registry = SharedRegistry.create({ topicCapacity: 64, sessionCapacity: 64 });
    registry.openSession(1, 0, 0);
    registry.addSubscription(1, topicFor('json', 'A'));
    registry.addSubscription(1, topicFor('json', 'B'));
    const fanout = new Fanout(['json'], (_f, batch: TickBatch) => (frames.push({ ...batch }), ''), () => 0, registry,
      { publish: () => undefined, flush: () => undefined, announceLoss: () => undefined }, createMetrics(), silent, 16);
    fanout.heldByClient('A', '4-0');
    fanout.heldByClient('A', '4-1'); // a client further on reads the older prev as an overlap: no gap for either
    fanout.publishEntries('s', [entry('4-0', 'A'), entry('5-0', 'A'), entry('6-1', 'B')]);
    fanout.heldByClient('B', '9-0'); // published already: its own chain stands
    fanout.publishEntries('s', [entry('7-0', 'B')]);
    expect(frames.map((f) => [f.sym, f.prev, f.ticks.map((t) => t.id)])).to.deep.equal([
      ['A', '4-0', ['5-0']], ['B', '', ['6-1']], ['B', '6-1', ['7-0']],
    ]);
  });

  it('on an announced loss, forgets the recent history of that stream\'s symbols only, and tells the publisher', () => {
    const losses: StreamLoss[] = [];
    const { fanout } = setup(['json'], createMetrics(), losses);
    fanout.publishEntries('s1', [entry('1-0', 'A'), entry('1-1', 'A')]);
    fanout.publishEntries('s2', [entry('1-2', 'B')]);
    const loss: StreamLoss = { stream: 's1', after: '1-1', through: '5-0', reason: 'trimmed' };
    fanout.announceLoss(loss);
    expect(losses).to.deep.equal([loss]);
    // The latest published tick is still the snapshot answer (what was lost was never published), but no resume
    // is served from memory across the hole.
    expect(fanout.history('A')!.latest()!.id).to.equal('1-1');
    expect(fanout.history('A')!.covers('0-0')).to.equal(false);
    expect(fanout.history('A')!.covers('1-1')).to.equal(false);
    expect(fanout.history('B')!.latest()!.id).to.equal('1-2');
    expect(fanout.history('B')!.covers('1-2')).to.equal(true);
  });
});

describe('ingest: Fanout with the real encoders', () => {
  it('calls the encoder and LZ4 once per (symbol, format) per read, for 1 and for 1,000 subscribers', () => {
    // frame-encode calls compressSync through the module object, so counting it here counts the real calls.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lz4 = require('lz4-napi') as { compressSync: (b: Buffer) => Buffer };
    const original = lz4.compressSync;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { encodeFrame, uncompressedFrameBytes } = require('../../src/wire/frame-encode') as typeof import('../../src/wire/frame-encode');
    const results: { encodes: number; compresses: number; frames: number }[] = [];
    try {
      for (const subscribers of [1, 1000]) {
        let encodes = 0;
        let compresses = 0;
        lz4.compressSync = (b) => {
          compresses++;
          return original(b);
        };
        const registry = SharedRegistry.create({ topicCapacity: 64, sessionCapacity: 2048 });
        let frames = 0;
        const fanout = new Fanout(FORMAT_NAMES, (f, b, s) => {
          encodes++;
          return encodeFrame(f, b, s);
        }, uncompressedFrameBytes, registry, { publish: () => frames++, flush: () => undefined, announceLoss: () => undefined }, createMetrics(), silent, 16);
        for (let s = 0; s < subscribers; s++) {
          registry.openSession(s, 0, 0);
          for (const f of FORMAT_NAMES) registry.addSubscription(s, topicFor(f, 'A'));
        }
        // 100 ticks: well above both LZ4 thresholds, so both +lz4 formats compress.
        fanout.publishEntries('s', Array.from({ length: 100 }, (_, i) => entry(`1-${i}`, 'A', `${100 + i}.25`)));
        results.push({ encodes, compresses, frames });
      }
    } finally {
      lz4.compressSync = original;
    }
    expect(results[0]).to.deep.equal({ encodes: 4, compresses: 2, frames: 4 });
    expect(results[1]).to.deep.equal(results[0]);
  });
});

describe('ingest: Fanout of the delayed tier', () => {
  it('publishes on the delayed full tier\'s topics, counts its frames as tier "delayed", and leaves entry metrics to the real-time instance', async () => {
    const metrics = createMetrics();
    const registry = SharedRegistry.create({ topicCapacity: 64, sessionCapacity: 64 });
    registry.openSession(1, 0, 0);
    registry.addSubscription(1, 'json@d/A');
    registry.addSubscription(1, topicFor('json', 'A'));
    const topics: string[] = [];
    const publisher = { publish: (topic: string) => topics.push(topic), flush: () => undefined, announceLoss: () => undefined };
    const live = new Fanout(['json'], () => 'f', () => 1, registry, publisher, metrics, silent, 16);
    const delayed = new Fanout(['json'], () => 'f', () => 1, registry, publisher, metrics, silent, 16, { delayed: true });
    for (const fanout of [live, delayed]) {
      fanout.publishEntries('s', [entry('2-0', 'A')]);
      fanout.publishEntries('s', [entry('1-0', 'A'), ['1-1', null], entry('3-0', 'A')]);
    }
    expect(topics).to.deep.equal(['json/A', 'json/A', 'json@d/A', 'json@d/A']);
    const byTier = Object.fromEntries((await metrics.tierFramesPublished.get()).values.map((v) => [v.labels.tier, v.value]));
    expect(byTier).to.deep.equal({ full: 2, delayed: 2 });
    expect((await metrics.staleEntries.get()).values[0].value).to.equal(1);
    expect((await metrics.malformedEntries.get()).values.reduce((n, v) => n + v.value, 0)).to.equal(1);
    expect((await metrics.framesPublished.get()).values.find((v) => v.labels.format === 'json')?.value).to.equal(4);
  });

  it('hands its tap exactly the ticks it takes, in stream order, and the delayed instance publishes them as taken, parsed once', () => {
    const registry = SharedRegistry.create({ topicCapacity: 64, sessionCapacity: 64 });
    registry.openSession(1, 0, 0);
    registry.addSubscription(1, 'json@d/A');
    const publisher = { publish: () => undefined, flush: () => undefined, announceLoss: () => undefined };
    const syms: string[] = [];
    const ticks: Tick[] = [];
    const tap = { take: (_stream: string, sym: string, tick: Tick) => void (syms.push(sym), ticks.push(tick)) };
    const live = new Fanout(['json'], () => 'f', () => 1, registry, publisher, createMetrics(), silent, 16, { delayed: false, tap });
    live.publishEntries('s', [entry('2-0', 'A')]);
    // Stale, malformed, another stream's: none of them reaches the tap.
    live.publishEntries('s', [entry('1-0', 'A'), ['1-1', null], entry('3-0', 'B'), entry('4-0', 'A')]);
    live.publishEntries('t', [entry('5-0', 'A')]);
    expect(ticks.map((t, i) => `${syms[i]}@${t.id}`)).to.deep.equal(['A@2-0', 'B@3-0', 'A@4-0']);

    const batches: string[][] = [];
    const delayed = new Fanout(['json'], (_f, batch: TickBatch) => (batches.push(batch.ticks.map((t) => t.id)), 'f'), () => 1, registry,
      publisher, createMetrics(), silent, 16, { delayed: true });
    delayed.publishTicks('s', syms, ticks, 0, 2);
    delayed.publishTicks('s', syms, ticks, 2, 3);
    expect(batches).to.deep.equal([['2-0'], ['4-0']]);
    expect(batches[0].length === 1 && delayed.history('A')?.latest()).to.equal(ticks[2]);
    expect(delayed.frontier('s')).to.equal('4-0');
  });
});
