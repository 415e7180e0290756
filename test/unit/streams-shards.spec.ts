import { expect } from 'chai';
import { crc16, fnv1a32, keyOf, keySlot, shardKeys, shardOf, shardTag } from '../../src/streams/shards';
import { symbolNames } from '../../src/producer/random-walk';

describe('streams: the shard layout (shards.ts)', () => {
  it('hashes keys to cluster slots as Redis does (CRC16-XMODEM, hash tags)', () => {
    expect(crc16(new TextEncoder().encode('123456789'))).to.equal(0x31c3);
    // Values from Redis's CLUSTER KEYSLOT.
    expect(keySlot('foo')).to.equal(12182);
    expect(keySlot('somekey')).to.equal(11058);
    expect(keySlot('{user1000}.following')).to.equal(keySlot('user1000'));
    // An empty first tag hashes the whole key; the tag ends at the first } after the first {.
    const whole = (k: string) => crc16(new TextEncoder().encode(k)) % 16384;
    expect(keySlot('foo{}{bar}')).to.equal(whole('foo{}{bar}'));
    expect(keySlot('foo{{bar}}zap')).to.equal(whole('{bar'));
  });

  it('maps a symbol to its shard with FNV-1a 32 of its UTF-8 bytes, mod N', () => {
    expect(fnv1a32('')).to.equal(0x811c9dc5);
    expect(fnv1a32('a')).to.equal(0xe40c292c);
    expect(fnv1a32('foobar')).to.equal(0xbf9cf968);
    expect(shardOf('BTC-USD', 8)).to.equal(1995245873 % 8);
    expect(shardOf('ETH-USD', 8)).to.equal(5);
    expect(shardOf('anything', 1)).to.equal(0);
  });

  it('names shard keys <stream>:<i>{<tag>} with tags that put shard i in the i-th N-th of the slot space', () => {
    expect(shardKeys('ticks', 1)).to.deep.equal(['ticks']);
    expect(shardKeys('ticks', 8)).to.deep.equal(['ticks:0{3}', 'ticks:1{43}', 'ticks:2{2}', 'ticks:3{42}', 'ticks:4{1}', 'ticks:5{41}', 'ticks:6{0}', 'ticks:7{40}']);
    for (const n of [2, 3, 4, 8, 16, 64]) {
      for (let i = 0; i < n; i++) {
        const slot = keySlot(shardKeys('s', n)[i]);
        expect(slot, `shard ${i} of ${n}`).to.be.at.least(Math.floor((i * 16384) / n)).and.below(Math.floor(((i + 1) * 16384) / n));
        expect(keySlot(shardKeys('s', n)[i] + ':dead'), 'dead-letter stream in the same slot').to.equal(slot);
      }
    }
    expect(shardTag(0, 8)).to.equal('3');
  });

  it('spreads the default symbol names evenly (within 20%) over 8 shards', () => {
    const counts = new Array<number>(8).fill(0);
    for (const sym of symbolNames(1000)) counts[shardOf(sym, 8)]++;
    for (const c of counts) expect(c).to.be.within(100, 150);
  });

  it('keyOf picks the one stream when there is one, else the symbol\'s shard', () => {
    expect(keyOf('BTC-USD', ['ticks'])).to.equal('ticks');
    const keys = shardKeys('ticks', 8);
    expect(keyOf('ETH-USD', keys)).to.equal(keys[5]);
  });
});
