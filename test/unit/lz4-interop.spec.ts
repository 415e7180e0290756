import { expect } from 'chai';
import { compressSync, uncompressSync } from 'lz4-napi';
import { FrameDecodeError } from '../../src/wire/errors';
import { decodeLz4Block } from '../../src/wire/lz4-block';
import { seededRandom } from './wire-fixtures';

/** lz4-napi's block output is a u32 little-endian raw length, then the LZ4 block: the layout of our LZ4 frames. */
function jsDecode(compressed: Buffer, maxRawLength?: number): Uint8Array {
  return decodeLz4Block(compressed.subarray(4), compressed.readUInt32LE(0), maxRawLength);
}

function inputs(): [string, Buffer][] {
  const rnd = seededRandom(2024);
  const cases: [string, Buffer][] = [];
  const sizes = [0, 1, 2, 3, 4, 5, 11, 12, 13, 15, 16, 17, 19, 64, 255, 256, 270, 1000, 4096, 65_535, 65_536, 65_537, 300_000];
  for (const size of sizes) {
    const random = Buffer.alloc(size);
    for (let i = 0; i < size; i++) random[i] = Math.floor(rnd() * 256);
    cases.push([`random ${size}`, random]);
    cases.push([`zeros ${size}`, Buffer.alloc(size)]);
    const text = Buffer.alloc(size);
    const alphabet = Buffer.from('{"id":"1732480000000-0","px":"27123.45"},');
    for (let i = 0; i < size; i++) text[i] = rnd() < 0.9 ? alphabet[i % alphabet.length] : Math.floor(rnd() * 256);
    cases.push([`repetitive ${size}`, text]);
    const shortPeriod = Buffer.alloc(size);
    for (let i = 0; i < size; i++) shortPeriod[i] = i % (1 + (size % 7));
    cases.push([`period ${1 + (size % 7)} ${size}`, shortPeriod]);
  }
  cases.push(['zeros 1 MiB', Buffer.alloc(1 << 20)]);
  return cases;
}

describe('lz4-block: pure-JS decoder', () => {
  it('is byte-identical to lz4-napi uncompressSync on lz4-napi compressSync output', () => {
    for (const [name, input] of inputs()) {
      const compressed = compressSync(input);
      const ours = jsDecode(compressed);
      expect(Buffer.from(ours).equals(uncompressSync(compressed)), name).to.equal(true);
      expect(Buffer.from(ours).equals(input), name).to.equal(true);
    }
  });

  it('refuses an output above the limit before allocating it', () => {
    const compressed = compressSync(Buffer.alloc(10_000));
    expect(() => jsDecode(compressed, 9_999)).to.throw(FrameDecodeError).with.property('code', 'TOO_LARGE');
    expect(jsDecode(compressed, 10_000).length).to.equal(10_000);
  });

  it('rejects every truncation of a block with BAD_LZ4', () => {
    const compressed = compressSync(Buffer.from('hello hello hello hello, tick tick tick tick tick 27123.45 27123.46'));
    const raw = compressed.readUInt32LE(0);
    for (let len = 4; len < compressed.length; len++) {
      expect(() => decodeLz4Block(compressed.subarray(4, len), raw), `length ${len}`).to.throw(FrameDecodeError).with.property('code', 'BAD_LZ4');
    }
  });

  it('rejects match offsets that point before the start of the output', () => {
    // token: 1 literal, match length 4; literal 'a'; offset 2 (only 1 byte written so far)
    expect(() => decodeLz4Block(Uint8Array.from([0x10, 0x61, 0x02, 0x00]), 5)).to.throw(FrameDecodeError).with.property('code', 'BAD_LZ4');
  });
});
