import { expect } from 'chai';
import { RegistryFullError } from '../../src/registry/registry';
import { CounterUnderflowError, SharedBufferLayoutError, SharedCounterMap, mix32 } from '../../src/registry/shared-map';
import {
  DuplicateSessionError,
  RegistryArgumentError,
  SessionNotEmptyError,
  SharedRegistry,
  UnknownSessionError,
} from '../../src/registry/shared-registry';
import { beforeAtomic, beforeCompareExchange } from '../helpers/registry-keys';
import { thrown } from '../helpers/thrown';

const T0 = 1_700_000_000_000;

/**
 * Session ids whose home bucket is `home` in a registry of `sessionCapacity` sessions, whose table has twice as many
 * slots rounded up to a power of two.
 */
function idsWithHome(sessionCapacity: number, home: number, count: number): number[] {
  let slots = 2;
  while (slots < 2 * sessionCapacity) slots <<= 1;
  const out: number[] = [];
  for (let id = 0; out.length < count; id++) if ((mix32(id) & (slots - 1)) === home) out.push(id);
  return out;
}

describe('SharedRegistry sizes and arguments', () => {
  it('rejects capacities outside [1, 2^23] or not integers, naming the option and the value', () => {
    for (const bad of [0, -1, 1.5, 2 ** 23 + 1, NaN]) {
      expect(() => SharedRegistry.create({ topicCapacity: 8, sessionCapacity: bad }))
        .to.throw(RangeError)
        .with.property('message', `sessionCapacity must be an integer in [1, 2^23], got ${bad}`);
      expect(() => SharedRegistry.create({ topicCapacity: bad, sessionCapacity: 8 }))
        .to.throw(RangeError)
        .with.property('message', `topicCapacity must be an integer in [1, 2^23], got ${bad}`);
    }
  });

  it('holds exactly one session and one topic at capacity 1', () => {
    const reg = SharedRegistry.create({ topicCapacity: 1, sessionCapacity: 1 });
    reg.openSession(1, 0, T0);
    expect(() => reg.openSession(2, 0, T0)).to.throw(RegistryFullError);
    reg.addSubscription(1, 'json/A');
    expect(() => reg.addSubscription(1, 'json/B')).to.throw(RegistryFullError);
    expect(reg.stats()).to.deep.equal({ sessions: 1, subscriptions: 1, activeTopics: 1 });
  });

  it('gives the topic table twice topicCapacity slots, topicCapacity live topics, the topic length given, and compaction', () => {
    const reg = SharedRegistry.create({ topicCapacity: 5, sessionCapacity: 1, maxTopicBytes: 8 });
    expect(reg.topics).to.include({ slots: 16, maxLive: 5, maxKeyBytes: 8 });
    expect(reg.topics.compact()).to.equal(true);
    expect(SharedRegistry.create({ topicCapacity: 5, sessionCapacity: 1 }).topics.maxKeyBytes).to.equal(64);
  });

  it('names the session and the limit in its errors', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 2 });
    expect(thrown(() => reg.addSubscription(9, 'json/A'))).to.include({ name: 'UnknownSessionError', sessionId: 9, message: 'session 9 is not open' });
    reg.openSession(9, 0, T0);
    expect(thrown(() => reg.openSession(9, 0, T0))).to.include({ name: 'DuplicateSessionError', sessionId: 9, message: 'session 9 is already open' });
    reg.openSession(11, 0, T0);
    expect(thrown(() => reg.openSession(10, 0, T0))).to.include({
      name: 'RegistryFullError',
      message: 'connection registry is full: session table holds at most 2 entries',
    });
    reg.addSubscription(9, 'json/A');
    reg.addSubscription(9, 'json/B');
    expect(thrown(() => reg.closeSession(9))).to.be.instanceOf(SessionNotEmptyError).and.include({
      name: 'SessionNotEmptyError',
      sessionId: 9,
      subscriptions: 2,
      message: 'session 9 still has 2 subscriptions; remove them before closing it',
    });
  });

  it('rejects a bad session id, worker id or connect time on every call with RegistryArgumentError, reserving nothing', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 1 });
    for (const bad of [-1, 2 ** 32, 0.5]) {
      for (const call of [
        () => reg.openSession(bad, 0, T0),
        () => reg.closeSession(bad),
        () => reg.addSubscription(bad, 'json/A'),
        () => reg.removeSubscription(bad, 'json/A'),
      ]) {
        expect(thrown(call)).to.be.instanceOf(RegistryArgumentError).and.include({ name: 'RegistryArgumentError', message: `sessionId must be a uint32, got ${bad}` });
      }
    }
    for (const bad of [-1, 2 ** 31, 0.5]) {
      expect(thrown(() => reg.openSession(1, bad, T0))).to.include({ message: `workerId must be a non-negative int32, got ${bad}` });
    }
    for (const bad of [-1, 0.5, 2 ** 53]) {
      expect(thrown(() => reg.openSession(1, 0, bad))).to.include({ message: `connectedAt must be a non-negative integer (ms), got ${bad}` });
    }
    expect(reg.stats().sessions).to.equal(0);
    reg.openSession(1, 0x7fffffff, T0);
    expect(reg.session(1)?.workerId).to.equal(0x7fffffff);
  });

  it('keeps every connect time exactly, whichever of its 32-bit halves are set', () => {
    const times = [0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER];
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: times.length });
    times.forEach((t, id) => reg.openSession(id, 0, t));
    expect(times.map((_, id) => reg.session(id)?.connectedAt)).to.deep.equal(times);
  });

  it('refuses to remove a subscription from a session that has none, leaving the topic\'s other subscribers counted', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 2 });
    reg.openSession(1, 0, T0);
    reg.openSession(2, 0, T0);
    reg.addSubscription(1, 'json/A');
    expect(thrown(() => reg.removeSubscription(2, 'json/A'))).to.be.instanceOf(CounterUnderflowError).and.include({
      message: 'counter for "session 2" would go below zero',
    });
    expect(reg.subscriberCount('json/A')).to.equal(1);
    expect(reg.stats()).to.deep.equal({ sessions: 2, subscriptions: 1, activeTopics: 1 });
  });
});

describe('SharedRegistry.attach', () => {
  const good = () => SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 4 });
  const copyOf = (buffer: SharedArrayBuffer, byteLength = buffer.byteLength) => {
    const copy = new SharedArrayBuffer(byteLength);
    new Uint8Array(copy).set(new Uint8Array(buffer).subarray(0, Math.min(byteLength, buffer.byteLength)));
    return copy;
  };
  const attachError = (sessions: SharedArrayBuffer) => thrown(() => SharedRegistry.attach({ topics: good().buffers.topics, sessions }));

  it('shares sessions, topics and the session limit with the registry that created the buffers', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 3 });
    const other = SharedRegistry.attach(reg.buffers);
    expect(other.sessionCapacity).to.equal(3);
    other.openSession(4, 1, T0);
    other.addSubscription(4, 'json/A');
    expect(reg.session(4)).to.deep.equal({ workerId: 1, subscriptions: 1, connectedAt: T0 });
    expect(reg.subscriberCount('json/A')).to.equal(1);
  });

  it('refuses a session buffer this version did not create, saying what is wrong', () => {
    const sessions = good().buffers.sessions;
    const badMagic = copyOf(sessions);
    new Int32Array(badMagic)[0] ^= 1;
    const badVersion = copyOf(sessions);
    new Int32Array(badVersion)[1] += 1;
    const cases: [SharedArrayBuffer, string][] = [
      [new ArrayBuffer(4096) as unknown as SharedArrayBuffer, 'sessions: expected a SharedArrayBuffer'],
      [new SharedArrayBuffer(63), 'sessions: expected a SharedArrayBuffer'],
      [new SharedArrayBuffer(64), 'sessions: bad magic or version'],
      [badMagic, 'sessions: bad magic or version'],
      [badVersion, 'sessions: bad magic or version'],
      [copyOf(sessions, sessions.byteLength + 4), 'sessions: size does not match its header'],
      [copyOf(sessions, sessions.byteLength - 4), 'sessions: size does not match its header'],
    ];
    for (const [buffer, detail] of cases) {
      const err = attachError(buffer);
      expect(err).to.be.instanceOf(SharedBufferLayoutError);
      expect(err.message).to.equal(`not a buffer this version created: ${detail}`);
    }
  });

  it('refuses a topic buffer the counter map would refuse', () => {
    expect(() => SharedRegistry.attach({ topics: new SharedArrayBuffer(64), sessions: good().buffers.sessions })).to.throw(SharedBufferLayoutError);
    expect(SharedCounterMap.attach(good().buffers.topics).slots).to.equal(16);
  });
});

describe('SharedRegistry session table with colliding ids', () => {
  // sessionCapacity 4: 8 slots.
  const fresh = () => SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 4 });

  it('finds every session of a shared home bucket, past closed ones, and reopens a closed id', () => {
    const reg = fresh();
    const [a, b, c, never] = idsWithHome(4, 3, 4);
    reg.openSession(a, 0, T0);
    reg.openSession(b, 1, T0 + 1);
    reg.openSession(c, 2, T0 + 2);
    reg.closeSession(b);
    expect(reg.session(b)).to.equal(undefined);
    expect(reg.session(c)).to.deep.equal({ workerId: 2, subscriptions: 0, connectedAt: T0 + 2 });
    expect(reg.session(never)).to.equal(undefined);
    reg.addSubscription(c, 'json/C');
    expect(reg.session(c)?.subscriptions).to.equal(1);
    expect(() => reg.addSubscription(b, 'json/B')).to.throw(UnknownSessionError);
    expect(() => reg.addSubscription(never, 'json/N')).to.throw(UnknownSessionError);
    reg.closeSession(b);
    reg.closeSession(never);
    expect(reg.stats().sessions).to.equal(2);

    reg.openSession(b, 3, T0 + 3);
    expect(reg.session(b)).to.deep.equal({ workerId: 3, subscriptions: 0, connectedAt: T0 + 3 });
    expect(reg.session(c)?.subscriptions).to.equal(1);
    expect(reg.stats().sessions).to.equal(3);
  });

  it('refuses a duplicate open of an id that lies past a closed session\'s slot', () => {
    const reg = fresh();
    const [a, b, c] = idsWithHome(4, 5, 3);
    for (const id of [a, b, c]) reg.openSession(id, 0, T0);
    reg.closeSession(a);
    expect(() => reg.openSession(c, 1, T0)).to.throw(DuplicateSessionError);
    expect(() => reg.openSession(b, 1, T0)).to.throw(DuplicateSessionError);
    expect(reg.session(c)?.workerId).to.equal(0);
    expect(reg.stats().sessions).to.equal(2);
    reg.openSession(a, 1, T0);
    expect(reg.stats().sessions).to.equal(3);
  });

  it('reopens an id whose earlier session left a closed slot after another closed slot', () => {
    const reg = fresh();
    const [a, b] = idsWithHome(4, 4, 2);
    reg.openSession(a, 0, T0);
    reg.openSession(b, 0, T0);
    reg.closeSession(a);
    reg.closeSession(b);
    reg.openSession(b, 1, T0 + 1);
    expect(reg.session(b)).to.deep.equal({ workerId: 1, subscriptions: 0, connectedAt: T0 + 1 });
    expect(reg.stats().sessions).to.equal(1);
  });

  it('wraps from the last slot to the first', () => {
    const reg = fresh();
    const [a, b, c] = idsWithHome(4, 7, 3);
    for (const id of [a, b, c]) reg.openSession(id, id % 7, T0 + id);
    reg.closeSession(a);
    for (const id of [b, c]) expect(reg.session(id)).to.deep.equal({ workerId: id % 7, subscriptions: 0, connectedAt: T0 + id });
    reg.addSubscription(c, 'json/W');
    reg.removeSubscription(c, 'json/W');
    reg.closeSession(c);
    expect(reg.session(c)).to.equal(undefined);
    expect(reg.session(b)?.connectedAt).to.equal(T0 + b);
  });

  it('fills every session of its capacity into one home bucket\'s run of slots', () => {
    const reg = fresh();
    const ids = idsWithHome(4, 6, 4);
    ids.forEach((id, i) => reg.openSession(id, i, T0));
    expect(ids.map((id) => reg.session(id)?.workerId)).to.deep.equal([0, 1, 2, 3]);
    expect(() => reg.openSession(idsWithHome(4, 6, 5)[4], 0, T0)).to.throw(RegistryFullError);
  });
});

describe('SharedRegistry opens racing on one slot (two handles, one thread)', () => {
  /** The compareExchange that claims an EMPTY session slot (EMPTY 0 → BUSY 1) in the slot words. */
  const claimCas = (array: Int32Array, _index: number, expected: number, replacement: number) =>
    array.length > 16 && expected === 0 && replacement === 1;

  it('moves on to the next slot when another worker\'s session takes the one it had chosen', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 4 });
    const other = SharedRegistry.attach(reg.buffers);
    const [a, b] = idsWithHome(4, 2, 2);
    const raced = beforeCompareExchange(reg.buffers.sessions, claimCas, () => other.openSession(b, 1, T0 + 1));
    reg.openSession(a, 0, T0);
    expect(raced()).to.equal(true);
    expect(reg.session(a)).to.deep.equal({ workerId: 0, subscriptions: 0, connectedAt: T0 });
    expect(reg.session(b)).to.deep.equal({ workerId: 1, subscriptions: 0, connectedAt: T0 + 1 });
    expect(reg.stats().sessions).to.equal(2);
  });

  it('refuses the second of two opens of one id, and gives its reservation back', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 4 });
    const other = SharedRegistry.attach(reg.buffers);
    const raced = beforeCompareExchange(reg.buffers.sessions, claimCas, () => other.openSession(7, 1, T0 + 1));
    expect(() => reg.openSession(7, 0, T0)).to.throw(DuplicateSessionError);
    expect(raced()).to.equal(true);
    expect(reg.session(7)).to.deep.equal({ workerId: 1, subscriptions: 0, connectedAt: T0 + 1 });
    expect(reg.stats().sessions).to.equal(1);
  });

  it('ends with a bound covering its session when another open raises the same home\'s bound between its read and its CAS', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 4 });
    const other = SharedRegistry.attach(reg.buffers);
    const [first, late, id] = idsWithHome(4, 2, 3);
    const [neighbour] = idsWithHome(4, 3, 1);
    reg.openSession(first, 0, T0);
    reg.openSession(neighbour, 0, T0);
    // `id` passes slot 2 (its home's) and 3 (another home's) and raises home 2's bound 0 → 2. Before that CAS the
    // neighbour closes and `late` takes its slot, raising the bound to 1.
    const raced = beforeCompareExchange(
      reg.buffers.sessions,
      (array, index, expected, replacement) => array.length === 8 && index === 2 && expected === 0 && replacement === 2,
      () => {
        other.closeSession(neighbour);
        other.openSession(late, 1, T0 + 1);
      },
    );
    reg.openSession(id, 2, T0 + 2);
    expect(raced()).to.equal(true);
    expect([first, late, id].map((s) => reg.session(s)?.workerId)).to.deep.equal([0, 1, 2]);
  });

  it('reads a session again when its slot is reopened for another id during the read, so it never mixes two sessions', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 4 });
    const other = SharedRegistry.attach(reg.buffers);
    const [a, b] = idsWithHome(4, 1, 2);
    reg.openSession(a, 0, T0);
    // Before the read of the slot's WORKER word (word 3 of its 8), `a` closes and `b` reopens its slot.
    const raced = beforeAtomic(
      'load',
      reg.buffers.sessions,
      (array, index) => array.length === 8 * 8 && index === 1 * 8 + 3,
      () => {
        other.closeSession(a);
        other.openSession(b, 5, T0 + 5);
      },
    );
    expect(reg.session(a)).to.equal(undefined);
    expect(raced()).to.equal(true);
    expect(reg.session(b)).to.deep.equal({ workerId: 5, subscriptions: 0, connectedAt: T0 + 5 });
  });
});
