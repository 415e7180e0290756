import { expect } from 'chai';
import { DeliveryStats } from '../../src/bench/delivery-stats';
import { mergeHistograms, summarize } from '../../src/bench/latency';
import { monotonicMicros } from '../../src/bench/monotonic';
import { FLAG_LZ4 } from '../../src/wire/frame';
import { encodeFrame } from '../../src/wire/frame-encode';
import { FormatName } from '../../src/wire/formats';
import { TickBatch } from '../../src/wire/tick';

const TUS_AGO = 2000;
const TS_AGO_MS = 2;

/** `n` ticks stamped as the bench producer stamps them: `tus` TUS_AGO µs and `ts` TS_AGO_MS ms before `receivedUs`. */
function batch(n: number, receivedUs: number): TickBatch {
  const ts = Date.now() - TS_AGO_MS;
  return {
    sym: 'BTC-USD',
    ticks: Array.from({ length: n }, (_, i) => ({
      id: `${ts}-${i}`, ts, px: `2712${i}.50`, sz: '0.010', bid: `2712${i}.49`, ask: `2712${i}.51`, side: 'buy' as const,
      extra: { tus: String(receivedUs - TUS_AGO) },
    })),
  };
}

/** The frame of `format` as the load generator receives it: a text frame's UTF-8 bytes, or a binary frame's. */
function received(format: FormatName, b: TickBatch): Buffer {
  const frame = encodeFrame(format, b, Date.now());
  return typeof frame === 'string' ? Buffer.from(frame) : Buffer.from(frame);
}

function deliver(stats: DeliveryStats, format: FormatName, frame: Buffer, receivedUs: number): void {
  if (format === 'json') stats.jsonText(frame, receivedUs);
  else stats.binary(frame, receivedUs);
}

describe('bench: DeliveryStats (what the load generator counts per frame)', () => {
  for (const format of ['json', 'json+lz4', 'bin', 'bin+lz4'] as const) {
    it(`counts every tick of a ${format} frame under its format, timed from ts`, () => {
      const stats = new DeliveryStats(format);
      const now = monotonicMicros();
      const frame = received(format, batch(3, now));
      deliver(stats, format, frame, now);
      const snap = stats.snapshot();
      expect(stats.counts()).to.deep.equal({ ticks: 3, frames: 1, bytes: frame.length, invalid: 0, closed: 0 });
      expect(Object.keys(snap.byFormat)).to.deep.equal([format]);
      const ts = summarize(mergeHistograms([snap.byFormat[format]!.latencyMsRes]));
      expect(ts.count).to.equal(3);
      // `ts` drops the fraction of its millisecond, so the latency it gives is up to 1 ms more than the true one.
      expect(ts.maxMs).to.be.within(TS_AGO_MS, TS_AGO_MS + 1.5);
    });
  }

  for (const format of ['json', 'json+lz4'] as const) {
    it(`times each tick of a ${format} frame from its µs stamp too`, () => {
      const stats = new DeliveryStats(format);
      const now = monotonicMicros();
      deliver(stats, format, received(format, batch(3, now)), now);
      const tus = summarize(mergeHistograms([stats.snapshot().byFormat[format]!.latencyUs]));
      expect([tus.count, tus.p50Ms, tus.maxMs]).to.deep.equal([3, TUS_AGO / 1000, TUS_AGO / 1000]);
    });
  }

  it('has no µs latency for the binary encoding, which drops pass-through fields', () => {
    const stats = new DeliveryStats('bin');
    const now = monotonicMicros();
    deliver(stats, 'bin', received('bin', batch(2, now)), now);
    expect(summarize(mergeHistograms([stats.snapshot().byFormat.bin!.latencyUs])).count).to.equal(0);
  });

  it('counts json+lz4 frames alike whether the encoder compressed them (3 ticks) or not (1 tick)', () => {
    const stats = new DeliveryStats('json+lz4');
    const now = monotonicMicros();
    const small = received('json+lz4', batch(1, now));
    const large = received('json+lz4', batch(3, now));
    expect([small[1] & FLAG_LZ4, large[1] & FLAG_LZ4]).to.deep.equal([0, FLAG_LZ4]);
    deliver(stats, 'json+lz4', small, now);
    deliver(stats, 'json+lz4', large, now);
    expect(stats.counts()).to.include({ ticks: 4, frames: 2, invalid: 0 });
    expect(summarize(mergeHistograms([stats.snapshot().byFormat['json+lz4']!.latencyUs])).count).to.equal(4);
  });

  it('counts a binary frame that does not decode as invalid, and none of its ticks', () => {
    const stats = new DeliveryStats('bin+lz4');
    const frame = received('bin+lz4', batch(1, monotonicMicros()));
    frame[0] = 9; // an unknown frame version
    stats.binary(frame, monotonicMicros());
    expect(stats.counts()).to.include({ ticks: 0, frames: 0, invalid: 1 });
  });

  it('forgets counts and latencies on reset', () => {
    const stats = new DeliveryStats('json');
    const now = monotonicMicros();
    deliver(stats, 'json', received('json', batch(1, now)), now);
    stats.reset();
    expect(stats.counts()).to.deep.equal({ ticks: 0, frames: 0, bytes: 0, invalid: 0, closed: 0 });
    const latency = stats.snapshot().byFormat.json!;
    expect([latency.ticks, summarize(mergeHistograms([latency.latencyUs])).count, summarize(mergeHistograms([latency.latencyMsRes])).count]).to.deep.equal([0, 0, 0]);
  });
});
