import { expect } from 'chai';
import { LocalRegistry } from '../helpers/registry-model';
import { RegistryFullError } from '../../src/registry/registry';
import { CounterUnderflowError, KeyTooLongError } from '../../src/registry/shared-map';
import {
  DuplicateSessionError,
  RegistryArgumentError,
  SessionNotEmptyError,
  SharedRegistry,
  UnknownSessionError,
} from '../../src/registry/shared-registry';
import { TestWorkers } from './registry-shared.worker';

const T0 = 1_700_000_000_000;

describe('SharedRegistry', function () {
  this.timeout(60_000);
  const workers = new TestWorkers();
  afterEach(() => workers.terminateAll());

  const fresh = () => SharedRegistry.create({ topicCapacity: 64, sessionCapacity: 16 });

  it('opens a session and reports its worker, subscriptions and connect time', () => {
    const reg = fresh();
    reg.openSession(7, 2, T0);
    expect(reg.session(7)).to.deep.equal({ workerId: 2, subscriptions: 0, connectedAt: T0 });
    expect(reg.session(8)).to.equal(undefined);
    expect(reg.stats()).to.deep.equal({ sessions: 1, subscriptions: 0, activeTopics: 0 });
  });

  it('counts subscribers per topic across sessions and keeps stats in step', () => {
    const reg = fresh();
    reg.openSession(1, 0, T0);
    reg.openSession(2, 1, T0 + 1);
    reg.addSubscription(1, 'bin+lz4/BTC-USD');
    reg.addSubscription(2, 'bin+lz4/BTC-USD');
    reg.addSubscription(2, 'json/ETH-USD');
    expect(reg.subscriberCount('bin+lz4/BTC-USD')).to.equal(2);
    expect(reg.subscriberCount('json/ETH-USD')).to.equal(1);
    expect(reg.subscriberCount('json/BTC-USD')).to.equal(0);
    expect(reg.session(2)?.subscriptions).to.equal(2);
    expect(reg.stats()).to.deep.equal({ sessions: 2, subscriptions: 3, activeTopics: 2 });

    reg.removeSubscription(2, 'bin+lz4/BTC-USD');
    reg.removeSubscription(2, 'json/ETH-USD');
    reg.closeSession(2);
    expect(reg.session(2)).to.equal(undefined);
    expect(reg.subscriberCount('json/ETH-USD')).to.equal(0);
    expect(reg.stats()).to.deep.equal({ sessions: 1, subscriptions: 1, activeTopics: 1 });
  });

  it('agrees with LocalRegistry over a random sequence of valid calls', () => {
    const shared = fresh();
    const local = new LocalRegistry();
    const subs = new Map<number, Set<string>>();
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const both = (f: (r: SharedRegistry | LocalRegistry) => void) => {
      f(shared);
      f(local);
    };
    for (let i = 0; i < 20_000; i++) {
      const id = rand(24);
      const topic = `bin/S${rand(40)}`;
      const mine = subs.get(id);
      if (!mine) {
        if (subs.size < 16) {
          both((r) => r.openSession(id, id % 3, T0 + i));
          subs.set(id, new Set());
        }
      } else if (rand(4) === 0) {
        for (const t of mine) both((r) => r.removeSubscription(id, t));
        both((r) => r.closeSession(id));
        subs.delete(id);
      } else if (mine.has(topic)) {
        both((r) => r.removeSubscription(id, topic));
        mine.delete(topic);
      } else {
        both((r) => r.addSubscription(id, topic));
        mine.add(topic);
      }
      expect(shared.subscriberCount(topic)).to.equal(local.subscriberCount(topic));
      expect(shared.session(id)).to.deep.equal(local.session(id));
      expect(shared.stats()).to.deep.equal(local.stats());
    }
  });

  it('throws RegistryFullError when the session table is full, and has room again after a close', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 3 });
    for (let id = 1; id <= 3; id++) reg.openSession(id, 0, T0);
    expect(() => reg.openSession(4, 0, T0)).to.throw(RegistryFullError).with.property('code', 'REGISTRY_FULL');
    expect(reg.stats().sessions).to.equal(3);
    reg.closeSession(2);
    reg.openSession(4, 0, T0);
    expect(reg.session(4)).to.deep.equal({ workerId: 0, subscriptions: 0, connectedAt: T0 });
  });

  it('reuses closed sessions\' slots, so 50,000 connects and disconnects fit in a table of 8', () => {
    const reg = SharedRegistry.create({ topicCapacity: 8, sessionCapacity: 8 });
    for (let id = 0; id < 50_000; id++) {
      reg.openSession(id, 0, T0 + id);
      if (id >= 5) reg.closeSession(id - 5);
    }
    expect(reg.stats().sessions).to.equal(5);
    for (let id = 49_995; id < 50_000; id++) expect(reg.session(id)?.connectedAt).to.equal(T0 + id);
    expect(reg.session(49_994)).to.equal(undefined);
  });

  it('throws RegistryFullError at topicCapacity topics, a topic revived from 0 included, and takes one once one is released', () => {
    const reg = SharedRegistry.create({ topicCapacity: 4, sessionCapacity: 1 });
    reg.openSession(1, 0, T0);
    for (let i = 0; i < 4; i++) reg.addSubscription(1, `bin/T${i}`);
    reg.addSubscription(1, 'bin/T0');
    expect(() => reg.addSubscription(1, 'bin/T4')).to.throw(RegistryFullError).with.property('code', 'REGISTRY_FULL');
    expect(reg.stats()).to.deep.equal({ sessions: 1, subscriptions: 5, activeTopics: 4 });
    reg.removeSubscription(1, 'bin/T1');
    reg.addSubscription(1, 'bin/T4');
    expect(() => reg.addSubscription(1, 'bin/T1')).to.throw(RegistryFullError);
    expect(reg.subscriberCount('bin/T0')).to.equal(2);
    expect(reg.subscriberCount('bin/T1')).to.equal(0);
    expect(reg.subscriberCount('bin/T4')).to.equal(1);
    expect(reg.stats()).to.deep.equal({ sessions: 1, subscriptions: 5, activeTopics: 4 });
  });

  it('refuses to open a session id that is already open, with DuplicateSessionError', () => {
    const reg = fresh();
    reg.openSession(5, 0, T0);
    expect(() => reg.openSession(5, 1, T0)).to.throw(DuplicateSessionError).with.property('code', 'REGISTRY_DUPLICATE_SESSION');
    expect(reg.session(5)?.workerId).to.equal(0);
    expect(reg.stats().sessions).to.equal(1);
  });

  it('refuses to close a session that still has subscriptions, with SessionNotEmptyError', () => {
    const reg = fresh();
    reg.openSession(5, 0, T0);
    reg.addSubscription(5, 'json/BTC-USD');
    expect(() => reg.closeSession(5)).to.throw(SessionNotEmptyError).with.property('code', 'REGISTRY_SESSION_NOT_EMPTY');
    expect(reg.session(5)?.subscriptions).to.equal(1);
  });

  it('treats closing a session that is not open as done', () => {
    const reg = fresh();
    reg.openSession(5, 0, T0);
    reg.closeSession(5);
    reg.closeSession(5);
    reg.closeSession(6);
    expect(reg.stats().sessions).to.equal(0);
  });

  it('rejects subscription changes for unknown sessions, and removals of what was not added, changing nothing', () => {
    const reg = fresh();
    expect(() => reg.addSubscription(9, 'json/BTC-USD')).to.throw(UnknownSessionError).with.property('code', 'REGISTRY_UNKNOWN_SESSION');
    reg.openSession(9, 0, T0);
    reg.addSubscription(9, 'json/BTC-USD');
    expect(() => reg.removeSubscription(9, 'json/ETH-USD')).to.throw(CounterUnderflowError);
    reg.removeSubscription(9, 'json/BTC-USD');
    expect(() => reg.removeSubscription(9, 'json/BTC-USD')).to.throw(CounterUnderflowError);
    expect(() => reg.addSubscription(9, `json/${'X'.repeat(80)}`)).to.throw(KeyTooLongError);
    expect(reg.session(9)?.subscriptions).to.equal(0);
    expect(reg.stats()).to.deep.equal({ sessions: 1, subscriptions: 0, activeTopics: 0 });
  });

  it('accepts the whole uint32 session id range and ms timestamps up to 2^53-1, and rejects others with RegistryArgumentError', () => {
    const reg = fresh();
    reg.openSession(0, 0, 0);
    reg.openSession(0xffffffff, 3, Number.MAX_SAFE_INTEGER);
    expect(reg.session(0)).to.deep.equal({ workerId: 0, subscriptions: 0, connectedAt: 0 });
    expect(reg.session(0xffffffff)).to.deep.equal({ workerId: 3, subscriptions: 0, connectedAt: Number.MAX_SAFE_INTEGER });
    for (const bad of [-1, 2 ** 32, 1.5, NaN]) {
      expect(() => reg.openSession(bad, 0, T0)).to.throw(RegistryArgumentError).with.property('code', 'REGISTRY_BAD_ARGUMENT');
      expect(reg.session(bad)).to.equal(undefined);
    }
    expect(() => reg.openSession(1, -1, T0)).to.throw(RegistryArgumentError);
    expect(() => reg.openSession(1, 0, 1.5)).to.throw(RegistryArgumentError);
    expect(reg.stats().sessions).to.equal(2);
  });

  it('shows a worker that attached through workerData the same sessions, topics and stats', async () => {
    const reg = fresh();
    reg.openSession(1, 0, T0);
    reg.addSubscription(1, 'bin+lz4/BTC-USD');
    const seen = await workers.start<{ stats: unknown; session: unknown; counts: number[] }>({
      kind: 'registry',
      buffers: reg.buffers,
      sessionId: 2,
      workerId: 7,
      topics: ['bin+lz4/BTC-USD', 'json/ETH-USD'],
    });
    expect(seen.counts).to.deep.equal([2, 1]);
    expect(seen.stats).to.deep.equal({ sessions: 2, subscriptions: 3, activeTopics: 2 });
    expect(seen.session).to.deep.equal({ workerId: 7, subscriptions: 2, connectedAt: 1_700_000_000_123 });
    expect(reg.session(2)).to.deep.equal(seen.session);
    expect(reg.stats()).to.deep.equal(seen.stats);
    expect(reg.subscriberCount('bin+lz4/BTC-USD')).to.equal(2);
  });
});
