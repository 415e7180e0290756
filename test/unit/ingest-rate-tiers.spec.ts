import { expect } from 'chai';
import pino from 'pino';
import { Fanout, RawEntry } from '../../src/ingest/fanout';
import { RateTiers } from '../../src/ingest/rate-tiers';
import { createMetrics, Metrics } from '../../src/metrics/metrics';
import { tierFor, tierTopic } from '../../src/protocol/tiers';
import { SharedRegistry } from '../../src/registry/shared-registry';
import { FormatName } from '../../src/wire/formats';
import { FrameKind, TickBatch } from '../../src/wire/tick';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function entry(id: string, sym: string): RawEntry {
  return [id, ['sym', sym, 'px', '1.00', 'sz', '1', 'ts', '1']];
}

interface Encoded {
  format: FormatName;
  kind: FrameKind;
  sym: string;
  prev: string | undefined;
  ids: string[];
}

/** A fan-out feeding its rate tiers, with an encoder and a publisher that record what they are given. */
function setup(delayed = false, metrics: Metrics = createMetrics()) {
  const shared = SharedRegistry.create({ topicCapacity: 256, sessionCapacity: 2048 });
  let lookups = 0;
  // The registry as the fan-out and the rate tiers see it, counting their lookups.
  const registry = Object.assign(Object.create(shared) as SharedRegistry, {
    subscriberCount: (topic: string) => (lookups++, shared.subscriberCount(topic)),
  });
  const encoded: Encoded[] = [];
  const published: string[] = [];
  let flushes = 0;
  const encode = (format: FormatName, batch: TickBatch, _sent: number, kind: FrameKind = 'live') => {
    encoded.push({ format, kind, sym: batch.sym, prev: batch.prev, ids: batch.ticks.map((t) => t.id) });
    return `${format}:${batch.sym}`;
  };
  const publisher = { publish: (topic: string) => published.push(topic), flush: () => void flushes++, announceLoss: () => undefined };
  const formats: FormatName[] = ['json', 'bin'];
  const rates = new RateTiers({ formats, delayed, encode, uncompressedBytes: (f) => f.length, registry, publisher, metrics, log: silent });
  const fanout = new Fanout(formats, encode, (f) => f.length, registry, publisher, metrics, silent, 16, { delayed, rates });
  const subscribe = (session: number, format: FormatName, sym: string, maxRate: number | undefined, isDelayed = delayed) => {
    if (!registry.session(session)) registry.openSession(session, 0, 0);
    registry.addSubscription(session, tierTopic(format, sym, tierFor(maxRate, isDelayed)));
  };
  const conflated = () => encoded.filter((e) => e.kind === 'conflated');
  return { rates, fanout, encoded, published, conflated, subscribe, flushes: () => flushes, lookups: () => lookups };
}

describe('ingest: RateTiers (the rate tiers\' conflater)', () => {
  it('at 4/s, turns 400 ticks over one second into 4 to 6 frames, each chained to the one before, the last holding the last tick', async () => {
    const { rates, fanout, conflated, subscribe } = setup();
    subscribe(1, 'json', 'A', 4);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const read = Array.from({ length: 10 }, (_, k) => `${1000 + i}-${k}`);
      ids.push(...read);
      fanout.publishEntries('s', read.map((id) => entry(id, 'A')));
      await sleep(25);
    }
    await sleep(300);
    rates.stop();
    const frames = conflated();
    expect(frames.length).to.be.within(4, 6);
    expect(frames.every((f) => f.format === 'json' && f.sym === 'A' && f.ids.length === 1)).to.equal(true);
    expect(frames[0].prev).to.equal('');
    for (let i = 1; i < frames.length; i++) expect(frames[i].prev).to.equal(frames[i - 1].ids[0]);
    expect(frames[frames.length - 1].ids).to.deep.equal([ids[ids.length - 1]]);
  });

  it('encodes nothing for a tier topic without subscribers, yet chains its next frame to what the tier last emitted', async () => {
    const { rates, fanout, conflated, published, subscribe } = setup();
    fanout.publishEntries('s', [entry('1-0', 'A')]);
    await sleep(250);
    expect(conflated()).to.deep.equal([]);
    expect(published).to.deep.equal([]);
    subscribe(1, 'json', 'A', 10);
    fanout.publishEntries('s', [entry('2-0', 'A')]);
    await sleep(250);
    rates.stop();
    expect(conflated().map((f) => [f.prev, f.ids[0]])).to.deep.equal([['1-0', '2-0']]);
  });

  it('looks up a symbol\'s tier topics once while nobody subscribes anywhere, and again as soon as someone does', async () => {
    const { rates, fanout, conflated, subscribe, lookups } = setup();
    for (let i = 1; i <= 4; i++) {
      fanout.publishEntries('s', [entry(`${i}-0`, 'A')]);
      await sleep(110);
    }
    await sleep(1100); // every tier (10, 4, 2, 1 per s) has run, the 10/s one after each read
    // The fan-out's own lookups (2 formats per read), then one per (tier, format): the first run of each tier found
    // its topics idle, and its later runs looked up nothing.
    expect(lookups()).to.equal(4 * 2 + 4 * 2);
    subscribe(1, 'bin', 'A', 10);
    fanout.publishEntries('s', [entry('5-0', 'A')]);
    await sleep(150);
    rates.stop();
    expect(conflated().map((f) => [f.format, f.prev, f.ids[0]])).to.deep.equal([['bin', '4-0', '5-0']]);
  });

  it('encodes and publishes once per (tier, format), for 1 and for 1,000 subscribers', async () => {
    const runs: { encodes: number; topics: string[] }[] = [];
    for (const subscribers of [1, 1000]) {
      const { rates, fanout, conflated, published, subscribe } = setup();
      for (let s = 0; s < subscribers; s++) {
        subscribe(s, 'json', 'A', 10);
        subscribe(s, 'bin', 'A', 10);
        subscribe(s, 'json', 'A', 2);
      }
      fanout.publishEntries('s', [entry('1-0', 'A'), entry('1-1', 'A')]);
      await sleep(650);
      rates.stop();
      runs.push({ encodes: conflated().length, topics: published.filter((t) => t.includes('@')).sort() });
    }
    expect(runs[0]).to.deep.equal({ encodes: 3, topics: ['bin@10/A', 'json@10/A', 'json@2/A'] });
    expect(runs[1]).to.deep.equal(runs[0]);
  });

  it('sends nothing more once a symbol is quiet and its latest tick was emitted, and flushes the publisher once per run that published', async () => {
    const { rates, fanout, conflated, subscribe, flushes } = setup();
    subscribe(1, 'json', 'A', 10);
    subscribe(1, 'json', 'B', 10);
    fanout.publishEntries('s', [entry('1-0', 'A'), entry('1-1', 'B')]);
    const afterRead = flushes();
    await sleep(450);
    rates.stop();
    expect(conflated().map((f) => `${f.sym}@${f.ids[0]}`)).to.deep.equal(['A@1-0', 'B@1-1']);
    expect(flushes() - afterRead).to.equal(1);
  });

  it('counts its frames by tier label, and publishes the delayed source\'s on the delayed rate topics', async () => {
    const metrics = createMetrics();
    const { rates, fanout, published, subscribe } = setup(true, metrics);
    subscribe(1, 'json', 'A', 10);
    subscribe(1, 'bin', 'A', 10);
    subscribe(1, 'json', 'A', undefined);
    fanout.publishEntries('s', [entry('1-0', 'A')]);
    await sleep(250);
    rates.stop();
    expect(published.sort()).to.deep.equal(['bin@d10/A', 'json@d/A', 'json@d10/A']);
    const byTier = Object.fromEntries((await metrics.tierFramesPublished.get()).values.map((v) => [v.labels.tier, v.value]));
    expect(byTier).to.deep.equal({ 'delayed 10/s': 2, delayed: 1 });
  });
});
