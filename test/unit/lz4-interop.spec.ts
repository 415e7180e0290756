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

describe('lz4-block: hand-written blocks (LZ4 block format: token, literal run, offset u16 LE, match length − 4)', () => {
  const decode = (block: number[], rawLength: number) => [...decodeLz4Block(Uint8Array.from(block), rawLength)];
  const a = (n: number) => Array<number>(n).fill(0x61);

  it('reads a literal length of exactly 15 and of 15 + 255 from its extension bytes', () => {
    expect(decode([0xf0, 0x00, ...a(15)], 15)).to.deep.equal(a(15));
    expect(decode([0xf0, 0xff, 0x00, ...a(270)], 270)).to.deep.equal(a(270));
    expect(decode([0xf0, 0xfe, ...a(269)], 269)).to.deep.equal(a(269));
  });

  it('reads a match length of exactly 15 + 4 and of 15 + 255 + 1 + 4 from its extension bytes, copying an overlapping match', () => {
    // one literal "a", offset 1: each copied byte is the one just written
    expect(decode([0x1f, 0x61, 0x01, 0x00, 0x00, 0x00], 20)).to.deep.equal(a(20));
    expect(decode([0x1f, 0x61, 0x01, 0x00, 0xff, 0x01, 0x00], 276)).to.deep.equal(a(276));
  });

  it('copies a match whose offset equals its length, one further back than its length, and one overlapping it', () => {
    // "abcd" + 4 bytes from offset 4; "xy" + 4 bytes from offset 6; an empty last sequence
    expect(decode([0x40, 0x61, 0x62, 0x63, 0x64, 0x04, 0x00, 0x20, 0x78, 0x79, 0x06, 0x00, 0x00], 14)).to.deep.equal([...Buffer.from('abcdabcdxyabcd')]);
    // "ab" + 5 bytes from offset 2, each possibly one just written; the last sequence "z"
    expect(decode([0x21, 0x61, 0x62, 0x02, 0x00, 0x10, 0x7a], 8)).to.deep.equal([...Buffer.from('abababaz')]);
  });

  it('accepts a block whose last sequence ends with its match', () => {
    expect(decode([0x10, 0x61, 0x01, 0x00], 5)).to.deep.equal(a(5));
  });

  const corrupt: [string, number[], number, RegExp][] = [
    ['a literal length whose extension bytes run past the input', [0xf0], 15, /literal length runs past the input/],
    ['literals past the end of the input', [0x30, 0x61, 0x62], 3, /literals run past the input or the output/],
    ['literals past the declared length', [0x20, 0x61, 0x62], 1, /literals run past the input or the output/],
    ['a last literal run past the declared length, after a match', [0x11, 0x61, 0x01, 0x00, 0x20, 0x62, 0x63], 6, /literals run past the input or the output/],
    ['an offset cut to one byte', [0x14, 0x61, 0x01], 10, /match offset runs past the input/],
    ['offset 0', [0x10, 0x61, 0x00, 0x00, 0x00], 5, /match offset points before the output/],
    ['an offset before the first byte written', [0x10, 0x61, 0x02, 0x00, 0x00], 5, /match offset points before the output/],
    ['a match length whose extension bytes run past the input', [0x1f, 0x61, 0x01, 0x00], 100, /match length runs past the input/],
    ['a match past the declared length', [0x10, 0x61, 0x01, 0x00, 0x00], 4, /match runs past the output/],
    ['fewer bytes than declared', [0x10, 0x61, 0x01, 0x00, 0x00], 6, /decompressed 5 bytes, header said 6/],
    ['a declared length above 255 per input byte + 16 (checked before allocating)', [0x00], 272, /1 compressed bytes cannot expand to 272/],
    ['a declared length just within 255 per input byte + 16, but not produced', [0x00], 271, /decompressed 0 bytes, header said 271/],
  ];
  for (const [what, block, rawLength, message] of corrupt) {
    it(`rejects ${what} with BAD_LZ4`, () => {
      expect(() => decodeLz4Block(Uint8Array.from(block), rawLength)).to.throw(FrameDecodeError, message).with.property('code', 'BAD_LZ4');
    });
  }

  it('refuses a declared length above the limit with TOO_LARGE, naming both', () => {
    expect(() => decodeLz4Block(Uint8Array.of(0x00), 11, 10)).to.throw(FrameDecodeError, 'decompressed size 11 exceeds the limit of 10').with.property('code', 'TOO_LARGE');
    expect(decodeLz4Block(Uint8Array.of(0xa0, ...a(10)), 10, 10)).to.deep.equal(Uint8Array.from(a(10)));
  });
});
