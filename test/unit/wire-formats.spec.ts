import { expect } from 'chai';
import { formatName } from '../../src/wire/formats';
import { FrameDecodeError } from '../../src/wire/errors';
import { WireEncodeError } from '../../src/wire/encode-error';
import { encodeFrame, uncompressedFrameBytes } from '../../src/wire/frame-encode';
import { FLAG_LZ4, HEADER_BYTES } from '../../src/wire/frame';
import { TickBatch } from '../../src/wire/tick';

/** 400 ticks cycling through four prices and times: LZ4 shrinks them in both encodings. */
const batch: TickBatch = {
  sym: 'BTC-USD',
  ticks: Array.from({ length: 400 }, (_, i) => ({
    id: `1732480000000-${i}`, ts: 1732480000000 + (i % 4) * 1000, px: ['27123.50', '27124.75', '27122.25', '27125.00'][i % 4], sz: '0.010',
  })),
};

describe('wire: format names and error names', () => {
  it('names each (encoding, compression) pair', () => {
    expect([formatName('json', 'none'), formatName('json', 'lz4'), formatName('binary', 'none'), formatName('binary', 'lz4')])
      .to.deep.equal(['json', 'json+lz4', 'bin', 'bin+lz4']);
  });

  it('names its errors FrameDecodeError and WireEncodeError', () => {
    expect([new FrameDecodeError('TRUNCATED', 'x').name, new WireEncodeError('INVALID_KIND', 'x').name]).to.deep.equal(['FrameDecodeError', 'WireEncodeError']);
  });
});

describe('wire: uncompressedFrameBytes', () => {
  it('is the UTF-8 length of a text frame', () => {
    expect(uncompressedFrameBytes('é1')).to.equal(3);
  });

  it('is the length of an uncompressed binary frame', () => {
    const frame = encodeFrame('bin', batch, 1) as Uint8Array;
    expect(frame[1] & FLAG_LZ4).to.equal(0);
    expect(uncompressedFrameBytes(frame)).to.equal(frame.byteLength);
  });

  it('is the length the same batch has without LZ4, read from an LZ4 frame\'s header', () => {
    const bin = encodeFrame('bin', batch, 1) as Uint8Array;
    const binLz4 = encodeFrame('bin+lz4', batch, 1) as Uint8Array;
    expect(binLz4[1] & FLAG_LZ4).to.equal(FLAG_LZ4);
    expect(uncompressedFrameBytes(binLz4)).to.equal(bin.byteLength);
    const jsonLz4 = encodeFrame('json+lz4', batch, 1) as Uint8Array;
    expect(jsonLz4[1] & FLAG_LZ4).to.equal(FLAG_LZ4);
    expect(uncompressedFrameBytes(jsonLz4)).to.equal(HEADER_BYTES + Buffer.byteLength(encodeFrame('json', batch, 1) as string));
  });

  it('reads all four bytes of the LZ4 length, little-endian, plus the two header bytes', () => {
    expect(uncompressedFrameBytes(Uint8Array.of(0x01, 0x03, 0x04, 0x03, 0x02, 0x01))).to.equal(2 + 0x01020304);
    expect(uncompressedFrameBytes(Uint8Array.of(0x01, 0x01, 0xff, 0xff, 0xff, 0xff))).to.equal(2 + 0xffffffff);
  });

  it('names the unknown kind it refuses', () => {
    expect(() => encodeFrame('bin', batch, 1, 'bogus' as never)).to.throw(WireEncodeError, 'unknown frame kind "bogus"');
  });
});
