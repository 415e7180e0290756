import { expect } from 'chai';
import { parseEntry } from '../../src/ingest/parse-entry';

const base = ['sym', 'BTC-USD', 'px', '27123.50', 'sz', '0.010', 'ts', '1732480000123'];

describe('ingest: parseEntry', () => {
  it('turns a well-formed entry into a tick, keeping decimal strings exactly', () => {
    expect(parseEntry('1-0', [...base, 'bid', '27123.49', 'side', 'buy'])).to.deep.equal({
      sym: 'BTC-USD', tick: { id: '1-0', ts: 1732480000123, px: '27123.50', sz: '0.010', bid: '27123.49', side: 'buy' },
    });
  });

  it('passes unknown fields through as extra', () => {
    const parsed = parseEntry('1-0', [...base, 'venue', 'XNAS']);
    expect(parsed).to.have.nested.property('tick.extra.venue', 'XNAS');
  });

  it('takes a ts of ASCII digits only, 0 to 2^53-1, and calls anything else bad_timestamp', () => {
    const withTs = (ts: string) => parseEntry('1-0', ['sym', 'A', 'px', '1', 'sz', '1', 'ts', ts]);
    const good: [string, number][] = [['0', 0], ['7', 7], ['007', 7], ['1732480000123', 1732480000123], ['9007199254740991', Number.MAX_SAFE_INTEGER]];
    for (const [ts, value] of good) expect(withTs(ts), ts).to.have.nested.property('tick.ts', value);
    const bad = ['', ' 7 ', ' 7', '7 ', '1e3', '0x10', '0b1', '0o7', '5.0', '5.', '.5', '-1', '-0', '+5', '1_000', 'Infinity', 'NaN',
      '٣', '１２', '9007199254740992', '18446744073709551616', '9'.repeat(400)];
    for (const ts of bad) expect(withTs(ts), JSON.stringify(ts)).to.equal('bad_timestamp');
  });

  it('refuses as reserved_field an entry with a field named like a key the protocol owns, or a producer field twice', () => {
    const reserved = ['type', 'sent', 'prev', 'kind', 'ticks', 'id', 'position', 'stream', 'after', 'through', 'reason', 'extra'];
    for (const name of reserved) expect(parseEntry('1-0', [...base, name, '9999999999999-0']), name).to.equal('reserved_field');
    expect(parseEntry('1-0', ['id', '9-0', ...base]), 'before the producer fields').to.equal('reserved_field');
    for (const name of ['sym', 'px', 'sz', 'ts', 'bid', 'ask', 'bsz', 'asz', 'side']) {
      const value = name === 'sym' ? 'OTHER' : name === 'side' ? 'buy' : '1';
      const twice = [...base, ...(name === 'side' || ['bid', 'ask', 'bsz', 'asz'].includes(name) ? [name, value] : []), name, value];
      expect(parseEntry('1-0', twice), `${name} twice`).to.equal('reserved_field');
    }
    // Names that only resemble a key collide with nothing: JSON keys are case-sensitive.
    expect(parseEntry('1-0', [...base, 'ID', 'x', 'Sym', 'y', 'venue', 'z'])).to.have.deep.nested.property('tick.extra', { ID: 'x', Sym: 'y', venue: 'z' });
  });

  it('names the kind of every malformation', () => {
    const with_ = (k: string, v: string) => base.map((x, i) => (i % 2 === 1 && base[i - 1] === k ? v : x));
    const cases: [string[] | null, string][] = [
      [null, 'deleted'],
      [['sym', 'A', 'px', '1'], 'missing_field'],
      [with_('sym', 'bad sym'), 'bad_symbol'],
      [with_('px', '1e5'), 'bad_price'],
      [with_('px', 'NaN'), 'bad_price'],
      [with_('sz', ''), 'bad_size'],
      [with_('ts', '12.5'), 'bad_timestamp'],
      [with_('ts', '-1'), 'bad_timestamp'],
      [[...base, 'side', 'long'], 'bad_side'],
      [[...base, 'ask', 'x'], 'bad_optional'],
      [[...base, ...Array.from({ length: 18 }, (_, i) => (i % 2 ? 'v' : `f${i}`))], 'bad_extra'],
    ];
    for (const [fields, kind] of cases) expect(parseEntry('1-0', fields), JSON.stringify(fields)).to.equal(kind);
  });
});

describe('ingest: parseEntry, field by field', () => {
  const without = (name: string) => {
    const i = base.indexOf(name);
    return [...base.slice(0, i), ...base.slice(i + 2)];
  };

  for (const name of ['sym', 'px', 'sz', 'ts']) {
    it(`calls an entry without ${name} missing_field`, () => {
      expect(parseEntry('1-0', without(name))).to.equal('missing_field');
    });
  }

  it('ignores a trailing field name that has no value', () => {
    expect(parseEntry('1-0', [...base, 'venue'])).to.deep.equal({
      sym: 'BTC-USD', tick: { id: '1-0', ts: 1732480000123, px: '27123.50', sz: '0.010' },
    });
  });

  it('keeps bid, ask, bsz, asz and side each under its own name', () => {
    expect(parseEntry('1-0', [...base, 'bid', '1.5', 'ask', '1.6', 'bsz', '10', 'asz', '20', 'side', 'sell'])).to.deep.equal({
      sym: 'BTC-USD',
      tick: { id: '1-0', ts: 1732480000123, px: '27123.50', sz: '0.010', bid: '1.5', ask: '1.6', bsz: '10', asz: '20', side: 'sell' },
    });
  });

  for (const name of ['bid', 'ask', 'bsz', 'asz']) {
    it(`calls a ${name} that is not a decimal bad_optional`, () => {
      expect(parseEntry('1-0', [...base, name, '1e5'])).to.equal('bad_optional');
    });
  }

  it('takes 8 pass-through fields and calls a 9th bad_extra', () => {
    const extras = (n: number) => Array.from({ length: n }, (_, i) => [`f${i}`, 'v']).flat();
    expect(parseEntry('1-0', [...base, ...extras(8)])).to.have.nested.property('tick.extra.f7', 'v');
    expect(parseEntry('1-0', [...base, ...extras(9)])).to.equal('bad_extra');
  });

  it('takes a pass-through name and value of 256 characters and calls 257 bad_extra', () => {
    const n256 = 'n'.repeat(256);
    const v256 = 'v'.repeat(256);
    expect(parseEntry('1-0', [...base, n256, v256])).to.have.deep.nested.property('tick.extra', { [n256]: v256 });
    expect(parseEntry('1-0', [...base, `${n256}n`, 'v'])).to.equal('bad_extra');
    expect(parseEntry('1-0', [...base, 'venue', `${v256}v`])).to.equal('bad_extra');
  });

  it('calls a ts with a character just outside 0-9 ("/" or ":") bad_timestamp', () => {
    for (const ts of ['12/3', '12:3']) {
      expect(parseEntry('1-0', ['sym', 'A', 'px', '1', 'sz', '1', 'ts', ts]), ts).to.equal('bad_timestamp');
    }
  });
});
