import { expect } from 'chai';
import { compressSync } from 'lz4-napi';
import { FrameDecodeError } from '../../src/wire/errors';
import { decodeFrame } from '../../src/wire/frame';
import { encodeFrame } from '../../src/wire/frame-encode';
import { randomBatch, randomKind, seededRandom } from './wire-fixtures';

const SENT = 1732480000123;

/** Decoding hostile input may succeed by chance, but may only ever fail with FrameDecodeError. */
function decodeOrTypedError(data: Uint8Array, context: string): void {
  try {
    decodeFrame(data);
  } catch (err) {
    expect(err, context).to.be.instanceOf(FrameDecodeError);
  }
}

function expectCode(data: string | Uint8Array, code: string, maxRawLength?: number): void {
  expect(() => decodeFrame(data, { maxRawLength })).to.throw(FrameDecodeError).with.property('code', code);
}

function sampleFrames(): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const rnd = seededRandom(500 + i);
    const batch = randomBatch(rnd, SENT);
    const kind = randomKind(rnd);
    for (const f of ['json+lz4', 'bin', 'bin+lz4'] as const) frames.push(encodeFrame(f, batch, SENT, kind) as Uint8Array);
  }
  return frames;
}

describe('wire: decodeFrame on malformed input', function () {
  this.timeout(30_000); // thousands of cases; the machine may be busy
  it('rejects every truncation of a valid frame with FrameDecodeError', () => {
    // Short frames keep this quadratic loop fast; LZ4 frames start at 256 bytes, so they are still covered.
    const frames = sampleFrames().filter((f) => f.length <= 800);
    expect(frames.filter((f) => f[1] & 1)).to.have.length.above(0);
    for (const frame of frames) {
      for (let len = 0; len < frame.length; len++) {
        expect(() => decodeFrame(frame.subarray(0, len)), `length ${len} of ${frame.length}`).to.throw(FrameDecodeError);
      }
    }
  });

  it('rejects a valid frame followed by an extra byte', () => {
    const frame = encodeFrame('bin', randomBatch(seededRandom(3), SENT), SENT) as Uint8Array;
    const longer = new Uint8Array(frame.length + 1);
    longer.set(frame);
    expectCode(longer, 'BAD_VALUE');
  });

  it('fails only with FrameDecodeError on 20,000 random byte strings and on bit flips of valid frames', () => {
    const rnd = seededRandom(99);
    for (let i = 0; i < 20_000; i++) {
      const bytes = new Uint8Array(Math.floor(rnd() * 300));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rnd() * 256);
      if (bytes.length > 1 && i % 2) bytes[0] = 1; // get past the version check half the time
      if (bytes.length > 1 && i % 4 === 1) bytes[1] = Math.floor(rnd() * 16); // known flag bits, every kind
      decodeOrTypedError(bytes, `random case ${i}`);
    }
    for (const frame of sampleFrames()) {
      for (let k = 0; k < 50; k++) {
        const copy = frame.slice();
        copy[Math.floor(rnd() * copy.length)] ^= 1 << Math.floor(rnd() * 8);
        decodeOrTypedError(copy, 'bit flip');
      }
    }
  });

  it('rejects an unknown version with BAD_VERSION and unknown flags with BAD_FLAGS', () => {
    const frame = encodeFrame('bin', randomBatch(seededRandom(4), SENT), SENT) as Uint8Array;
    expectCode(Uint8Array.from([2, ...frame.subarray(1)]), 'BAD_VERSION');
    expectCode(Uint8Array.from([0, ...frame.subarray(1)]), 'BAD_VERSION');
    expectCode(Uint8Array.from([1, 0x80, ...frame.subarray(2)]), 'BAD_FLAGS');
  });

  it('rejects frame kind 3 and any of the reserved flag bits 4-7 with BAD_FLAGS, in every binary format', () => {
    const batch = randomBatch(seededRandom(6), SENT);
    for (const f of ['json+lz4', 'bin', 'bin+lz4'] as const) {
      const frame = encodeFrame(f, batch, SENT) as Uint8Array;
      expect(decodeFrame(frame).kind).to.equal('live');
      const kind3 = frame.slice();
      kind3[1] |= 0x0c;
      expectCode(kind3, 'BAD_FLAGS');
      for (let bit = 4; bit < 8; bit++) {
        const reserved = frame.slice();
        reserved[1] |= 1 << bit;
        expectCode(reserved, 'BAD_FLAGS');
      }
    }
  });

  it('decodes the kind from the header bits alone in binary frames', () => {
    const frame = encodeFrame('bin', randomBatch(seededRandom(8), SENT), SENT, 'live') as Uint8Array;
    const kinds = ['live', 'replay', 'conflated'];
    for (let n = 0; n < 3; n++) {
      const copy = frame.slice();
      copy[1] = (copy[1] & ~0x0c) | (n << 2);
      expect(decodeFrame(copy).kind).to.equal(kinds[n]);
    }
  });

  it('rejects a json+lz4 frame whose header kind disagrees with its JSON with BAD_VALUE', () => {
    const frame = encodeFrame('json+lz4', { sym: 'A', ticks: [] }, SENT, 'replay') as Uint8Array;
    expect(decodeFrame(frame).kind).to.equal('replay');
    const live = frame.slice();
    live[1] &= ~0x0c;
    expectCode(live, 'BAD_VALUE');
    const conflated = frame.slice();
    conflated[1] = (conflated[1] & ~0x0c) | 0x08;
    expectCode(conflated, 'BAD_VALUE');
  });

  it('rejects a prev presence byte other than 0 or 1, and a prev before the epoch, with BAD_VALUE', () => {
    // version, flags=binary, sym "A", sent 1, prev presence, count 0
    expectCode(Uint8Array.from([1, 0x02, 1, 65, 1, 2, 0]), 'BAD_VALUE');
    expect(decodeFrame(Uint8Array.from([1, 0x02, 1, 65, 1, 0, 0]))).to.deep.equal({ sym: 'A', sent: 1, kind: 'live', ticks: [] });
    // prev present: zigzag(-1) = 1 → ms 0, seq 7
    expect(decodeFrame(Uint8Array.from([1, 0x02, 1, 65, 1, 1, 1, 7, 0]))).to.deep.equal({ sym: 'A', sent: 1, prev: '0-7', kind: 'live', ticks: [] });
    // zigzag(-2) = 3 → ms -1
    expectCode(Uint8Array.from([1, 0x02, 1, 65, 1, 1, 3, 7, 0]), 'BAD_VALUE');
  });

  it('rejects a JSON frame with an unknown kind or a malformed prev with BAD_JSON_FRAME', () => {
    expectCode('{"type":"ticks","sym":"A","sent":1,"kind":"stale","ticks":[]}', 'BAD_JSON_FRAME');
    expectCode('{"type":"ticks","sym":"A","sent":1,"kind":null,"ticks":[]}', 'BAD_JSON_FRAME');
    expectCode('{"type":"ticks","sym":"A","sent":1,"prev":5,"ticks":[]}', 'BAD_JSON_FRAME');
    expectCode('{"type":"ticks","sym":"A","sent":1,"prev":"5","ticks":[]}', 'BAD_JSON_FRAME');
    expect(decodeFrame('{"type":"ticks","sym":"A","sent":1,"prev":"","ticks":[]}')).to.deep.equal({ sym: 'A', sent: 1, kind: 'live', ticks: [] });
  });

  it('rejects a declared LZ4 length above the limit with TOO_LARGE, before allocating it', () => {
    // Claims 4 GiB - 1 of output: must fail on the header alone.
    expectCode(Uint8Array.from([1, 0x03, 0xff, 0xff, 0xff, 0xff, 0x00]), 'TOO_LARGE');
    const block = compressSync(Buffer.alloc(100_000, 7));
    const frame = Uint8Array.from([1, 0x03, ...block]);
    expectCode(frame, 'TOO_LARGE', 50_000);
    expect(() => decodeFrame(frame)).to.throw(FrameDecodeError).with.property('code', 'BAD_VALUE'); // not a batch, but it inflated
  });

  it('rejects a declared length the compressed bytes cannot produce with BAD_LZ4', () => {
    expectCode(Uint8Array.from([1, 0x03, 0x00, 0x00, 0x10, 0x00, 0x00]), 'BAD_LZ4'); // 1 MiB from one byte
    const block = compressSync(Buffer.from('{"type":"ticks","sym":"A","sent":1,"ticks":[]}'.repeat(10)));
    const wrongLength = Uint8Array.from([1, 0x01, ...block]);
    wrongLength[2] += 1;
    expectCode(wrongLength, 'BAD_LZ4');
  });

  it('rejects non-UTF-8 and non-frame JSON payloads with BAD_JSON_FRAME', () => {
    expectCode(Uint8Array.from([1, 0x00, 0xff, 0xfe]), 'BAD_JSON_FRAME');
    expectCode(Uint8Array.from([1, 0x00, ...Buffer.from('{"type":"ack"}')]), 'BAD_JSON_FRAME');
    expectCode('not json', 'BAD_JSON_FRAME');
  });

  it('rejects a tick count larger than the frame could hold without looping over it', () => {
    // version, flags=binary, sym "A", sent 0, no prev, count 2^53-1 (8-byte varint)
    const frame = Uint8Array.from([1, 0x02, 1, 65, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expectCode(frame, 'TRUNCATED');
  });
});
