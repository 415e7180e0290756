import { expect } from 'chai';
import { CLOSE_CODES, closeName, CLOSES, ERROR_CODES, isTransientError, REFUSALS, shouldReconnect } from '../../src/protocol/codes';

describe('protocol: the close table', () => {
  it('has one entry per code, each named by closeName', () => {
    for (const [name, close] of Object.entries(CLOSES)) expect(closeName(close.code), name).to.equal(name);
    expect(closeName(1006)).to.equal(undefined);
    expect(CLOSE_CODES).to.deep.equal(Object.fromEntries(Object.entries(CLOSES).map(([n, c]) => [n, c.code])));
  });

  it('is where the SDK\'s reconnect decision comes from, and agrees with the ranges a client without the table uses', () => {
    for (const [name, close] of Object.entries(CLOSES)) {
      expect(shouldReconnect(close.code), name).to.equal(close.reconnect);
      if (close.code >= 4000) expect(close.reconnect, name).to.equal(close.code < 4500);
    }
  });

  it('reconnects after a code outside it by its range: not from 4500 to 4999, else yes', () => {
    expect([1005, 1006, 1011, 4003, 4499, 4500, 4999, 5000].map(shouldReconnect)).to.deep.equal([true, true, true, true, true, false, false, true]);
  });

  it('writes the reasons the gateway and the SDK send, exactly', () => {
    expect([
      CLOSES.NORMAL.reason(), CLOSES.GOING_AWAY.reason(), CLOSES.GOING_AWAY.reason(true), CLOSES.MESSAGE_TOO_BIG.reason(70000, 65536),
      CLOSES.SERVICE_RESTART.reason(), CLOSES.INTERNAL_ERROR.reason(), CLOSES.SLOW_CONSUMER.reason(false), CLOSES.SLOW_CONSUMER.reason(true),
      CLOSES.FLOODING.reason(20, 10_000), CLOSES.MAX_LIFETIME.reason(), CLOSES.TOKEN_EXPIRED.reason(), CLOSES.TOO_MANY_CONNECTIONS.reason(),
      CLOSES.UNAUTHORIZED.reason(), CLOSES.FORBIDDEN.reason(),
    ]).to.deep.equal([
      '', 'server shutting down', 'gateway failed to start', 'frame of 70000 bytes exceeds the 65536-byte limit',
      'worker restarting; reconnect', 'resubscription failed; reconnecting', 'client too slow: send buffer over limit',
      'client too slow: send buffer stayed above limit', 'more than 20 RATE_LIMITED requests within 10 s',
      'connection reached its maximum lifetime; reconnect', 'token expired; reconnect with a fresh one',
      'gateway at its connection capacity; retry with backoff', 'unauthorized', 'forbidden',
    ]);
  });

  it('keeps every reason within the 123 bytes a close frame can carry', () => {
    const longest = [CLOSES.MESSAGE_TOO_BIG.reason(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), CLOSES.FLOODING.reason(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)];
    for (const r of longest) expect(Buffer.byteLength(r), r).to.be.at.most(123);
  });
});

describe('protocol: the error table', () => {
  it('calls exactly INTERNAL, CAPACITY_EXCEEDED and RATE_LIMITED worth a retry', () => {
    const retried = Object.entries(ERROR_CODES).filter(([, e]) => e.retry).map(([code]) => code);
    expect(retried.sort()).to.deep.equal(['CAPACITY_EXCEEDED', 'INTERNAL', 'RATE_LIMITED']);
    for (const code of Object.keys(ERROR_CODES)) expect(isTransientError(code), code).to.equal(retried.includes(code));
  });

  it('calls a code it does not have not transient, inherited object keys included', () => {
    expect(['UNKNOWN', 'constructor', 'toString', '__proto__'].map(isTransientError)).to.deep.equal([false, false, false, false]);
  });
});

describe('protocol: the refusal table', () => {
  it('answers each refused upgrade with the README\'s status, error and label', () => {
    const rows = Object.values(REFUSALS).map((r) => [r.status, r.error, r.label]);
    expect(rows).to.deep.equal([
      ['503 Service Unavailable', 'TOO_MANY_CONNECTIONS', 'descriptors'],
      ['400 Bad Request', 'BAD_REQUEST', 'bad_format'],
      ['403 Forbidden', 'FORBIDDEN', 'origin'],
      ['401 Unauthorized', 'UNAUTHORIZED', 'auth'],
      ['401 Unauthorized', 'UNAUTHORIZED', 'auth'],
      ['503 Service Unavailable', 'TOO_MANY_CONNECTIONS', 'capacity'],
      ['429 Too Many Requests', 'TOO_MANY_CONNECTIONS', 'per_ip'],
      ['404 Not Found', 'NOT_FOUND', undefined],
    ]);
  });

  it('writes the messages the gateway sends, exactly', () => {
    expect([
      REFUSALS.DESCRIPTORS.message(), REFUSALS.BAD_FORMAT.message('unsupported format "xml": use json or binary'),
      REFUSALS.ORIGIN.message('https://evil.example'), REFUSALS.ORIGIN.message('o'.repeat(150)), REFUSALS.NO_TOKEN.message(),
      REFUSALS.BAD_TOKEN.message('token expired'), REFUSALS.CAPACITY.message(), REFUSALS.PER_IP.message(10, '10.0.0.1'),
    ]).to.deep.equal([
      'gateway near its file-descriptor limit; retry with backoff', 'unsupported format "xml": use json or binary',
      'origin "https://evil.example" is not allowed', `origin "${'o'.repeat(100)}" is not allowed`,
      'missing token: send "Authorization: Bearer <jwt>" or ?token=<jwt>', 'token expired',
      'gateway at its connection capacity; retry with backoff', 'more than 10 connections from 10.0.0.1',
    ]);
  });
});
