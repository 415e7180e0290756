import { expect } from 'chai';
import {
  Ack, ControlMessage, decodeAck, decodeControl, decodeError, decodeMode, decodeRefusal, decodeSnapshot, encodeAck,
  encodeError, encodeMode, encodeRefusal, encodeSnapshot, ErrorReply, ModeChange, RefusalBody, SnapshotFrame, STREAM_MODES,
} from '../../src/protocol/messages';
import { gapMessage, LOSS_REASONS, StreamLoss } from '../../src/protocol/gap';
import { encodeRequest, OutgoingRequest, parseRequest, Request } from '../../src/protocol/requests';

const tick = { id: '5-0', ts: 5, px: '1.5', sz: '2' };

/** One of every control message the gateway writes, as its encoder writes it and as decodeControl reads it back. */
const CONTROL: [text: string, message: ControlMessage][] = [
  ...([
    { id: 1, op: 'subscribe', symbols: ['A', 'B'] },
    { id: 'u', op: 'unsubscribe', symbols: ['A'] },
    { id: 7, op: 'snapshot', symbols: ['A'] },
    { id: 3, op: 'ping', time: 1795567877725 },
    { id: 4, op: 'subscriptions', symbols: [] },
    { id: 5, op: 'pause' },
    { id: 6, op: 'resume' },
  ] satisfies Ack[]).map((a): [string, ControlMessage] => [encodeAck(a), { type: 'ack', ...a }]),
  ...([
    { id: 1, code: 'INVALID_SYMBOL', message: 'invalid symbol "bad symbol"' },
    { id: null, code: 'RATE_LIMITED', message: 'too fast' },
    { id: 'r', code: 'RESUME_UNAVAILABLE', symbols: ['ETH-USD'], message: 'resume position cannot be replayed; a snapshot follows' },
  ] satisfies ErrorReply[]).map((e): [string, ControlMessage] => [encodeError(e), { type: 'error', ...e }]),
  ...([
    { id: 1, position: '5-0', ticks: [{ sym: 'A', ...tick }, { sym: 'B', ...tick, side: 'buy', extra: { venue: 'X' } }] },
    { id: 'r', position: '0-0', ticks: [] },
    { position: '5-0', ticks: [{ sym: 'A', ...tick }] },
  ] satisfies SnapshotFrame[]).map((s): [string, ControlMessage] => [encodeSnapshot(s), { type: 'snapshot', ...s }]),
  ...STREAM_MODES.map((mode): [string, ControlMessage] => [encodeMode({ mode, reason: 'drained' }), { type: 'mode', mode, reason: 'drained' }]),
  ...LOSS_REASONS.map((reason): [string, ControlMessage] => {
    const loss: StreamLoss = { stream: 'ticks', after: '1-5', through: '3-0', reason };
    return [gapMessage(loss), { type: 'gap', ...loss }];
  }),
  ...([{ error: 'TOO_MANY_CONNECTIONS', message: 'retry with backoff' }, { error: 'NOT_FOUND' }] satisfies RefusalBody[])
    .map((r): [string, ControlMessage] => [encodeRefusal(r), { type: 'refusal', ...r }]),
];

describe('protocol: control messages', () => {
  it('decode to what was encoded, for every message type and variant', () => {
    for (const [text, message] of CONTROL) expect(decodeControl(text), text).to.deep.equal(message);
    expect(new Set(CONTROL.map(([, m]) => m.type))).to.deep.equal(new Set(['ack', 'error', 'snapshot', 'mode', 'gap', 'refusal']));
  });

  it('read an object already parsed from JSON the same as its text', () => {
    for (const [text, message] of CONTROL) expect(decodeControl(JSON.parse(text) as object), text).to.deep.equal(message);
  });

  it('write type first, then id, in the order the README shows', () => {
    expect(encodeAck({ id: 1, op: 'subscribe', symbols: ['BTC-USD'] })).to.equal('{"type":"ack","id":1,"op":"subscribe","symbols":["BTC-USD"]}');
    expect(encodeAck({ id: 3, op: 'ping', time: 9 })).to.equal('{"type":"ack","id":3,"op":"ping","time":9}');
    expect(encodeAck({ id: 5, op: 'pause' })).to.equal('{"type":"ack","id":5,"op":"pause"}');
    expect(encodeError({ id: null, code: 'BAD_REQUEST', message: 'm' })).to.equal('{"type":"error","id":null,"code":"BAD_REQUEST","message":"m"}');
    expect(encodeError({ id: 2, code: 'RESUME_UNAVAILABLE', message: 'm', symbols: ['A'] }))
      .to.equal('{"type":"error","id":2,"code":"RESUME_UNAVAILABLE","symbols":["A"],"message":"m"}');
    expect(encodeSnapshot({ position: '1-0', ticks: [] })).to.equal('{"type":"snapshot","id":null,"position":"1-0","ticks":[]}');
    expect(encodeSnapshot({ id: 'x', position: '1-0', ticks: [] })).to.equal('{"type":"snapshot","id":"x","position":"1-0","ticks":[]}');
    expect(encodeMode({ mode: 'conflated', reason: 'r' })).to.equal('{"type":"mode","mode":"conflated","reason":"r"}');
    expect(encodeRefusal({ error: 'NOT_FOUND' })).to.equal('{"error":"NOT_FOUND"}');
    expect(encodeRefusal({ error: 'FORBIDDEN', message: 'm' })).to.equal('{"error":"FORBIDDEN","message":"m"}');
  });

  it('refuse text that is not a JSON object, and a type that is not a control message', () => {
    expect(() => decodeControl('{')).to.throw('message is not valid JSON').with.property('code', 'BAD_JSON_FRAME');
    for (const text of ['1', 'null', '"ack"']) {
      expect(() => decodeControl(text), text).to.throw('message is not an object').with.property('code', 'BAD_JSON_FRAME');
    }
    expect(() => decodeControl('{"type":"ticks"}')).to.throw('not a control message: type "ticks"');
    expect(() => decodeControl(`{"type":"${'t'.repeat(40)}"}`)).to.throw(`not a control message: type "${'t'.repeat(32)}"`);
    expect(() => decodeControl('{"type":"gap","stream":"s"}')).to.throw('not a gap message');
  });
});

describe('protocol: ack', () => {
  const good = { type: 'ack', id: 1, op: 'subscribe', symbols: ['A'] };

  it('needs a type of ack, an id that is a number or string, and a known op', () => {
    expect(decodeAck(good)).to.deep.equal({ id: 1, op: 'subscribe', symbols: ['A'] });
    for (const [k, v] of [['type', 'error'], ['id', null], ['id', true], ['op', 'dance'], ['op', undefined]] as const) {
      expect(() => decodeAck({ ...good, [k]: v }), `${k}=${String(v)}`).to.throw('not an ack');
    }
  });

  it('keeps symbols only when they are an array of strings, and time only when it is a number', () => {
    expect(decodeAck({ ...good, symbols: ['A', 1] })).to.deep.equal({ id: 1, op: 'subscribe' });
    expect(decodeAck({ ...good, symbols: 'A' })).to.deep.equal({ id: 1, op: 'subscribe' });
    expect(decodeAck({ type: 'ack', id: 'p', op: 'ping', time: '9' })).to.deep.equal({ id: 'p', op: 'ping' });
    expect(decodeAck({ type: 'ack', id: 'p', op: 'ping', time: 0 })).to.deep.equal({ id: 'p', op: 'ping', time: 0 });
  });
});

describe('protocol: error message', () => {
  it('needs a type of error', () => {
    expect(() => decodeError({ type: 'ack', code: 'X', message: 'm' })).to.throw('not an error message');
  });

  it('reads leniently past its type: no readable id is null, no code UNKNOWN, no message a generic one', () => {
    expect(decodeError({ type: 'error' })).to.deep.equal({ id: null, code: 'UNKNOWN', message: 'request failed' });
    expect(decodeError({ type: 'error', id: {}, code: 7, message: false })).to.deep.equal({ id: null, code: '7', message: 'false' });
  });

  it('keeps the strings of symbols and skips the rest', () => {
    expect(decodeError({ type: 'error', id: 1, code: 'RESUME_UNAVAILABLE', message: 'm', symbols: ['A', 2, 'B'] }))
      .to.deep.equal({ id: 1, code: 'RESUME_UNAVAILABLE', message: 'm', symbols: ['A', 'B'] });
    expect(decodeError({ type: 'error', id: 1, code: 'X', message: 'm', symbols: 'A' })).to.deep.equal({ id: 1, code: 'X', message: 'm' });
  });
});

describe('protocol: snapshot message', () => {
  it('reads a null id as none: the server sent it on its own', () => {
    expect(decodeSnapshot('{"type":"snapshot","id":null,"position":"1-0","ticks":[]}')).to.deep.equal({ position: '1-0', ticks: [] });
  });

  it('reads the extras the gateway writes under extra, and those beside the known keys, skipping reserved names and non-strings', () => {
    const text = '{"type":"snapshot","position":"1-0","ticks":[{"sym":"A","id":"1-0","ts":1,"px":"1","sz":"1","a":"1",'
      + '"extra":{"venue":"X","px":"9","n":2}}]}';
    expect(decodeSnapshot(text).ticks).to.deep.equal([{ sym: 'A', id: '1-0', ts: 1, px: '1', sz: '1', extra: { a: '1', venue: 'X' } }]);
    expect(decodeSnapshot('{"type":"snapshot","position":"1-0","ticks":[{"sym":"A","id":"1-0","ts":1,"px":"1","sz":"1","extra":null}]}').ticks)
      .to.deep.equal([{ sym: 'A', id: '1-0', ts: 1, px: '1', sz: '1' }]);
  });

  it('needs a type of snapshot, a stream id position and an array of ticks', () => {
    for (const text of ['{"type":"mode","position":"1-0","ticks":[]}', '{"type":"snapshot","position":"1","ticks":[]}',
      '{"type":"snapshot","position":"1-0","ticks":{}}']) {
      expect(() => decodeSnapshot(text), text).to.throw('not a snapshot frame');
    }
  });

  it('refuses a snapshot tick that is not an object with a valid sym', () => {
    for (const t of ['1', 'null', '{"id":"1-0","ts":1,"px":"1","sz":"1"}', '{"sym":"bad sym","id":"1-0","ts":1,"px":"1","sz":"1"}']) {
      expect(() => decodeSnapshot(`{"type":"snapshot","position":"1-0","ticks":[${t}]}`), t).to.throw('snapshot tick without a valid sym');
    }
  });
});

describe('protocol: mode message', () => {
  it('reads a reason that is not a string as empty', () => {
    expect(decodeMode({ type: 'mode', mode: 'full', reason: 3 })).to.deep.equal({ mode: 'full', reason: '' } satisfies ModeChange);
  });

  it('needs a type of mode', () => {
    expect(() => decodeMode({ type: 'gap', mode: 'full' })).to.throw('not a mode message');
  });
});

describe('protocol: refusal body', () => {
  it('needs a string error and, when present, a string message', () => {
    for (const body of ['{}', '{"error":1}', '{"error":"X","message":2}', '{"error":"X","message":null}']) {
      expect(() => decodeRefusal(body), body).to.throw('not a refusal body');
    }
  });
});

describe('protocol: requests', () => {
  const max = 100;
  const REQUESTS: [OutgoingRequest, Request][] = [
    [{ op: 'subscribe', id: 1, symbols: ['A', 'B'] }, { op: 'subscribe', id: 1, symbols: ['A', 'B'], snapshot: false, since: {}, delayed: false }],
    [{ op: 'subscribe', id: 2, symbols: ['A', 'B'], snapshot: true, since: { A: '5-0' } },
      { op: 'subscribe', id: 2, symbols: ['A', 'B'], snapshot: true, since: { A: '5-0' }, delayed: false }],
    [{ op: 'subscribe', id: 3, symbols: ['A'], snapshot: false, since: {} }, { op: 'subscribe', id: 3, symbols: ['A'], snapshot: false, since: {}, delayed: false }],
    [{ op: 'subscribe', id: 4, symbols: ['A'], maxRate: 4, delayed: true },
      { op: 'subscribe', id: 4, symbols: ['A'], snapshot: false, since: {}, maxRate: 4, delayed: true }],
    [{ op: 'unsubscribe', id: 'u', symbols: ['A'] }, { op: 'unsubscribe', id: 'u', symbols: ['A'] }],
    [{ op: 'snapshot', id: null, symbols: ['A'] }, { op: 'snapshot', id: null, symbols: ['A'] }],
    ...(['ping', 'subscriptions', 'pause', 'resume'] as const).map((op): [OutgoingRequest, Request] => [{ op, id: 9 }, { op, id: 9 }]),
  ];

  it('parse to what was encoded, for every op', () => {
    for (const [out, parsed] of REQUESTS) expect(parseRequest(encodeRequest(out), max), JSON.stringify(out)).to.deep.equal(parsed);
  });

  it('are written op first, then id, then the rest, leaving out what the gateway takes as its default', () => {
    expect(encodeRequest({ op: 'subscribe', id: 1, symbols: ['A'], snapshot: true, since: { A: '1-0' } }))
      .to.equal('{"op":"subscribe","id":1,"symbols":["A"],"snapshot":true,"since":{"A":"1-0"}}');
    expect(encodeRequest({ op: 'subscribe', id: 1, symbols: ['A'], snapshot: false, since: {} })).to.equal('{"op":"subscribe","id":1,"symbols":["A"]}');
    expect(encodeRequest({ op: 'ping', id: null })).to.equal('{"op":"ping"}');
    expect(encodeRequest({ op: 'snapshot', id: 0, symbols: ['A'] })).to.equal('{"op":"snapshot","id":0,"symbols":["A"]}');
  });
});
