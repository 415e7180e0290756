import { expect } from 'chai';
import { parseRequest } from '../../src/protocol/requests';
import { errorOf } from '../helpers/requests';
import { isTransientError, shouldReconnect } from '../../src/protocol/codes';
import { decodeGapMessage, gapMessage, StreamLoss } from '../../src/protocol/gap';


const codeAndMessage = (text: string, max = 1000) => {
  const e = errorOf(text, max);
  return [e.code, e.message, e.id];
};

describe('protocol: parseRequest edges', () => {
  it('names its errors RequestError', () => {
    expect(errorOf('x').name).to.equal('RequestError');
  });

  it('takes an id of null as no id, a finite number, or a string of up to 64 characters, and refuses the rest', () => {
    expect(parseRequest('{"op":"ping","id":null}', 10)).to.deep.equal({ op: 'ping', id: null });
    expect(parseRequest(`{"op":"ping","id":"${'i'.repeat(64)}"}`, 10)).to.deep.equal({ op: 'ping', id: 'i'.repeat(64) });
    const bad = '"id" must be a finite number or a string of at most 64 characters';
    for (const id of [`"${'i'.repeat(65)}"`, 'true', '{}', '[1]', '1e999']) {
      expect(codeAndMessage(`{"op":"ping","id":${id}}`), id).to.deep.equal(['BAD_REQUEST', bad, null]);
    }
  });

  it('takes exactly --max-symbols symbols and refuses one more with TOO_MANY_SYMBOLS', () => {
    expect(parseRequest('{"op":"subscribe","symbols":["A","B"]}', 2)).to.have.property('symbols').deep.equal(['A', 'B']);
    expect(codeAndMessage('{"op":"subscribe","id":4,"symbols":["A","B","C"]}', 2))
      .to.deep.equal(['TOO_MANY_SYMBOLS', 'at most 2 symbols per connection, request has 3', 4]);
  });

  it('shows at most 40 characters of an invalid symbol', () => {
    const long = 'A'.repeat(50) + ' ';
    expect(codeAndMessage(`{"op":"subscribe","symbols":["${long}"]}`)).to.deep.equal(['INVALID_SYMBOL', `invalid symbol "${'A'.repeat(40)}"`, null]);
  });

  it('refuses a since that is not an object of symbol to stream id', () => {
    for (const since of ['"1-0"', '1', 'null', '["1-0"]']) {
      expect(codeAndMessage(`{"op":"subscribe","id":2,"symbols":["A"],"since":${since}}`), since)
        .to.deep.equal(['BAD_REQUEST', '"since" must be an object of symbol → stream id', 2]);
    }
  });

  it('refuses a since naming a symbol not in symbols, showing at most 40 characters of it', () => {
    const long = 'B'.repeat(50);
    expect(codeAndMessage(`{"op":"subscribe","symbols":["A"],"since":{"${long}":"1-0"}}`))
      .to.deep.equal(['BAD_REQUEST', `"since" names "${'B'.repeat(40)}", which is not in "symbols"`, null]);
  });

  it('takes snapshot true or false only, and false when absent', () => {
    expect(parseRequest('{"op":"subscribe","symbols":["A"],"snapshot":true}', 10)).to.have.property('snapshot', true);
    expect(parseRequest('{"op":"subscribe","symbols":["A"],"snapshot":false}', 10)).to.have.property('snapshot', false);
    expect(parseRequest('{"op":"subscribe","symbols":["A"]}', 10)).to.have.property('snapshot', false);
    expect(codeAndMessage('{"op":"subscribe","id":1,"symbols":["A"],"snapshot":"yes"}'))
      .to.deep.equal(['BAD_REQUEST', '"snapshot" must be true or false', 1]);
  });

  it('refuses a request that is JSON but not an object', () => {
    for (const text of ['1', '"subscribe"', 'null', '[{"op":"ping"}]']) {
      expect(codeAndMessage(text), text).to.deep.equal(['BAD_REQUEST', 'request must be a JSON object', null]);
    }
  });

  it('parses pause and resume', () => {
    expect(parseRequest('{"op":"pause","id":1}', 10)).to.deep.equal({ op: 'pause', id: 1 });
    expect(parseRequest('{"op":"resume","id":2}', 10)).to.deep.equal({ op: 'resume', id: 2 });
  });

  it('shows at most 32 characters of an unknown op', () => {
    expect(codeAndMessage(`{"op":"${'x'.repeat(40)}"}`)).to.deep.equal(['UNKNOWN_OP', `unknown op "${'x'.repeat(32)}"`, null]);
  });
});

describe('protocol: gap message', () => {
  const loss: StreamLoss = { stream: 'ticks', after: '1-5', through: '3-0', reason: 'trimmed' };

  it('is the README\'s JSON text, keys in order', () => {
    expect(gapMessage(loss)).to.equal('{"type":"gap","stream":"ticks","after":"1-5","through":"3-0","reason":"trimmed"}');
  });

  it('decodes back to the loss', () => {
    expect(decodeGapMessage(JSON.parse(gapMessage(loss)))).to.deep.equal(loss);
  });

  it('decodes nothing from a message of another type or with a field that is not a string', () => {
    const good = JSON.parse(gapMessage(loss)) as Record<string, unknown>;
    for (const [k, v] of [['type', 'mode'], ['stream', 1], ['after', null], ['through', 3]] as const) {
      expect(decodeGapMessage({ ...good, [k]: v }), k).to.equal(undefined);
    }
  });
});

describe('protocol: codes', () => {
  it('calls INTERNAL, CAPACITY_EXCEEDED and RATE_LIMITED transient, and nothing else', () => {
    expect(['INTERNAL', 'CAPACITY_EXCEEDED', 'RATE_LIMITED', 'BAD_REQUEST', ''].map(isTransientError)).to.deep.equal([true, true, true, false, false]);
  });

  it('does not reconnect after 4500 or 4999, and does after 4499 and 5000', () => {
    expect([4499, 4500, 4999, 5000].map(shouldReconnect)).to.deep.equal([true, false, false, true]);
  });
});
