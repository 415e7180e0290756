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
