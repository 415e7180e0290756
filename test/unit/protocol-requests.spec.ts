import { expect } from 'chai';
import { parseRequest } from '../../src/protocol/requests';
import { errorOf } from '../helpers/requests';
import { CLOSE_CODES, ERROR_CODES, shouldReconnect } from '../../src/protocol/codes';


describe('protocol: parseRequest', () => {
  it('parses each op, keeping the id and de-duplicating symbols', () => {
    expect(parseRequest('{"op":"subscribe","id":1,"symbols":["A","B","A"]}', 10)).to.deep.equal({ op: 'subscribe', id: 1, symbols: ['A', 'B'], snapshot: false, since: {}, delayed: false });
    expect(parseRequest('{"op":"unsubscribe","symbols":["A"]}', 10)).to.deep.equal({ op: 'unsubscribe', id: null, symbols: ['A'] });
    expect(parseRequest('{"op":"snapshot","id":3,"symbols":["A","A"]}', 10)).to.deep.equal({ op: 'snapshot', id: 3, symbols: ['A'] });
    expect(parseRequest('{"op":"ping","id":"x"}', 10)).to.deep.equal({ op: 'ping', id: 'x' });
    expect(parseRequest('{"op":"subscriptions","id":2}', 10)).to.deep.equal({ op: 'subscriptions', id: 2 });
  });

  it('names the precise problem with a code from the error table', () => {
    const cases: [string, string, RegExp][] = [
      ['nope', 'BAD_REQUEST', /not valid JSON/],
      ['[]', 'BAD_REQUEST', /must be a JSON object/],
      ['null', 'BAD_REQUEST', /must be a JSON object/],
      ['{"id":1}', 'BAD_REQUEST', /"op" is required/],
      ['{"op":"trade"}', 'UNKNOWN_OP', /unknown op "trade"/],
      ['{"op":"subscribe"}', 'BAD_REQUEST', /"symbols" is required/],
      ['{"op":"subscribe","symbols":"A"}', 'BAD_REQUEST', /must be an array/],
      ['{"op":"subscribe","symbols":[]}', 'BAD_REQUEST', /must not be empty/],
      ['{"op":"subscribe","symbols":[1]}', 'INVALID_SYMBOL', /invalid symbol number/],
      ['{"op":"subscribe","symbols":["-A"]}', 'INVALID_SYMBOL', /invalid symbol "-A"/],
      ['{"op":"subscribe","symbols":["' + 'A'.repeat(33) + '"]}', 'INVALID_SYMBOL', /invalid symbol/],
      ['{"op":"ping","id":{}}', 'BAD_REQUEST', /"id" must be/],
      ['{"op":"snapshot"}', 'BAD_REQUEST', /"symbols" is required/],
      ['{"op":"subscribe","symbols":["A"],"maxRate":0.5}', 'BAD_REQUEST', /"maxRate" must be a number of data frames per second per symbol, at least 1/],
      ['{"op":"subscribe","symbols":["A"],"maxRate":"4"}', 'BAD_REQUEST', /"maxRate" must be/],
      ['{"op":"subscribe","symbols":["A"],"maxRate":null}', 'BAD_REQUEST', /"maxRate" must be/],
      ['{"op":"subscribe","symbols":["A"],"delayed":"yes"}', 'BAD_REQUEST', /"delayed" must be true or false/],
    ];
    for (const [text, code, message] of cases) {
      const err = errorOf(text);
      expect(err.code, text).to.equal(code);
      expect(err.message, text).to.match(message);
      expect(ERROR_CODES).to.have.property(err.code);
    }
  });

  it('refuses a request with more symbols than the limit before validating any of them', () => {
    const err = errorOf(JSON.stringify({ op: 'subscribe', id: 3, symbols: ['A', 'B', 'bad symbol'] }), 2);
    expect(err).to.include({ code: 'TOO_MANY_SYMBOLS', id: 3 });
  });

  it('takes a since position only as a canonical stream id with parts up to 2^64-1, and says which rule it broke', () => {
    const subscribe = (pos: unknown) => JSON.stringify({ op: 'subscribe', id: 1, symbols: ['A'], since: { A: pos } });
    for (const pos of ['0-0', '1732480000000-5', '18446744073709551615-18446744073709551615']) {
      expect(parseRequest(subscribe(pos), 10), pos).to.have.deep.property('since', { A: pos });
    }
    for (const pos of ['18446744073709551616-0', '0-18446744073709551616', '123456789012345678901234567890-0']) {
      expect(errorOf(subscribe(pos)), pos).to.include({ code: 'BAD_REQUEST', id: 1 }).and.to.have.property('message').that.matches(/above 2\^64-1/);
    }
    for (const pos of ['', '5', '01-0', '1-0 ', '1e3-0', '-1-0', 17, null]) {
      expect(errorOf(subscribe(pos)), String(pos)).to.include({ code: 'BAD_REQUEST' }).and.to.have.property('message').that.matches(/must be a stream id/);
    }
  });

  it('echoes the id of a request it refuses', () => {
    expect(errorOf('{"op":"nope","id":42}').id).to.equal(42);
  });
});

describe('protocol: close codes', () => {
  it('tells a client to reconnect after transient closes and not after permanent ones', () => {
    expect(shouldReconnect(CLOSE_CODES.GOING_AWAY)).to.equal(true);
    expect(shouldReconnect(1006)).to.equal(true);
    expect(shouldReconnect(CLOSE_CODES.SLOW_CONSUMER)).to.equal(true);
    expect(shouldReconnect(CLOSE_CODES.FLOODING)).to.equal(true);
    expect(shouldReconnect(CLOSE_CODES.NORMAL)).to.equal(false);
    expect(shouldReconnect(CLOSE_CODES.MESSAGE_TOO_BIG)).to.equal(false);
    expect(shouldReconnect(CLOSE_CODES.UNAUTHORIZED)).to.equal(false);
    expect(shouldReconnect(CLOSE_CODES.FORBIDDEN)).to.equal(false);
  });

  it('keeps every custom close code inside its documented range', () => {
    for (const [name, code] of Object.entries(CLOSE_CODES)) {
      if (code < 4000) continue;
      const permanent = name === 'UNAUTHORIZED' || name === 'FORBIDDEN';
      expect(code >= 4500, name).to.equal(permanent);
    }
  });
});
